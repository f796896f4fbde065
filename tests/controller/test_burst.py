"""Burst capacity: hysteresis and cooldown on a fake clock (the observation's `now`), and the
whole scale-out / scale-in on the sandbox with the metric driven through moto's CloudWatch."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

from eipkeeper.config import Config
from eipkeeper.controller import planner
from eipkeeper.controller.bursts import LAUNCH_MEMORY
from eipkeeper.controller.plan import Claim, DnsUnit, Launch, Plan, Retire
from eipkeeper.model import TAG_BURST, TAG_BURST_AT, TAG_BURST_LAUNCH
from tests.conftest import Cloud
from tests.controller.world import World
from tests.support import builders
from tests.support.builders import MX_HOSTNAMES, SCAN, ZONE, eip, instance, mx
from tests.support.cli import eipkeeper

BURST = (
    '{ launch_template = "mx-burst", hostnames = ["mx3.example.test"], max = 1, '
    'metric = { namespace = "Mail", name = "QueueLength" }, scale_out_above = 500, '
    'scale_in_below = 50, cooldown = "5m" }'
)
NOW = 1_900_000_000.0


def burst_config(*, most: int = 1, cooldown: str = "5m") -> Config:
    burst = BURST.replace("max = 1", f"max = {most}").replace('"5m"', f'"{cooldown}"')
    mail = mx(*MX_HOSTNAMES, when_unbacked="keep", burst=burst)
    return builders.config(mail, SCAN, dns="max_ttl = 300\n", source="burst.toml")


def world() -> World:
    return World(
        addresses=[eip(n, hostname=f"mx{n}.{ZONE}") for n in (1, 2, 3)],
        instances=[instance("mx-a", "mx", n=1), instance("mx-b", "mx", n=2)],
    )


def plan_at(config: Config, w: World, *, load: float | None, now: float = NOW) -> list[object]:
    seen = dataclasses.replace(w.observe(), load={"mx": load}, now=now)
    return list(planner.plan(config, seen).actions)


def settle(config: Config, w: World) -> None:
    w.apply(planner.plan(config, dataclasses.replace(w.observe(), load={"mx": 100.0}, now=NOW)))


def test_high_load_launches_one_burst_instance_and_low_load_retires_it() -> None:
    config, w = burst_config(), world()
    settle(config, w)
    launches = [a for a in plan_at(config, w, load=800) if isinstance(a, Launch)]
    assert len(launches) == 1 and launches[0].burst and launches[0].hostname == f"mx3.{ZONE}"
    assert "800 > scale_out_above 500" in launches[0].reason
    assert plan_at(config, w, load=300) == [], "between the thresholds nothing happens"

    # The launched instance (tagged burst) comes up; the stamp marks the cooldown.
    burst = instance("mx-burst", "mx", n=9, tags={TAG_BURST: f"mx3.{ZONE}"})
    w.instances.append(burst)
    stamp = w.addresses[2]
    w.addresses[2] = dataclasses.replace(
        stamp, tags={**stamp.tags, TAG_BURST_AT: "2030-03-17T17:46:40"}
    )
    actions = plan_at(config, w, load=800, now=NOW + 10)
    claims = [a for a in actions if isinstance(a, Claim)]
    assert [(c.instance_id, c.public_ip) for c in claims] == [(burst.instance_id, stamp.public_ip)]
    assert not [a for a in actions if isinstance(a, Launch)], "never more than max"
    assert not [a for a in actions if isinstance(a, DnsUnit)], "a burst changes no record"


def test_cooldown_and_max_hold_on_a_fake_clock() -> None:
    config, w = burst_config(), world()
    settle(config, w)
    stamped = dataclasses.replace(
        w.addresses[2], tags={**w.addresses[2].tags, TAG_BURST_AT: "2030-03-17T17:46:40"}
    )
    w.addresses[2] = stamped  # the last action at NOW (1,900,000,000 s is 2030-03-17T17:46:40Z)
    assert plan_at(config, w, load=900, now=NOW + 299) == [], "inside the 5 minute cooldown"
    later = plan_at(config, w, load=900, now=NOW + 301)
    assert [type(a) for a in later] == [Launch]


def test_scale_in_retires_the_newest_burst_instance_only_after_the_cooldown() -> None:
    config, w = burst_config(most=2), world()
    settle(config, w)
    old = instance("burst-1", "mx", n=7, tags={TAG_BURST: "x"})
    new = instance("burst-2", "mx", n=8, tags={TAG_BURST: "x"})
    w.instances += [old, new]
    stamped = dataclasses.replace(
        w.addresses[2], tags={**w.addresses[2].tags, TAG_BURST_AT: "2030-03-17T17:46:40"}
    )
    w.addresses[2] = stamped
    assert not [a for a in plan_at(config, w, load=10, now=NOW + 60) if isinstance(a, Retire)]
    retires = [a for a in plan_at(config, w, load=10, now=NOW + 400) if isinstance(a, Retire)]
    assert [r.instance_id for r in retires] == [new.instance_id]
    assert "10 < scale_in_below 50" in retires[0].reason


def test_a_round_that_cannot_see_its_launch_sends_the_same_token() -> None:
    """S9: EC2's Describe may show neither the launch nor the cooldown stamp for seconds; the
    next round decides the same launch, and its ClientToken (not the clock) makes it the same
    one. Once the stamp shows, the next launch after the cooldown is another intent."""
    config, w = burst_config(), world()
    settle(config, w)
    first = [a for a in plan_at(config, w, load=800, now=NOW) if isinstance(a, Launch)]
    again = [a for a in plan_at(config, w, load=800, now=NOW + 2) if isinstance(a, Launch)]
    assert len(first) == 1 and [a.token for a in again] == [first[0].token]
    assert len(first[0].token) <= 64 and str(int(NOW)) not in first[0].token
    stamp = w.addresses[2]
    w.addresses[2] = dataclasses.replace(
        stamp, tags={**stamp.tags, TAG_BURST_AT: "2030-03-17T17:46:40"}
    )
    after = [a for a in plan_at(config, w, load=800, now=NOW + 400) if isinstance(a, Launch)]
    assert len(after) == 1 and after[0].token != first[0].token


def test_a_launch_the_stamp_names_counts_as_live_until_describe_shows_it() -> None:
    """S9's memory, kept in the cloud: the stamp shows (cooldown over) but the instance it
    launched does not yet; that launch counts against max until LAUNCH_MEMORY has passed."""
    config, w = burst_config(cooldown="10s"), world()
    settle(config, w)
    stamp = w.addresses[2]
    w.addresses[2] = dataclasses.replace(
        stamp,
        tags={**stamp.tags, TAG_BURST_AT: "2030-03-17T17:46:40", TAG_BURST_LAUNCH: "tok"},
    )
    assert plan_at(config, w, load=900, now=NOW + 11) == [], "the unseen launch is live"
    later = plan_at(config, w, load=900, now=NOW + LAUNCH_MEMORY + 1)
    assert [type(a) for a in later] == [Launch], "past the memory, the launch is taken as lost"
    w.instances.append(
        dataclasses.replace(instance("burst", "mx", n=9, tags={TAG_BURST: "x"}), client_token="tok")
    )
    assert not [a for a in plan_at(config, w, load=900, now=NOW + 11) if isinstance(a, Launch)]


def test_bursts_above_max_are_retired_first_whatever_the_load_or_cooldown() -> None:
    """Two bursts live with max = 1 (two rounds that could not see each other, or one made by
    hand): the newest goes, at peak load and inside the cooldown, and nothing is launched."""
    config, w = burst_config(), world()
    settle(config, w)
    old = instance("burst-1", "mx", n=7, tags={TAG_BURST: "x"})
    new = instance("burst-2", "mx", n=8, tags={TAG_BURST: "x"})
    w.instances += [old, new]
    stamped = dataclasses.replace(
        w.addresses[2], tags={**w.addresses[2].tags, TAG_BURST_AT: "2030-03-17T17:46:40"}
    )
    w.addresses[2] = stamped
    actions = plan_at(config, w, load=900, now=NOW + 10)
    assert [a.instance_id for a in actions if isinstance(a, Retire)] == [new.instance_id]
    assert not [a for a in actions if isinstance(a, Launch)]
    assert "burst.max is 1" in next(a for a in actions if isinstance(a, Retire)).reason


def test_bursts_above_max_are_retired_while_the_metric_reports_nothing() -> None:
    """Found by the model test: two bursts made by hand stayed for good while the queue was
    silent (no datapoint in three periods), since the excess was judged after the metric."""
    config, w = burst_config(), world()
    settle(config, w)
    w.instances += [instance(f"burst-{n}", "mx", n=n, tags={TAG_BURST: "x"}) for n in (7, 8)]
    actions = plan_at(config, w, load=None, now=NOW + 10)
    assert [a.instance_id for a in actions if isinstance(a, Retire)] == [
        w.instances[-1].instance_id
    ]


def test_no_metric_no_decision() -> None:
    config, w = burst_config(), world()
    settle(config, w)
    plan = planner.plan(config, dataclasses.replace(w.observe(), load={"mx": None}, now=NOW))
    assert not plan.actions
    assert [f.subject for f in plan.findings if f.kind == "metric-unavailable"] == ["mx"]


def put_load(cloud: Cloud, value: float, *, ahead: float = 0.0) -> None:
    """Report VALUE, stamped AHEAD seconds from now: the test's way past the 10 s period that
    CloudWatch averages over, instead of waiting for it."""
    datum = {
        "MetricName": "QueueLength",
        "Dimensions": [{"Name": "Service", "Value": "mx"}],
        "Value": value,
        "Timestamp": datetime.now(UTC) + timedelta(seconds=ahead),
    }
    cloud.client("cloudwatch").put_metric_data(Namespace="Mail", MetricData=[datum])


def test_burst_on_the_sandbox_claims_mx3_without_touching_dns(cloud: Cloud, tmp_path: Path) -> None:
    config = tmp_path / "fast.toml"
    text = cloud.config.read_text().replace('cooldown = "1m"', 'cooldown = "0s"')
    text = text.replace('{ Service = "mx" } }', '{ Service = "mx" }, period = "10s" }')
    assert 'period = "10s"' in text
    config.write_text(text)
    env = {**cloud.env, "EIPKEEPER_CONFIG": str(config)}
    assert eipkeeper("apply", "--yes", env=env).code == 0
    records = eipkeeper("-o", "json", "plan", env=env).json()
    assert records["actions"] == []
    r53 = cloud.client("route53")
    zone_id = r53.list_hosted_zones_by_name(DNSName="example.test")["HostedZones"][0]["Id"]
    before = r53.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]

    put_load(cloud, 2000)
    launched = eipkeeper("-o", "json", "apply", "--yes", env=env)
    assert launched.code == 0, launched.stderr
    assert [a["kind"] for a in launched.json()["actions"]] == ["launch"]
    claimed = eipkeeper("-o", "json", "apply", "--yes", env=env)
    assert [a["kind"] for a in claimed.json()["actions"]] == ["claim"], claimed.stdout
    mx3 = next(
        a
        for a in cloud.client("ec2").describe_addresses()["Addresses"]
        if {"Key": "eipkeeper:hostname", "Value": "mx3.example.test"} in a["Tags"]
    )
    holder = cloud.client("ec2").describe_instances(InstanceIds=[mx3["InstanceId"]])
    tags = {t["Key"]: t["Value"] for t in holder["Reservations"][0]["Instances"][0]["Tags"]}
    assert "eipkeeper:burst" in tags
    # Its interface carries the selector and owner tags, as `iam-policy --guard` expects.
    nic = holder["Reservations"][0]["Instances"][0]["NetworkInterfaces"][0]["NetworkInterfaceId"]
    (interface,) = cloud.client("ec2").describe_network_interfaces(NetworkInterfaceIds=[nic])[
        "NetworkInterfaces"
    ]
    on_nic = {t["Key"]: t["Value"] for t in interface.get("TagSet", [])}
    assert on_nic == {"Role": "mx", "eipkeeper:owner": tags["eipkeeper:owner"]}, on_nic
    assert r53.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"] == before

    put_load(cloud, 10, ahead=25)
    retired = eipkeeper("-o", "json", "apply", "--yes", env=env)
    assert [a["kind"] for a in retired.json()["actions"]] == ["retire"], retired.stdout
    state = cloud.client("ec2").describe_instances(InstanceIds=[mx3["InstanceId"]])
    assert state["Reservations"][0]["Instances"][0]["State"]["Name"] in (
        "shutting-down",
        "terminated",
    )
    after = next(
        a
        for a in cloud.client("ec2").describe_addresses()["Addresses"]
        if a["AllocationId"] == mx3["AllocationId"]
    )
    assert not after.get("InstanceId"), "the reserved EIP stays allocated, on no instance"
    assert r53.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"] == before


def test_a_reviewed_plan_with_a_burst_launch_passes_its_own_checksum(
    cloud: Cloud, tmp_path: Path
) -> None:
    """The launch's ClientToken carries the second it was planned in; the checksum covers
    stable fields only, so `apply --checksum` of the reviewed plan goes through later."""
    config = tmp_path / "fast.toml"
    text = cloud.config.read_text().replace('cooldown = "1m"', 'cooldown = "0s"')
    config.write_text(text.replace('{ Service = "mx" } }', '{ Service = "mx" }, period = "10s" }'))
    env = {**cloud.env, "EIPKEEPER_CONFIG": str(config)}
    assert eipkeeper("apply", "--yes", env=env).code == 0
    put_load(cloud, 2000)
    reviewed = eipkeeper("-o", "json", "plan", env=env).json()
    assert [a["kind"] for a in reviewed["actions"]] == ["launch"]
    applied = eipkeeper("-o", "json", "apply", "--yes", "--checksum", reviewed["checksum"], env=env)
    assert applied.code == 0, applied.stderr
    assert applied.json()["checksum"] == reviewed["checksum"]


def test_the_checksum_covers_the_launch_token_not_the_wording() -> None:
    """The token names the launch intent (S9), so another token is another plan; it no
    longer carries the clock, so planning again a second later gives the same checksum."""

    def launch(token: str, reason: str) -> Plan:
        action = Launch(
            service="mx",
            launch_template="mx-burst",
            hostname="mx3.example.test",
            token=token,
            reason=reason,
            burst=True,
            stamp="eipalloc-1",
        )
        return Plan(actions=(action,))

    assert launch("sandbox-burst-mx-abc", "load 900").checksum == (
        launch("sandbox-burst-mx-abc", "load 950").checksum
    )
    assert (
        launch("sandbox-burst-mx-abc", "r").checksum != launch("sandbox-burst-mx-abd", "r").checksum
    )
    assert launch("t", "r").checksum != Plan(actions=()).checksum
