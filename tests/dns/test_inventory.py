"""The `records` inventory as a pure function: which RRsets are listed, whose they are, and what
each value points at in the account."""

from __future__ import annotations

from eipkeeper.dns.inventory import AccountAddresses, RecordRow, inventory
from eipkeeper.dns.markers import RRsetClaim, marker_name
from eipkeeper.dns.ownership import OwnedZone
from eipkeeper.dns.records import Record, Zone
from eipkeeper.model import Address, Instance
from tests.support import builders
from tests.support.builders import ZONE

CONFIG = builders.config(builders.mx(f"mx1.{ZONE}", f"mx2.{ZONE}"), source="inventory.toml")
EIP = Address(public_ip="127.1.0.1", allocation_id="eipalloc-1", instance_id="i-1")
RUNNING = Instance(instance_id="i-2", state="running", public_ip="127.2.0.2")
STOPPED = Instance(instance_id="i-3", state="stopped", public_ip="127.2.0.3")
HOLDER = Instance(instance_id="i-1", state="running", public_ip="127.1.0.1")
ACCOUNT = AccountAddresses.of([EIP], [RUNNING, STOPPED, HOLDER])


def rows(*records: Record) -> dict[tuple[str, str], RecordRow]:
    zone = OwnedZone.of(Zone(ZONE, 1, tuple(sorted(records, key=lambda r: r.key))))
    return {(r.name, r.type): r for r in inventory(CONFIG, zone, ACCOUNT)}


def marker(name: str, rdtype: str, *claims: RRsetClaim | str) -> Record:
    texts = [c.text() if isinstance(c, RRsetClaim) else c for c in claims]
    return Record(marker_name(name, rdtype), "TXT", 300, texts)


def test_an_eip_a_dynamic_ip_and_anything_else() -> None:
    assert ACCOUNT.points_at("127.1.0.1") == "eip:eipalloc-1"
    assert ACCOUNT.points_at("127.2.0.2") == "instance:i-2"
    assert ACCOUNT.points_at("127.2.0.3") == "unknown", "a stopped instance gave its IP back"
    assert ACCOUNT.points_at("192.0.2.1") == "unknown"


def test_managed_configured_and_on_our_addresses_are_listed_nothing_else() -> None:
    found = rows(
        Record(f"owned.{ZONE}", "TXT", 300, ["hello"]),
        marker(f"owned.{ZONE}", "TXT", RRsetClaim("mail-prod")),
        Record(f"mx2.{ZONE}", "A", 300, ["192.0.2.2"]),  # at a configured name
        Record(f"legacy.{ZONE}", "A", 300, ["127.2.0.2"]),  # on our dynamic IP
        Record(f"www.{ZONE}", "A", 300, ["192.0.2.80"]),  # none of these
        Record(f"theirs.{ZONE}", "A", 300, ["127.9.9.9"]),
        marker(f"theirs.{ZONE}", "A", RRsetClaim("other")),
        Record(ZONE, "NS", 3600, [f"ns.{ZONE}."]),  # the apex is the MX domain: still noise
    )
    assert sorted(found) == [
        (f"legacy.{ZONE}", "A"),
        (f"mx2.{ZONE}", "A"),
        (f"owned.{ZONE}", "TXT"),
    ]
    assert found[(f"owned.{ZONE}", "TXT")].points_at == ()
    assert found[(f"legacy.{ZONE}", "A")].owner == "-", "nobody's"


def test_an_mx_value_points_at_what_its_target_address_is() -> None:
    mx = Record(ZONE, "MX", 300, [f"10 mx1.{ZONE}.", f"20 multi.{ZONE}.", "30 mx.example.net."])
    found = rows(
        mx,
        Record(f"mx1.{ZONE}", "A", 300, ["127.1.0.1"]),
        Record(f"multi.{ZONE}", "A", 300, ["127.2.0.2", "192.0.2.9"]),
    )
    assert found[(ZONE, "MX")].points_at == (
        "eip:eipalloc-1",
        "instance:i-2+unknown",
        "unknown",  # outside the zone: not followed
    )


def test_a_shared_rrset_is_one_row_per_owner_and_nobodys_values_show_a_dash() -> None:
    mx = Record(
        ZONE, "MX", 300, [f"10 mx1.{ZONE}.", "20 onprem.example.net.", "30 byhand.example.net."]
    )
    shared = marker(
        ZONE,
        "MX",
        RRsetClaim("mail-prod", (f"10 mx1.{ZONE}.",)),
        RRsetClaim("corp", ("20 onprem.example.net.",)),
    )
    zone = OwnedZone.of(
        Zone(ZONE, 1, (mx, shared, Record(f"mx1.{ZONE}", "A", 300, [EIP.public_ip])))
    )
    found = [
        (r.owner, r.values, r.points_at) for r in inventory(CONFIG, zone, ACCOUNT) if r.type == "MX"
    ]
    assert found == [
        ("corp", ("20 onprem.example.net.",), ("unknown",)),
        ("mail-prod", (f"10 mx1.{ZONE}.",), ("eip:eipalloc-1",)),
        ("-", ("30 byhand.example.net.",), ("unknown",)),
    ]


def test_an_unreadable_marker() -> None:
    broken = marker(f"mx1.{ZONE}", "A", "not a claim")
    a = Record(f"mx1.{ZONE}", "A", 300, ["127.1.0.1"])
    assert rows(a, broken)[(f"mx1.{ZONE}", "A")].owner == "(unreadable marker)"
