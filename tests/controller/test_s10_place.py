"""S10: the world is the one the zone describes. Ownership records name the account and region
that wrote them; read from elsewhere they are someone else's (S4), and a plan that would empty
every managed record of a service while the cloud shows nothing of the owner is refused, even
with --force. Pure: the real planner and safety check on observations built here.

Found by hand: `eipkeeper --region us-west-2 apply --yes` (the fleet is in us-east-1) deleted
the MX set and every A record of the sandbox.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from eipkeeper import config as config_module
from eipkeeper.controller import planner, safety
from eipkeeper.controller.observation import Observation
from eipkeeper.controller.plan import DnsUnit
from eipkeeper.dns.markers import ANYWHERE, Place, RRsetClaim, marker_name, parse_claim
from eipkeeper.dns.ownership import OwnedZone, plan_rrset
from eipkeeper.dns.records import Record, Zone
from eipkeeper.errors import SafetyRefusal
from eipkeeper.model import TAG_HOSTNAME, TAG_OWNER, TAG_SERVICE, Address, Instance

OWNER = "mail-prod"
ZONE = "example.test"
EAST = Place("111111111111", "us-east-1")
WEST = Place("111111111111", "us-west-2")
OTHER_ACCOUNT = Place("222222222222", "us-east-1")
CONFIG = config_module.parse(
    f"""
owner = "{OWNER}"
region = "us-east-1"
[dns]
provider = "route53"
zone = "{ZONE}"
[[service]]
name = "mx"
select = {{ tags = {{ Role = "mx" }} }}
addresses = "elastic"
hostnames = ["mx1.{ZONE}", "mx2.{ZONE}"]
mx = {{ domain = "{ZONE}", preference = 10 }}
""",
    Path("s10.toml"),
)
RECORDS = (
    Record(f"mx1.{ZONE}", "A", 300, ["127.1.0.1"]),
    Record(f"mx2.{ZONE}", "A", 300, ["127.1.0.2"]),
    Record(ZONE, "MX", 300, [f"10 mx1.{ZONE}.", f"10 mx2.{ZONE}."]),
)


def zone_written_from(written: Place, here: Place) -> OwnedZone:
    markers = [
        Record(
            marker_name(r.name, r.type),
            "TXT",
            r.ttl,
            [RRsetClaim(OWNER, r.values, place=written).text()],
        )
        for r in RECORDS
    ]
    zone = Zone(ZONE, 1, tuple(sorted((*RECORDS, *markers), key=lambda r: r.key)))
    return OwnedZone.of(zone, here)


def empty_cloud(zone: OwnedZone) -> Observation:
    """The cloud as a wrong region shows it: none of the owner's addresses or instances."""
    return Observation(addresses=(), instances=(), zone=zone)


def test_a_claim_names_its_place_and_an_old_one_reads_as_before() -> None:
    text = RRsetClaim(OWNER, ("127.1.0.1",), place=EAST).text()
    assert text == '"owner=mail-prod" "account=111111111111" "region=us-east-1" "values=127.1.0.1"'
    assert parse_claim(text) == RRsetClaim(OWNER, ("127.1.0.1",), place=EAST)
    old = parse_claim('"owner=mail-prod" "values=127.1.0.1"')
    assert old == RRsetClaim(OWNER, ("127.1.0.1",), place=ANYWHERE)
    assert parse_claim('"owner=mail-prod" "region=" "values=127.1.0.1"') is None
    assert parse_claim('"owner=mail-prod" "region=a" "region=b"') is None


@pytest.mark.parametrize("here", [WEST, OTHER_ACCOUNT], ids=["region", "account"])
def test_records_written_elsewhere_are_foreign_and_the_plan_says_so(here: Place) -> None:
    zone = zone_written_from(EAST, here)
    assert zone.owned_by(OWNER) == ()
    with pytest.raises(SafetyRefusal, match=r"marked by mail-prod@us-east-1/111111111111"):
        plan_rrset(zone, owner=OWNER, name=f"mx1.{ZONE}", rdtype="A", ttl=300, values=())
    plan = planner.plan(CONFIG, empty_cloud(zone))
    assert not [a for a in plan.actions if isinstance(a, DnsUnit)]
    said = [f for f in plan.findings if f.kind == "foreign-place"]
    assert len(said) == 1
    assert "written from us-east-1/111111111111" in said[0].message
    assert here.label in said[0].message


def test_records_written_here_are_ours_and_new_claims_name_the_place() -> None:
    zone = zone_written_from(EAST, EAST)
    assert len(zone.owned_by(OWNER)) == 3
    unit = plan_rrset(
        zone, owner=OWNER, name=f"mx3.{ZONE}", rdtype="A", ttl=300, values=["127.1.0.3"]
    )
    marker = unit[-1].new
    assert marker is not None
    assert parse_claim(marker.values[0]) == RRsetClaim(OWNER, ("127.1.0.3",), place=EAST)


def test_an_old_claim_is_ours_from_anywhere_and_gets_no_write_of_its_own() -> None:
    zone = zone_written_from(ANYWHERE, WEST)
    assert len(zone.owned_by(OWNER)) == 3
    same = plan_rrset(
        zone, owner=OWNER, name=f"mx1.{ZONE}", rdtype="A", ttl=300, values=["127.1.0.1"]
    )
    assert same == ()


@pytest.mark.parametrize("written", [ANYWHERE, WEST], ids=["old-markers", "this-place"])
def test_emptying_a_service_while_the_cloud_shows_nothing_is_refused_even_forced(
    written: Place,
) -> None:
    seen = empty_cloud(zone_written_from(written, WEST))
    plan = planner.plan(CONFIG, seen)
    assert len([a for a in plan.actions if isinstance(a, DnsUnit)]) >= 2
    with pytest.raises(SafetyRefusal) as caught:
        safety.check(CONFIG, seen, plan, force=True)
    assert caught.value.rule == "S10"
    assert "cloud shows nothing of owner mail-prod in us-west-2/111111111111" in str(
        caught.value.message
    )
    assert "wrong region, account or credentials?" in caught.value.message
    assert set(caught.value.objects) == {f"A mx1.{ZONE}", f"A mx2.{ZONE}", f"MX {ZONE}"}


def test_a_fleet_the_cloud_shows_may_lose_its_records() -> None:
    """An EIP of the owner is visible: the deletes are the fleet's own story, not S10's."""
    seen = empty_cloud(zone_written_from(EAST, EAST))
    stray = Address(
        public_ip="127.1.0.9",
        allocation_id="eipalloc-9",
        tags={TAG_OWNER: OWNER, TAG_SERVICE: "other", TAG_HOSTNAME: ""},
    )
    seen = Observation(addresses=(stray,), instances=(), zone=seen.zone)
    plan = planner.plan(CONFIG, seen)
    assert [a for a in plan.actions if isinstance(a, DnsUnit)]
    safety.check(CONFIG, seen, plan, force=True)


def test_an_instance_of_a_service_counts_as_the_owner_seen() -> None:
    zone = zone_written_from(EAST, EAST)
    booting = Instance(instance_id="i-1", state="pending", tags={"Role": "mx"})
    seen = Observation(addresses=(), instances=(booting,), zone=zone)
    safety.check(CONFIG, seen, planner.plan(CONFIG, seen), force=True)


def test_an_operator_claim_of_a_burst_reserved_address_needs_a_burst_instance() -> None:
    """`associate mx3.example.test mx-c` gave the burst-reserved address to a standby."""
    from eipkeeper.controller.plan import Claim as ClaimAction
    from eipkeeper.controller.plan import Plan
    from eipkeeper.model import TAG_BURST

    config = config_module.parse(
        CONFIG_TEXT_BURST,
        Path("burst.toml"),
    )
    reserved = Address(
        public_ip="127.1.0.3",
        allocation_id="eipalloc-3",
        tags={TAG_OWNER: OWNER, TAG_SERVICE: "mx", TAG_HOSTNAME: f"mx3.{ZONE}"},
    )
    standby = Instance(instance_id="i-c", state="running", tags={"Role": "mx", "Name": "mx-c"})
    burst = Instance(instance_id="i-b", state="running", tags={"Role": "mx", TAG_BURST: "mx3"})
    seen = Observation(
        addresses=(reserved,),
        instances=(standby, burst),
        zone=None,
        health={"i-c": True, "i-b": True},
    )

    def claim(instance: str) -> Plan:
        action = ClaimAction("mx", "eipalloc-3", "127.1.0.3", instance, "asked", by_operator=True)
        return Plan(actions=(action,))

    with pytest.raises(SafetyRefusal, match="reserved for bursts") as caught:
        safety.check(config, seen, claim("i-c"))
    assert caught.value.rule == "S6"
    safety.check(config, seen, claim("i-b"))


CONFIG_TEXT_BURST = f"""
owner = "{OWNER}"
[[service]]
name = "mx"
select = {{ tags = {{ Role = "mx" }} }}
addresses = "elastic"
hostnames = ["mx1.{ZONE}", "mx3.{ZONE}"]
burst = {{ launch_template = "mx-burst", hostnames = ["mx3.{ZONE}"], max = 1 }}
"""
