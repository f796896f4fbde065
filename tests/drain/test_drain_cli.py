"""`eipkeeper drain` as a user runs it: the sandbox's EC2, the zone in a real BIND, TTLs of 2 s
and a margin of 1 s, so the waits are real but short."""

from __future__ import annotations

import re

import dns.message
import dns.query

from eipkeeper.config import load
from eipkeeper.dns.factory import provider_from_config
from eipkeeper.dns.records import Change, Record
from eipkeeper.model import TAG_DRAIN
from eipkeeper.sandbox.bind import LocalBind, free_port
from tests.drain.support import Fleet
from tests.support.cli import eipkeeper

ZONE = "example.test"
SCAN = f"scan.{ZONE}"


def holders(fleet: Fleet) -> dict[str, str]:
    """Pool hostname -> the instance id its EIP is on ("" when on none)."""
    found = {}
    for item in fleet.cloud.client("ec2").describe_addresses()["Addresses"]:
        tags = {t["Key"]: t["Value"] for t in item.get("Tags", [])}
        found[tags.get("eipkeeper:hostname", item["PublicIp"])] = item.get("InstanceId", "")
    return found


def mx_hosts(fleet: Fleet) -> set[str]:
    return {v.split()[-1].rstrip(".") for v in fleet.served(ZONE, "MX")}


def zone_snapshot(fleet: Fleet) -> dict[str, set[str]]:
    names = [f"mx{n}.{ZONE}" for n in (1, 2, 3)] + [SCAN]
    return {**{n: fleet.served(n) for n in names}, "MX": fleet.served(ZONE, "MX")}


def roles(fleet: Fleet) -> tuple[str, str, str]:
    """After the first apply: (the name of mx1's holder, its id, the standby's id); which
    instance is which follows the instance ids, so it is looked up, not assumed."""
    by_id = {fleet.named(n)[0]: n for n in ("mx-a", "mx-b", "mx-c")}
    held = holders(fleet)
    (standby,) = set(by_id) - set(held.values())
    return by_id[held[f"mx1.{ZONE}"]], held[f"mx1.{ZONE}"], standby


def test_an_elastic_holder_hands_its_address_to_the_standby_without_touching_dns(
    fleet: Fleet,
) -> None:
    name, holder, standby = roles(fleet)
    zone = zone_snapshot(fleet)

    ran = eipkeeper("-o", "json", "drain", name, "--then", "stop", "--yes", env=fleet.env)

    assert ran.code == 0, ran.stderr
    report = ran.json()
    assert report["route"] == "move" and report["moved_to"] == standby
    assert report["phases"] == ["started", "moved", "done"]
    assert report["records_changed"] == [] and report["action"] == "stopped"
    assert report["gap_seconds"] is not None
    assert holders(fleet)[f"mx1.{ZONE}"] == standby
    assert zone_snapshot(fleet) == zone, "DNS unchanged"
    assert fleet.described(holder)[0] in ("stopping", "stopped")


def test_with_no_standby_the_hostname_leaves_mx_and_the_address_stays_allocated(
    fleet: Fleet,
) -> None:
    config = fleet.cloud.config
    withdraw = 'preference = 10, when_unbacked = "withdraw" }'
    config.write_text(config.read_text().replace("preference = 10 }", withdraw))
    name, holder, standby = roles(fleet)
    fleet.cloud.client("ec2").stop_instances(InstanceIds=[standby])
    hostname = f"mx1.{ZONE}"
    eip = next(iter(fleet.served(hostname)))
    assert hostname in mx_hosts(fleet)

    ran = eipkeeper("-o", "json", "drain", name, "--then", "nothing", "--yes", env=fleet.env)

    assert ran.code == 0, ran.stderr
    report = ran.json()
    assert report["route"] == "dns"
    assert report["phases"] == ["started", "dns-out", "confirmed", "waited", "done"]
    assert len(report["records_changed"]) == 1
    assert report["records_changed"][0].startswith(f"update MX {ZONE}:")
    assert report["confirmed_at"] and report["ttl"] == 2 and report["margin"] == 1.0
    assert report["disassociated"] == eip and report["action"] == "none"
    assert hostname not in mx_hosts(fleet) and mx_hosts(fleet), "only mx-a's host left MX"
    assert fleet.served(hostname) == {eip}, "the A record stays: the EIP is still ours"
    assert holders(fleet)[hostname] == "", "disassociated, still allocated"
    assert fleet.described(holder) == ("running", "done then=nothing")


def test_an_unknown_instance_is_one_line_and_exit_1(fleet: Fleet) -> None:
    ran = eipkeeper("drain", "no-such-host", "--yes", env=fleet.env)
    assert ran.code == 1
    assert ran.stderr.splitlines() == ["eipkeeper: no instance with id or Name no-such-host"]


def test_a_record_not_ours_stops_the_drain_before_any_action(fleet: Fleet) -> None:
    scan_a, ip = fleet.named("scan-a")
    # Someone else's record on scan-a's address: ours to report, not to change (S4).
    provider = provider_from_config(load(fleet.cloud.config))
    provider.apply([Change.create(Record(f"legacy.{ZONE}", "A", 300, [ip]))])
    before = zone_snapshot(fleet)

    ran = eipkeeper("drain", "scan-a", "--then", "terminate", "--yes", env=fleet.env)

    assert ran.code == 4, ran.stderr
    assert "S4" in ran.stderr and f"A legacy.{ZONE}" in ran.stderr
    assert len(ran.stderr.splitlines()) == 1
    assert fleet.described(scan_a) == ("running", ""), "not even the drain tag"
    assert zone_snapshot(fleet) == before


def test_without_yes_off_a_terminal_nothing_happens(fleet: Fleet) -> None:
    scan_a, ip = fleet.named("scan-a")
    ran = eipkeeper("drain", "scan-a", "--then", "terminate", env=fleet.env)
    assert ran.code == 2 and "--yes" in ran.stderr
    assert fleet.described(scan_a) == ("running", "")
    assert ip in fleet.served(SCAN)


def test_a_drained_instance_stays_out_and_draining_it_again_is_a_no_op(fleet: Fleet) -> None:
    scan_b, ip = fleet.named("scan-b")
    first = eipkeeper("-o", "table", "drain", "scan-b", "--yes", env=fleet.env)
    assert first.code == 0, first.stderr
    assert first.stdout.startswith(f"drained {scan_b} (scan-b), service scan")
    assert "action        none" in first.stdout
    assert ip not in fleet.served(SCAN)

    ran = eipkeeper("run", "--once", env=fleet.env)
    assert ran.code == 0, ran.stderr
    assert ip not in fleet.served(SCAN), "run never puts a draining instance back"

    again = eipkeeper("-o", "json", "drain", "scan-b", "--yes", env=fleet.env)
    assert again.code == 0, again.stderr
    assert again.json()["changed"] is False and again.json()["phases"] == []
    table = eipkeeper("-o", "table", "drain", "scan-b", "--yes", env=fleet.env)
    said = f"{scan_b} (scan-b) is already drained (then nothing); nothing to do"
    assert table.stdout.strip() == said

    # Out of DNS since the drain: terminating it now needs no second wait.
    terminate = ("drain", "scan-b", "--then", "terminate", "--yes")
    ended = eipkeeper("-o", "json", *terminate, env=fleet.env)
    assert ended.code == 0, ended.stderr
    report = ended.json()
    assert (report["resumed_from"], report["phases"]) == ("done", ["done"])
    assert report["action"] == "terminated" and report["waited_seconds"] is None
    state, tag = fleet.described(scan_b)
    assert state in ("shutting-down", "terminated") and tag == "done then=terminate"


def test_a_server_that_never_confirms_leaves_the_phase_for_a_rerun(fleet: Fleet) -> None:
    scan_a, ip = fleet.named("scan-a")
    config = fleet.cloud.config
    good = config.read_text()
    dead = f"127.0.0.1:{free_port()}"
    config.write_text(
        re.sub(r"verify_servers = \[(.*)\]", rf'verify_servers = [\1, "{dead}"]', good)
    )

    ran = eipkeeper(
        "drain", "scan-a", "--then", "terminate", "--yes", "--timeout", "1", env=fleet.env
    )

    assert ran.code == 1
    assert f"not served by {dead}" in ran.stderr.splitlines()[-1]
    assert f"not yet served by {dead}" in ran.stderr
    state, tag = fleet.described(scan_a)
    assert state == "running" and tag.startswith("dns-out ")
    assert ip not in fleet.served(SCAN)

    config.write_text(good)
    again = eipkeeper(
        "-o", "json", "drain", "scan-a", "--then", "terminate", "--yes", env=fleet.env
    )
    assert again.code == 0, again.stderr
    report = again.json()
    assert report["resumed_from"] == "dns-out"
    assert report["phases"] == ["confirmed", "waited", "done"]
    assert report["action"] == "terminated"
    assert fleet.described(scan_a)[0] in ("shutting-down", "terminated")


def test_a_resumed_drain_is_not_confirmed_by_a_stale_server_with_a_higher_serial(
    fleet: Fleet,
) -> None:
    # A secondary never told of the withdrawal keeps the old value. The first run cannot
    # confirm (its serial is behind) and leaves dns-out on the tag; the tag's serial is then
    # set below the secondary's, as a PowerDNS primary with SOA-EDIT-DNSUPDATE=EPOCH can make
    # it (FACTS.md). The rerun must still see the old value served and not terminate (S2).
    scan_a, ip = fleet.named("scan-a")
    config = fleet.cloud.config
    good = config.read_text()
    with LocalBind(ZONE, primary=fleet.bind, port=free_port()) as stale:
        old_serial = stale.soa_serial()
        listed = f'verify_servers = ["{fleet.bind.server}", "{stale.server}"]'
        config.write_text(re.sub(r"verify_servers = \[.*\]", listed, good))
        first = eipkeeper(
            "drain", "scan-a", "--then", "terminate", "--yes", "--timeout", "1", env=fleet.env
        )
        assert first.code == 1
        _, tag = fleet.described(scan_a)
        assert tag.startswith("dns-out ") and ip not in fleet.served(SCAN)
        assert ip in _served_by(stale, SCAN)
        backwards = re.sub(r"serial=\d+", f"serial={old_serial}", tag)
        assert backwards != tag
        fleet.cloud.client("ec2").create_tags(
            Resources=[scan_a], Tags=[{"Key": TAG_DRAIN, "Value": backwards}]
        )

        again = eipkeeper(
            "drain", "scan-a", "--then", "terminate", "--yes", "--timeout", "1", env=fleet.env
        )

        assert again.code == 1, again.stderr
        assert f"still has {ip}" in again.stderr
        assert f"not served by {stale.server}" in again.stderr.splitlines()[-1]
        state, tag = fleet.described(scan_a)
        assert state == "running" and tag.startswith("dns-out ")


def _served_by(server: LocalBind, name: str) -> set[str]:
    answer = dns.query.udp(
        dns.message.make_query(name + ".", "A"), server.host, port=server.port, timeout=2
    )
    return {rd.to_text() for rrset in answer.answer for rd in rrset}
