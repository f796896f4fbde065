"""The drain's pure half: the phase on the tag, the steps left, the route, the DNS changes."""

from __future__ import annotations

import msgspec
import pytest

from eipkeeper.config import Config
from eipkeeper.dns.markers import RRsetClaim, marker_name
from eipkeeper.dns.ownership import OwnedZone
from eipkeeper.dns.records import Record, Zone
from eipkeeper.dns.references import references
from eipkeeper.drain import (
    Phase,
    choose_route,
    parse_phase,
    steps_after,
    wait_left,
    withdraw_address,
    withdraw_from_mx,
)
from eipkeeper.errors import SafetyRefusal
from eipkeeper.fleet import standby_candidates
from eipkeeper.model import TAG_BURST, TAG_DRAIN, Address, Instance
from tests.support import builders
from tests.support.builders import OWNER, instance

MAIL = builders.mx("mx1.example.test", "mx2.example.test", when_unbacked="withdraw", ttl="300")


@pytest.fixture
def config() -> Config:
    return builders.config(MAIL, builders.SCAN, source="eipkeeper.toml")


def zone(
    *records: Record, claims: dict[tuple[str, str], list[RRsetClaim]] | None = None
) -> OwnedZone:
    """RECORDS, each claimed wholly by OWNER unless CLAIMS says otherwise ([] for nobody)."""
    claims = claims or {}
    markers = []
    for record in records:
        mine = claims.get(record.key, [RRsetClaim(OWNER)])
        if mine:
            texts = [c.text() for c in mine]
            markers.append(Record(marker_name(record.name, record.type), "TXT", 60, texts))
    return OwnedZone.of(Zone("example.test", 7, (*records, *markers)))


def scan(*values: str, ttl: int = 60) -> Record:
    return Record("scan.example.test", "A", ttl, values)


# -- the phase on the tag ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "phase",
    [
        Phase("started"),
        Phase("dns-out", ttl=60, serial=42),
        Phase("dns-out", ttl=300, changes=("/change/C1", "/change/C2")),
        Phase("confirmed", ttl=60, at=1_760_000_000.0),
        Phase("waited"),
        Phase("moved", to="i-0abc"),
        Phase("done", then="terminate"),
    ],
)
def test_a_phase_reads_back_as_written(phase: Phase) -> None:
    assert parse_phase(phase.text()) == phase


def test_the_tag_reads_as_an_operator_would_write_it() -> None:
    assert Phase("confirmed", ttl=60, at=1_760_000_000.0).text() == (
        "confirmed at=2025-10-09T08:53:20Z ttl=60"
    )


@pytest.mark.parametrize("text", ["confirmed ttl=60", "dns-out", "confirmed at=soon ttl=1", "?"])
def test_an_unreadable_tag_starts_over_which_waits_in_full(text: str) -> None:
    assert parse_phase(text) == Phase("started")


def test_no_tag_is_no_drain() -> None:
    assert parse_phase("") is None


def test_the_steps_left_follow_the_phase() -> None:
    assert steps_after(None, "dns") == ("withdraw", "confirm", "wait", "act")
    assert steps_after(Phase("started"), "move") == ("move", "act")
    assert steps_after(Phase("dns-out", ttl=1), "direct") == ("confirm", "wait", "act")
    assert steps_after(Phase("confirmed", ttl=1, at=0.0), "dns") == ("wait", "act")
    assert steps_after(Phase("waited"), "dns") == ("act",)
    assert steps_after(Phase("moved", to="i-1"), "dns") == ("act",)
    assert steps_after(Phase("done"), "dns") == ()


def test_the_wait_counts_from_the_confirmation_not_from_the_rerun() -> None:
    phase = Phase("confirmed", ttl=60, at=1000.0)
    assert wait_left(phase, margin=30.0, now=1000.0) == 90.0
    assert wait_left(phase, margin=30.0, now=1080.0) == 10.0
    assert wait_left(phase, margin=30.0, now=5000.0) == 0.0


# -- the route -----------------------------------------------------------------------------------


def member(name: str, n: int, ip: str = "127.0.0.9", **tags: str) -> Instance:
    """An mx instance, the Nth to be launched, its id made of its NAME."""
    return instance(name, "mx", n=n, public_ip=ip, instance_id=f"i-{name}", tags=tags)


def test_the_route_follows_the_service(config: Config) -> None:
    mx, scan_ = config.service("mx"), config.service("scan")
    eip = Address("127.0.0.20", "eipalloc-1", instance_id="i-a")
    held = member("a", 1)
    assert choose_route(service=scan_, instance=held, eip=None, standby=False, seen=False) == "dns"
    stopped = Instance("i-s", "stopped")
    assert choose_route(service=scan_, instance=stopped, eip=None, standby=False, seen=True) == (
        "direct"
    )
    assert choose_route(service=mx, instance=held, eip=eip, standby=True, seen=False) == "move"
    assert choose_route(service=mx, instance=held, eip=eip, standby=False, seen=False) == "dns"
    assert mx.mx is not None
    keep = msgspec.structs.replace(mx, mx=msgspec.structs.replace(mx.mx, when_unbacked="keep"))
    assert choose_route(service=keep, instance=held, eip=eip, standby=False, seen=False) == (
        "direct"
    )
    assert choose_route(service=mx, instance=held, eip=None, standby=False, seen=False) == "direct"
    assert choose_route(service=mx, instance=held, eip=None, standby=False, seen=True) == "dns"


def test_a_standby_is_healthy_free_alike_and_named_by_no_record(config: Config) -> None:
    mx = config.service("mx")
    bound = {"eipkeeper:hostname": "mx1.example.test"}
    eip = Address("127.0.0.20", "eipalloc-1", instance_id="i-a", tags=bound)
    members = [
        member("a", 1, "127.0.0.20"),
        member("b", 2, "127.0.0.21"),
        member("c", 3, "127.0.0.22", **{TAG_DRAIN: "started"}),
        member("d", 4, "127.0.0.23", **{TAG_BURST: "1"}),
        member("e", 5, "127.0.0.24"),
        member("f", 6, "127.0.0.25"),
        Instance("i-g", "stopped", launch_time="g"),
    ]
    held = [eip, Address("127.0.0.30", "eipalloc-2", instance_id="i-b")]
    seen = zone(Record("old.example.test", "A", 60, ["127.0.0.24"]))
    found = standby_candidates(
        members,
        held,
        burst=eip.hostname in mx.burst_hostnames,
        named=lambda ip: bool(references(seen.zone, ip)),
        excluding=members[0].instance_id,
    )
    assert [i.instance_id for i in found] == ["i-f"]


# -- the DNS changes ------------------------------------------------------------------------------


def test_a_round_robin_name_keeps_the_others(config: Config) -> None:
    out = withdraw_address(
        zone(scan("127.0.0.5", "127.0.0.6")),
        config=config,
        service=config.service("scan"),
        ip="127.0.0.5",
        others=["127.0.0.6"],
    )
    assert out.changed == ("update A scan.example.test: 127.0.0.5 | 127.0.0.6 -> 127.0.0.6",)
    assert out.ttl == 60


def test_the_last_value_goes_with_its_record_and_ownership(config: Config) -> None:
    out = withdraw_address(
        zone(scan("127.0.0.5", ttl=120)),
        config=config,
        service=config.service("scan"),
        ip="127.0.0.5",
        others=[],
    )
    (unit,) = out.units
    assert [(c.kind, c.record.name) for c in unit] == [
        ("delete", "scan.example.test"),
        ("delete", "_eipkeeper.a.scan.example.test"),
    ]
    assert out.ttl == 120, "the longer TTL the record had is what caches keep"


def test_a_name_about_to_go_dark_takes_healthy_instances_not_yet_published(
    config: Config,
) -> None:
    out = withdraw_address(
        zone(scan("127.0.0.5")),
        config=config,
        service=config.service("scan"),
        ip="127.0.0.5",
        others=["127.0.0.7"],
    )
    assert out.changed == ("update A scan.example.test: 127.0.0.5 -> 127.0.0.7",)


def test_in_a_shared_record_only_our_value_leaves(config: Config) -> None:
    shared = scan("127.0.0.5", "192.0.2.1")
    claims = {shared.key: [RRsetClaim(OWNER, ("127.0.0.5",)), RRsetClaim("onprem", ("192.0.2.1",))]}
    out = withdraw_address(
        zone(shared, claims=claims),
        config=config,
        service=config.service("scan"),
        ip="127.0.0.5",
        others=[],
    )
    assert out.changed == ("update A scan.example.test: 127.0.0.5 | 192.0.2.1 -> 192.0.2.1",)


def test_records_not_ours_refuse_the_whole_drain_naming_each(config: Config) -> None:
    foreign = Record("legacy.example.test", "A", 300, ["127.0.0.5"])
    spf = Record("example.test", "TXT", 300, ['"v=spf1 ip4:127.0.0.0/24 -all"'])
    seen = zone(scan("127.0.0.5"), foreign, spf, claims={foreign.key: [], spf.key: []})
    with pytest.raises(SafetyRefusal) as refused:
        withdraw_address(
            seen, config=config, service=config.service("scan"), ip="127.0.0.5", others=[]
        )
    assert refused.value.rule == "S4"
    assert refused.value.objects == (
        "A legacy.example.test (A value)",
        "TXT example.test (SPF ip4:127.0.0.0/24)",
    )


def test_a_hostname_left_without_address_leaves_the_mx_set(config: Config) -> None:
    service = msgspec.structs.replace(config.service("scan"), mx=config.service("mx").mx)
    mx = Record("example.test", "MX", 300, ["10 scan.example.test.", "20 backup.example.net."])
    ours, theirs = (
        RRsetClaim(OWNER, ("10 scan.example.test.",)),
        RRsetClaim("onprem", mx.values[1:]),
    )
    seen = zone(scan("127.0.0.5"), mx, claims={mx.key: [ours, theirs]})
    out = withdraw_address(seen, config=config, service=service, ip="127.0.0.5", others=[])
    assert out.changed == (
        "delete A scan.example.test: 127.0.0.5 -> -",
        "update MX example.test: 10 scan.example.test. | 20 backup.example.net. "
        "-> 20 backup.example.net.",
    )
    assert out.ttl == 300, "the MX set's TTL counts too"


def test_withdrawing_a_hostname_from_mx_keeps_the_rest(config: Config) -> None:
    mx = Record("example.test", "MX", 300, ["10 mx1.example.test.", "10 mx2.example.test."])
    # The hosts' own A records, ours: what makes an old MX claim's values read as ours.
    hosts = [Record(f"mx{i}.example.test", "A", 300, [f"127.0.0.{20 + i}"]) for i in (1, 2)]
    out = withdraw_from_mx(
        zone(mx, *hosts), config=config, service=config.service("mx"), hostname="mx1.example.test"
    )
    assert out.changed == (
        "update MX example.test: 10 mx1.example.test. | 10 mx2.example.test. "
        "-> 10 mx2.example.test.",
    )
    again = withdraw_from_mx(
        zone(Record("example.test", "MX", 300, ["10 mx2.example.test."])),
        config=config,
        service=config.service("mx"),
        hostname="mx1.example.test",
    )
    assert again.units == () and again.ttl == 300
