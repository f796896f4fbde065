"""Which records refer to an address: what S2 checks before a release."""

from __future__ import annotations

from eipkeeper.dns.records import Record, Zone
from eipkeeper.dns.references import references

ZONE = "example.test"


def zone(*records: Record) -> Zone:
    return Zone(ZONE, 1, tuple(sorted(records, key=lambda r: r.key)))


def test_a_values_mx_targets_and_spf_entries_refer_to_an_address() -> None:
    snapshot = zone(
        Record(f"mx1.{ZONE}", "A", 300, ["198.51.100.7"]),
        Record(f"mx2.{ZONE}", "A", 300, ["198.51.100.8"]),
        Record(f"v6.{ZONE}", "AAAA", 300, ["2001:db8::7"]),
        Record(
            ZONE, "MX", 300, ["10 mx1.example.test.", "20 mx2.example.test.", "30 mx.other.net."]
        ),
        Record(
            ZONE,
            "TXT",
            300,
            ["v=spf1 ip4:198.51.100.0/24 ip6:2001:db8::/64 -all", "not spf 198.51.100.7"],
        ),
        Record(f"spf.{ZONE}", "TXT", 300, ['"v=spf1 +ip4:198.51.100.7" " -all"']),
    )
    found = [str(r) for r in references(snapshot, "198.51.100.7")]
    assert found == [
        "MX example.test (MX target mx1.example.test)",
        "TXT example.test (SPF ip4:198.51.100.0/24)",
        "A mx1.example.test (A value)",
        "TXT spf.example.test (SPF ip4:198.51.100.7)",
    ]
    assert [str(r) for r in references(snapshot, "2001:DB8::7")] == [
        "TXT example.test (SPF ip6:2001:db8::/64)",
        "AAAA v6.example.test (AAAA value)",
    ]
    assert references(snapshot, "203.0.113.1") == ()
