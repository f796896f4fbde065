"""`instances` HEALTH: a draining instance shows its drain phase, never `healthy`; a holder whose
check fails within the switch grace of its EIP's last association shows `switching`."""

from __future__ import annotations

import time
from typing import Any

import pytest

from eipkeeper.fleet import health_label, last_association
from eipkeeper.model import TAG_ASSOCIATED_AT, TAG_DRAIN, Address, Instance
from eipkeeper.tagtime import parse_stamp, utc_stamp
from tests.conftest import Cloud
from tests.support.cli import eipkeeper

NOW = parse_stamp("2026-12-01T22:00:00") or 0.0


def _instance(**tags: str) -> Instance:
    return Instance(instance_id="i-1", state="running", tags={"Name": "mx-a", **tags})


def _held(at: str, instance_id: str = "i-1") -> Address:
    return Address(
        public_ip="127.9.9.9",
        allocation_id="eipalloc-1",
        association_id="eipassoc-1",
        instance_id=instance_id,
        tags={TAG_ASSOCIATED_AT: at} if at else {},
    )


@pytest.mark.parametrize(
    ("tag", "shown"),
    [
        ("started", "draining (phase: started)"),
        ("dns-out ttl=60 serial=2024052801", "draining (phase: dns-out)"),
        ("confirmed at=2024-05-28T10:02:22Z ttl=60", "draining (phase: confirmed)"),
        ("waited", "draining (phase: waited)"),
        ("moved to=i-0abc", "draining (phase: moved)"),
        ("done then=nothing", "drained"),
    ],
)
def test_a_draining_instance_shows_its_phase_even_when_its_check_passes(
    tag: str, shown: str
) -> None:
    label = health_label(_instance(**{TAG_DRAIN: tag}), checked=True, ok=True, now=NOW)
    assert label == shown


def test_a_failing_holder_within_the_switch_grace_is_switching() -> None:
    label = health_label(
        _instance(),
        checked=True,
        ok=False,
        detail="connection refused",
        associated_at=NOW - 12,
        switch_grace=60,
        now=NOW,
    )
    assert label == "switching (associated 12s ago; connection refused)"


@pytest.mark.parametrize(
    ("associated_at", "ok", "shown"),
    [
        (NOW - 60, False, "unhealthy (connection refused)"),  # the grace is over
        (None, False, "unhealthy (connection refused)"),  # no tag: nothing changes
        (NOW - 5, True, "healthy"),  # the switch is done when the new holder answers
        (NOW - 5, None, "unhealthy (stopped)"),  # not probed: not running
    ],
)
def test_outside_the_grace_or_answering_a_holder_is_judged_as_before(
    associated_at: float | None, ok: bool | None, shown: str
) -> None:
    instance = Instance(instance_id="i-1", state="running" if ok is not None else "stopped")
    label = health_label(
        instance,
        checked=True,
        ok=ok,
        detail="connection refused",
        associated_at=associated_at,
        switch_grace=60,
        now=NOW,
    )
    assert label == shown


def test_no_check_is_said() -> None:
    assert health_label(_instance(), checked=False, ok=None, now=NOW) == "no check"


def test_the_last_association_is_the_newest_readable_stamp_of_the_instances_eips() -> None:
    addresses = [
        _held("2026-12-01T21:59:00"),
        _held("2026-12-01T21:59:30Z"),
        _held("not a time"),
        _held(""),
        _held("2026-12-01T21:59:59", instance_id="i-other"),
    ]
    assert last_association(addresses, _instance()) == NOW - 30
    assert last_association(addresses[2:4], _instance()) is None


def _row(cloud: Cloud, name: str) -> dict[str, Any]:
    ran = eipkeeper("-o", "json", "instances", env=cloud.env)
    assert ran.code == 0, ran.stderr
    [row] = [r for r in ran.json() if r["name"] == name]
    return dict(row)


def test_instances_shows_the_drain_phase_and_switching_on_the_sandbox(cloud: Cloud) -> None:
    ec2 = cloud.client("ec2")
    mx_a = cloud.instance("mx-a")["InstanceId"]
    mx_b = cloud.instance("mx-b")["InstanceId"]
    assert _row(cloud, "mx-a")["health"] == "healthy"

    ec2.create_tags(Resources=[mx_a], Tags=[{"Key": TAG_DRAIN, "Value": "dns-out ttl=60 serial=7"}])
    assert _row(cloud, "mx-a")["health"] == "draining (phase: dns-out)"

    # mx-b holds mx1's EIP, associated just now by eipkeeper's say-so, and does not answer.
    assert eipkeeper("associate", "mx1.example.test", "mx-b", "--yes", env=cloud.env).code == 0
    allocation = next(
        a["AllocationId"]
        for a in ec2.describe_addresses()["Addresses"]
        if a.get("InstanceId") == mx_b
    )
    ec2.create_tags(Resources=[mx_b], Tags=[{"Key": "sandbox:answer", "Value": "no"}])
    ec2.create_tags(
        Resources=[allocation],
        Tags=[{"Key": TAG_ASSOCIATED_AT, "Value": utc_stamp(time.time())}],
    )
    assert _row(cloud, "mx-b")["health"].startswith("switching (associated ")

    ec2.create_tags(
        Resources=[allocation], Tags=[{"Key": TAG_ASSOCIATED_AT, "Value": "2020-01-01T00:00:00"}]
    )
    assert _row(cloud, "mx-b")["health"].startswith("unhealthy (")
