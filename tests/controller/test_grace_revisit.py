"""A holder that fails its check within its switch grace keeps its address (S6), and the plan
says when the grace ends, so that `run` judges it again then and not at its next interval
(a 30 s interval would otherwise add up to 30 s to every failover after a recent move)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from eipkeeper.config import Config
from eipkeeper.controller.observation import Observation
from eipkeeper.controller.plan import Move
from eipkeeper.controller.planner import plan
from eipkeeper.model import TAG_ASSOCIATED_AT
from eipkeeper.tagtime import utc_stamp
from tests.controller.world import World
from tests.support import builders
from tests.support.builders import BURST, MX_HOSTNAMES, SCAN, eip, instance, mx

NOW = 1_000_000.0
GRACE = 60.0


def world(
    *, associated_ago: float | None, holder_healthy: bool | None
) -> tuple[Config, Observation]:
    """mx1's EIP on mx-a, associated ASSOCIATED_AGO seconds ago; a healthy standby mx-b."""
    check = '{ kind = "smtp", port = 25, switch_grace = "60s" }'
    mail = mx(*MX_HOSTNAMES, when_unbacked="keep", burst=BURST, check=check)
    config = builders.config(mail, SCAN, dns="max_ttl = 300\n")
    assert config.services[0].check is not None
    holder, standby = instance("mx-a", "mx", n=1), instance("mx-b", "mx", n=2)
    address = eip(1, hostname="mx1.example.test", instance=holder.instance_id)
    if associated_ago is not None:
        tags = {**address.tags, TAG_ASSOCIATED_AT: utc_stamp(NOW - associated_ago)}
        address = replace(address, tags=tags)
    seen = World(addresses=[address], instances=[holder, standby]).observe()
    health = {holder.instance_id: holder_healthy, standby.instance_id: True}
    return config, replace(seen, health=health, now=NOW)


@pytest.mark.parametrize("verdict", [False, None], ids=["failed", "undecided"])
@pytest.mark.parametrize("ago", [0.0, 10.0, 59.0])
def test_a_failing_holder_within_its_grace_keeps_its_address_and_the_plan_says_until_when(
    ago: float, verdict: bool | None
) -> None:
    """Failed (`run`'s monitor), or undecided (a one-shot command probes a holder in its grace
    once, since it cannot judge it yet): either way it keeps its EIP, and the plan says so."""
    config, seen = world(associated_ago=ago, holder_healthy=verdict)
    planned = plan(config, seen)
    assert not [a for a in planned.actions if isinstance(a, Move)]
    assert planned.revisit_in == pytest.approx(GRACE - ago)
    switching = [f for f in planned.findings if f.kind == "switching"]
    assert [f.subject for f in switching] == ["mx1.example.test"]
    assert f"judged in {GRACE - ago:.0f}s" in switching[0].message
    assert "1 info: switching mx1.example.test" in planned.summary


def test_once_the_grace_is_over_the_failing_holder_loses_its_address() -> None:
    config, seen = world(associated_ago=GRACE + 1, holder_healthy=False)
    planned = plan(config, seen)
    assert [a for a in planned.actions if isinstance(a, Move)]
    assert planned.revisit_in is None
    assert "switching" not in [f.kind for f in planned.findings]


@pytest.mark.parametrize("ago", [None, 10.0])
def test_a_healthy_holder_gives_no_reason_to_come_back_early(ago: float | None) -> None:
    config, seen = world(associated_ago=ago, holder_healthy=True)
    assert plan(config, seen).revisit_in is None
