"""Ownership (S4) on a real BIND: ours changes, theirs and nobody's never does."""

from __future__ import annotations

import pytest

from eipkeeper.dns.ownership import (
    OwnedZone,
    Registry,
    RRsetClaim,
    marker_name,
    parse_claim,
)
from eipkeeper.dns.records import Change, Record, Zone
from eipkeeper.dns.rfc2136 import Rfc2136Provider
from eipkeeper.errors import ConflictError, NotFoundError, SafetyRefusal

from .conftest import OWNER, ZONE, seed

ONPREM = ("5 mail.onprem.example.", "20 backup.onprem.example.")


def others(provider: Rfc2136Provider) -> list[Record]:
    """Someone else's records and nobody's, written before eipkeeper arrives."""
    records = [
        Record(f"legacy.{ZONE}", "A", 300, ["127.0.5.1"]),
        Record(f"theirs.{ZONE}", "A", 300, ["127.0.5.2"]),
        Record(marker_name(f"theirs.{ZONE}", "A"), "TXT", 300, ['"owner=web-team"']),
        Record(ZONE, "TXT", 300, ["v=spf1 ip4:192.0.2.0/24 -all"]),
    ]
    seed(provider, *records)
    return records


def test_a_create_writes_the_record_and_its_marker_in_one_message(
    registry: Registry, provider: Rfc2136Provider
) -> None:
    zone = registry.read()
    unit = registry.change(zone, name=f"mx1.{ZONE}", rdtype="A", ttl=300, values=["127.0.0.10"])
    result = registry.apply([unit])
    assert result.batches == 1 and len(result.applied) == 2
    after = registry.read()
    owned = after.get(f"mx1.{ZONE}", "A")
    assert owned is not None
    assert (owned.owner, owned.managed, owned.shared) == (OWNER, ("127.0.0.10",), False)
    marker = provider.read_zone().get(f"_eipkeeper.a.mx1.{ZONE}", "TXT")
    assert marker is not None
    # Even a set eipkeeper created alone lists its values: one added later is someone else's.
    assert marker == Record(marker.name, "TXT", 300, ['"owner=mail-prod" "values=127.0.0.10"'])
    assert after.get(marker.name, "TXT") is None  # markers are not records of the view


def test_the_record_is_not_written_when_its_marker_cannot_be(
    registry: Registry, provider: Rfc2136Provider
) -> None:
    zone = registry.read()
    unit = registry.change(zone, name=f"mx1.{ZONE}", rdtype="A", ttl=300, values=["127.0.0.10"])
    # Another owner marks the name between our read and our write.
    seed(provider, Record(marker_name(f"mx1.{ZONE}", "A"), "TXT", 300, ['"owner=web-team"']))
    with pytest.raises(ConflictError):
        registry.apply([unit])
    assert provider.read_zone().get(f"mx1.{ZONE}", "A") is None


def test_an_update_rechecks_ownership_as_it_writes(
    registry: Registry, provider: Rfc2136Provider
) -> None:
    registry.apply(
        [
            registry.change(
                registry.read(), name=f"mx1.{ZONE}", rdtype="A", ttl=300, values=["127.0.0.10"]
            )
        ]
    )
    zone = registry.read()
    unit = registry.change(zone, name=f"mx1.{ZONE}", rdtype="A", ttl=300, values=["127.0.0.11"])
    assert [c.kind for c in unit] == ["update", "update"]  # the marker, unchanged, is checked
    marker = zone.marker(f"mx1.{ZONE}", "A")
    assert marker is not None
    provider.apply([Change.update(marker, Record(marker.name, "TXT", 300, ['"owner=web-team"']))])
    with pytest.raises(ConflictError):
        registry.apply([unit])
    assert provider.read_zone().get(f"mx1.{ZONE}", "A").values == ("127.0.0.10",)  # type: ignore[union-attr]


def test_unowned_and_foreign_records_survive_every_operation(
    registry: Registry, provider: Rfc2136Provider
) -> None:
    before = others(provider)
    names = [f"mx{i}.{ZONE}" for i in range(1, 4)]
    for values in (["127.0.0.10"], ["127.0.0.11", "127.0.0.12"], []):
        zone = registry.read()
        units = [registry.change(zone, name=n, rdtype="A", ttl=300, values=values) for n in names]
        registry.apply(units)
    final = provider.read_zone()
    for record in before:
        assert final.get(record.name, record.type) == record
    for name in names:
        assert final.get(name, "A") is None
        assert final.get(marker_name(name, "A"), "TXT") is None


@pytest.mark.parametrize(
    ("name", "holder"), [(f"legacy.{ZONE}", "nobody"), (f"theirs.{ZONE}", "web-team")]
)
def test_changing_or_deleting_what_is_not_ours_is_refused_naming_it(
    registry: Registry, provider: Rfc2136Provider, name: str, holder: str
) -> None:
    others(provider)
    zone = registry.read()
    for values in (["127.0.0.99"], []):
        with pytest.raises(SafetyRefusal) as caught:
            registry.change(zone, name=name, rdtype="A", ttl=300, values=values)
        assert caught.value.rule == "S4"
        assert caught.value.objects == (f"A {name}",)
        assert holder in caught.value.message
    assert registry.read().get(name, "A") is not None


def test_a_shared_mx_set_keeps_the_others_values(
    registry: Registry, provider: Rfc2136Provider
) -> None:
    seed(provider, Record(ZONE, "MX", 3600, ONPREM))
    zone = registry.read()
    registry.apply([registry.adopt(zone, name=ZONE, rdtype="MX", values=[])])
    for mine in (["10 mx1.example.net.", "10 mx2.example.net."], ["10 mx2.example.net."], []):
        zone = registry.read()
        registry.apply([registry.change(zone, name=ZONE, rdtype="MX", ttl=300, values=mine)])
        owned = registry.read().get(ZONE, "MX")
        assert owned is not None
        assert set(owned.record.values) == set(ONPREM) | set(mine)
        assert owned.managed_by(OWNER) == tuple(sorted(mine))
        assert owned.record.ttl == 3600  # the TTL is the others' too
        assert owned.owner_of(ONPREM[0]) == ""
    marker = provider.read_zone().get(f"_eipkeeper.mx.{ZONE}", "TXT")
    assert marker is not None and marker.values == ('"owner=mail-prod" "values="',)


def test_a_wanted_value_someone_else_publishes_stays_theirs(
    registry: Registry, provider: Rfc2136Provider
) -> None:
    seed(provider, Record(ZONE, "MX", 3600, ONPREM))
    registry.apply([registry.adopt(registry.read(), name=ZONE, rdtype="MX", values=[])])
    zone = registry.read()
    unit = registry.change(zone, name=ZONE, rdtype="MX", ttl=300, values=[ONPREM[0]])
    assert unit == ()  # already published, and not ours to later remove


def test_adopting_needs_an_existing_unclaimed_rrset(
    registry: Registry, provider: Rfc2136Provider
) -> None:
    others(provider)
    zone = registry.read()
    with pytest.raises(NotFoundError):
        registry.adopt(zone, name=f"absent.{ZONE}", rdtype="A")
    with pytest.raises(SafetyRefusal):
        registry.adopt(zone, name=f"theirs.{ZONE}", rdtype="A")
    registry.apply([registry.adopt(zone, name=f"legacy.{ZONE}", rdtype="A")])
    owned = registry.read().get(f"legacy.{ZONE}", "A")
    assert owned is not None and owned.owner == OWNER and not owned.shared


def test_nothing_to_do_is_an_empty_unit(registry: Registry) -> None:
    zone = registry.read()
    registry.apply(
        [registry.change(zone, name=f"a.{ZONE}", rdtype="A", ttl=60, values=["127.0.0.3"])]
    )
    zone = registry.read()
    assert registry.change(zone, name=f"a.{ZONE}", rdtype="A", ttl=60, values=["127.0.0.3"]) == ()
    assert registry.remove(zone, name=f"b.{ZONE}", rdtype="A") == ()
    assert registry.apply([()]).batches == 0


def test_claims_read_back_as_written() -> None:
    values = tuple(sorted(f"10 host{i:03}.example.com." for i in range(40)))
    claim = RRsetClaim("mail-prod", values)
    assert parse_claim(claim.text()) == claim
    assert parse_claim(RRsetClaim("x").text()) == RRsetClaim("x")
    assert parse_claim(RRsetClaim("x", ()).text()) == RRsetClaim("x", ())
    tricky = RRsetClaim("x", ('"a,b" "100%"',))
    assert parse_claim(tricky.text()) == tricky
    assert parse_claim('"hello"') is None
    assert parse_claim('"owner="') is None


def test_an_unreadable_marker_makes_the_rrset_someone_elses() -> None:
    record = Record(f"x.{ZONE}", "A", 300, ["127.0.0.1"])
    marker = Record(marker_name(record.name, "A"), "TXT", 300, ['"owner=mail-prod"', '"junk"'])
    zone = OwnedZone.of(Zone(ZONE, 1, (record, marker)))
    owned = zone.get(record.name, "A")
    assert owned is not None and owned.foreign_marker
    from eipkeeper.dns.ownership import plan_rrset

    with pytest.raises(SafetyRefusal):
        plan_rrset(zone, owner="mail-prod", name=record.name, rdtype="A", ttl=300, values=[])


def test_an_old_claim_without_a_list_is_read_whole_for_a_and_by_its_hosts_for_mx() -> None:
    """Old versions wrote `owner=<id>` alone on the sets they created (see legacy_reading)."""
    old = '"owner=mail-prod"'
    mx1 = Record(f"mx1.{ZONE}", "A", 300, ["127.0.0.10", "192.0.2.9"])
    mx = Record(ZONE, "MX", 300, [f"10 mx1.{ZONE}.", f"10 gone.{ZONE}.", "20 onprem.example.org."])
    markers = [Record(marker_name(r.name, r.type), "TXT", 300, [old]) for r in (mx1, mx)]
    zone = OwnedZone.of(Zone(ZONE, 1, (mx1, mx, *markers)))
    a, m = zone.get(mx1.name, "A"), zone.get(ZONE, "MX")
    assert a is not None and m is not None
    # A: every value (one of ours read as someone else's would dangle: S1).
    assert a.managed_by(OWNER) == mx1.values
    # MX: the values whose target is a host of ours; an on-premises host is kept.
    assert m.managed_by(OWNER) == (f"10 mx1.{ZONE}.",)
    assert m.owner_of("20 onprem.example.org.") == "" and m.shared

    from eipkeeper.dns.ownership import plan_rrset

    unit = plan_rrset(
        zone, owner=OWNER, name=ZONE, rdtype="MX", ttl=300, values=[f"10 gone.{ZONE}."]
    )
    record, marker = unit
    # A wanted value is ours all along; the first write lists what is ours.
    assert record.new is not None and set(record.new.values) == set(mx.values) - {f"10 mx1.{ZONE}."}
    assert marker.new is not None and parse_claim(marker.new.values[0]) == RRsetClaim(
        OWNER, (f"10 gone.{ZONE}.",)
    )
    # Nothing to change, nothing written: an upgrade alone makes no plan.
    same = plan_rrset(zone, owner=OWNER, name=mx1.name, rdtype="A", ttl=300, values=mx1.values)
    assert same == ()
