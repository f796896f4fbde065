"""The audit as a pure function: each finding from one planted case on a clean scene."""

from __future__ import annotations

import ipaddress
from dataclasses import replace

import pytest

from eipkeeper.audit import AuditFinding, Report, audit
from eipkeeper.cloud.ranges import CloudRanges, Unavailable
from eipkeeper.dns.markers import RRsetClaim, marker_name
from eipkeeper.dns.records import Record
from tests.support.builders import ZONE, eip, instance

from .scene import MX1, MX2, MX3, MX_A, MX_B, SCAN_A, Fixture, clean, make_config, owned


def findings(fixture: Fixture, **config: int) -> list[AuditFinding]:
    return list(audit(make_config(**config), fixture.scene(make_config(**config))).findings)


def kinds(found: list[AuditFinding]) -> list[tuple[str, str, str]]:
    return [(f.kind, f.severity, f.subject) for f in found]


def test_a_clean_scene_has_no_findings() -> None:
    assert findings(clean()) == []


def test_an_address_the_account_does_not_hold_is_a_dangling_record() -> None:
    found = findings(clean().plus(Record(f"old.{ZONE}", "A", 300, ["127.0.0.99"])))
    assert kinds(found) == [("dangling-record", "critical", f"A old.{ZONE}")]
    assert "127.0.0.99" in found[0].detail and "remove 127.0.0.99" in found[0].fix


def test_an_mx_host_whose_a_record_names_an_address_not_held_dangles() -> None:
    """mx2's EIP released behind eipkeeper's back (its holder keeps a new dynamic address): the
    MX host's own A record, ours and marked, still names it. That is a dangling record like any
    other, and the MX host is unbacked; the SPF range that covered it now allows a stranger."""
    holder = replace(MX_B, public_ip="127.2.0.2")
    fixture = replace(
        clean(),
        addresses=(MX1, MX3),
        instances=tuple(holder if i == MX_B else i for i in clean().instances),
    )
    found = findings(fixture)
    assert kinds(found) == [
        ("dangling-record", "critical", f"A mx2.{ZONE}"),
        ("spf-address-not-held", "critical", f"TXT {ZONE}"),
        ("unbacked-mx", "warning", f"mx2.{ZONE}"),
    ]
    assert f"mx2.{ZONE} points at {MX2.public_ip}" in found[0].detail
    assert "no Elastic IP is bound to it" in found[2].detail


def test_a_dynamic_ip_of_a_stopped_instance_dangles() -> None:
    stopped = replace(SCAN_A, state="stopped")  # EC2 took its dynamic IP back
    fixture = replace(clean(), instances=(*clean().instances[:3], stopped, clean().instances[4]))
    assert kinds(findings(fixture)) == [("dangling-record", "critical", f"A scan.{ZONE}")]


def test_an_address_outside_the_cloud_is_external_and_not_judged() -> None:
    found = findings(clean().plus(Record(f"www.{ZONE}", "A", 300, ["192.0.2.80"])))
    assert kinds(found) == [("external-address", "info", f"A www.{ZONE}")]


def test_ipv6_in_the_cloud_cannot_be_judged_and_says_so() -> None:
    ranges = CloudRanges(
        networks=(ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("2001:db8::/32")),
        source="test",
    )
    fixture = replace(clean(), ranges=ranges).plus(
        Record(f"v6.{ZONE}", "AAAA", 300, ["2001:db8::1", "2001:db9::1"])
    )
    assert kinds(findings(fixture)) == [
        ("external-address", "info", f"AAAA v6.{ZONE}"),
        ("unjudged-address", "info", f"AAAA v6.{ZONE}"),
    ]


@pytest.mark.parametrize(
    ("entry", "covers"),
    [
        ("ip4:127.0.0.98", "1 address"),
        ("ip4:127.1.0.0/30", "1 address"),  # .1 to .3 are the EIPs, .0 is not held
        # Half of it is the cloud's: judged, less the 3 EIPs and 2 dynamic IPs held.
        ("ip4:126.0.0.0/7", f"{2**24 - 5} addresses"),
    ],
)
def test_an_spf_entry_covering_an_address_not_held_is_critical(entry: str, covers: str) -> None:
    found = findings(clean().plus(Record(f"lists.{ZONE}", "TXT", 300, [f"v=spf1 {entry} -all"])))
    spf = [f for f in found if f.kind == "spf-address-not-held"]
    assert kinds(spf) == [("spf-address-not-held", "critical", f"TXT lists.{ZONE}")]
    assert covers in spf[0].detail and entry in spf[0].fix


def test_spf_entries_outside_the_cloud_or_held_are_fine() -> None:
    record = Record(f"lists.{ZONE}", "TXT", 300, [f"v=spf1 ip4:{MX1.public_ip}/32 -all"])
    assert findings(clean().plus(record)) == []
    outside = Record(f"corp.{ZONE}", "TXT", 300, ["v=spf1 ip4:192.0.2.0/24 include:x.test ~all"])
    assert kinds(findings(clean().plus(outside))) == [
        ("external-address", "info", f"TXT corp.{ZONE}")
    ]


def test_an_mx_target_on_a_dynamic_ip_is_found_once_per_mx_value() -> None:
    mx = Record(f"lists.{ZONE}", "MX", 300, [f"10 scan.{ZONE}.", f"20 mx1.{ZONE}."])
    found = findings(clean().plus(mx))
    assert kinds(found) == [("mx-on-dynamic-ip", "warning", f"MX lists.{ZONE}")]
    assert SCAN_A.public_ip in found[0].detail and SCAN_A.instance_id in found[0].detail


def test_an_mx_host_whose_holder_failed_its_check_is_unbacked() -> None:
    fixture = replace(clean(), health={MX_A.instance_id: False})
    found = findings(fixture)
    assert kinds(found) == [("unbacked-mx", "warning", f"mx1.{ZONE}")]
    assert "failed its check" in found[0].detail


def test_an_address_on_no_instance_leaves_its_mx_host_unbacked_unless_a_burst_reserve() -> None:
    mx1, mx2, mx3 = clean().addresses
    on_nothing = (replace(mx1, association_id="", instance_id=""), mx2, mx3)
    fixture = replace(clean(), addresses=on_nothing, instances=clean().instances[1:])
    assert ("unbacked-mx", "warning", f"mx1.{ZONE}") in kinds(findings(fixture))
    reserve_idle = (mx1, mx2, replace(mx3, association_id="", instance_id=""))
    found = findings(replace(clean(), addresses=reserve_idle))
    assert kinds(found) == [("idle-address", "info", f"{mx3.public_ip} ({mx3.allocation_id})")]


def test_an_idle_address_is_a_warning_with_its_monthly_cost_and_the_total() -> None:
    fixture = replace(clean(), addresses=(*clean().addresses, eip(7, service=""), eip(8)))
    report = audit(make_config(), fixture.scene(make_config()))
    assert [(f.kind, f.severity, f.monthly_cost) for f in report.findings] == [
        ("idle-address", "warning", 3.65),
        ("idle-address", "warning", 3.65),
    ]
    assert report.idle_monthly_cost == 7.30
    assert "2 idle addresses costing $7.30 a month" in report.summary


def test_an_address_on_a_stopped_instance_of_no_service_is_found() -> None:
    other = instance("other-21", n=21, public_ip="127.1.0.21", state="stopped")
    fixture = replace(
        clean(),
        addresses=(*clean().addresses, eip(21, instance=other.instance_id, service="")),
        instances=(*clean().instances, other),
    )
    found = findings(fixture)
    assert kinds(found) == [
        ("address-on-stopped-instance", "warning", "127.1.0.21 (eipalloc-0021)")
    ]
    assert "start i-0021" in found[0].fix


@pytest.mark.parametrize(("ttl", "max_ttl", "found"), [(3600, 300, 1), (300, 300, 0), (300, 60, 1)])
def test_a_long_ttl_on_a_dynamic_ip(ttl: int, max_ttl: int, found: int) -> None:
    record = Record(f"legacy.{ZONE}", "A", ttl, [SCAN_A.public_ip])
    expected = [("long-ttl-on-dynamic-ip", "warning", f"A legacy.{ZONE}")] * found
    assert kinds(findings(clean().plus(record), max_ttl=max_ttl)) == expected


def _without(fixture: Fixture, name: str, rdtype: str) -> Fixture:
    kept = tuple(
        r
        for r in fixture.records
        if r.key not in ((name, rdtype), (marker_name(name, rdtype), "TXT"))
    )
    return replace(fixture, records=kept)


@pytest.mark.parametrize("owner", ["someone-else", ""])
def test_a_wanted_record_marked_by_another_owner_or_nobody_is_foreign(owner: str) -> None:
    base = _without(clean(), f"mx2.{ZONE}", "A")
    record = Record(f"mx2.{ZONE}", "A", 300, ["127.1.0.2"])
    found = findings(base.plus(*(owned(record, owner) if owner else [record])))
    assert kinds(found) == [("foreign-owner", "info", f"A mx2.{ZONE}")]
    assert (owner or "nobody") in found[0].detail


def test_a_shared_mx_set_with_our_claim_is_ours() -> None:
    base = _without(clean(), ZONE, "MX")
    mx = Record(ZONE, "MX", 300, [f"10 mx1.{ZONE}.", "20 onprem.example.net."])
    claims = [RRsetClaim("corp").text(), RRsetClaim("mail-prod", (f"10 mx1.{ZONE}.",)).text()]
    assert findings(base.plus(mx, Record(marker_name(ZONE, "MX"), "TXT", 300, claims))) == []


def test_without_ranges_nothing_is_judged_dangling_and_that_is_said() -> None:
    fixture = replace(clean(), ranges=Unavailable("no copy and no download")).plus(
        Record(f"old.{ZONE}", "A", 300, ["127.0.0.99"])
    )
    report = audit(make_config(), fixture.scene(make_config()))
    assert kinds(list(report.findings)) == [("cloud-ranges-unavailable", "info", "ip-ranges.json")]
    assert report.findings[0].detail == "no copy and no download"
    assert "cloud ranges: unavailable" in report.summary


def test_fail_on_levels() -> None:
    warning = AuditFinding("idle-address", "warning", "x", "", "", "")
    critical = AuditFinding("dangling-record", "critical", "y", "", "", "")
    info = AuditFinding("external-address", "info", "z", "", "", "")
    assert not Report((info,), "r").reaches("warning")
    assert Report((info, warning), "r").reaches("warning")
    assert not Report((info, warning), "r").reaches("critical")
    assert Report((critical,), "r").reaches("critical")


def test_findings_come_most_severe_first() -> None:
    fixture = replace(clean(), addresses=(*clean().addresses, eip(9))).plus(
        Record(f"old.{ZONE}", "A", 300, ["127.0.0.99"]),
        Record(f"www.{ZONE}", "A", 300, ["192.0.2.80"]),
    )
    assert [f.severity for f in findings(fixture)] == ["critical", "warning", "info"]


def test_without_dns_only_the_account_is_audited_and_the_summary_says_so() -> None:
    fixture = replace(clean(), addresses=(*clean().addresses, eip(9))).plus(
        Record(f"old.{ZONE}", "A", 300, ["127.0.0.99"])
    )
    scene = fixture.scene(make_config())
    report = audit(make_config(), replace(scene, observation=replace(scene.observation, zone=None)))
    assert [f.kind for f in report.findings] == ["idle-address"]
    assert "zone: none ([dns] is not configured)" in report.summary
