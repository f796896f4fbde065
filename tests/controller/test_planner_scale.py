"""Planning grows in proportion to the fleet, judged without a clock: the Python calls that one
no-op plan makes, counted at two fleet sizes.

SPEC's bar (a no-op round over 2,000 instances plans in under 50 ms of CPU) is timed by
`bench/reconcile.py`. A lookup by value in a list of instances once made each round
quadratic (111 ms at 2,000 instances, 408 ms at 4,000), and no test saw it: doubling the fleet
must about double the work (2.0x here; the quadratic lookup made it 2.64x).
"""

from __future__ import annotations

import sys
from types import FrameType
from typing import Any

from eipkeeper import config as config_module
from eipkeeper.controller import planner
from tests.controller.world import World
from tests.support import builders
from tests.support.builders import ZONE, eip, instance


def fleet(size: int) -> tuple[config_module.Config, World]:
    """SIZE mx instances, half of them holding one of SIZE/2 EIPs (one per hostname), and a
    zone that already agrees: the next plan is a no-op."""
    eips = size // 2
    hostnames = (f"h{n}.{ZONE}" for n in range(eips))
    config = builders.config(builders.service("mx", *hostnames), source="scale.toml")
    instances = [instance(f"mx-{n}", "mx", n=n + 1) for n in range(size)]
    addresses = [
        eip(n + 1, hostname=f"h{n}.{ZONE}", instance=instances[n].instance_id) for n in range(eips)
    ]
    world = World(addresses=addresses, instances=instances)
    world.apply(planner.plan(config, world.observe()))
    return config, world


def calls_to_plan(size: int) -> int:
    config, world = fleet(size)
    seen = world.observe()
    assert not planner.plan(config, seen).actions, "the fleet is settled: a no-op round"
    count = 0

    def counter(frame: FrameType, event: str, arg: Any) -> None:
        nonlocal count
        if event in ("call", "c_call"):
            count += 1

    sys.setprofile(counter)
    try:
        planner.plan(config, seen)
    finally:
        sys.setprofile(None)
    return count


def test_a_no_op_plan_does_work_in_proportion_to_the_fleet() -> None:
    small, large = calls_to_plan(200), calls_to_plan(400)
    assert large / small < 2.3, f"200 instances: {small} calls; 400: {large} ({large / small:.2f}x)"
