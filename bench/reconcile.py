"""Reconcile bench (SPEC.md section 8): a no-op round over a large fleet.

On the sandbox (moto's EC2 in this process) with the zone in a real BIND: 2,000 instances,
1,000 pool EIPs each bound to a hostname and held, and about 2,000 records (an A record and
its ownership record per hostname, and a dynamic round-robin name of 50 instances). After one
`apply` publishes it all, a no-op round must make no write call and at most 10 read calls,
and planning must take under 50 ms of CPU. The same is measured at 500, 1,000 and 4,000
instances to show how it grows.

Prints one JSON line per fleet size. Run: .venv/bin/python bench/reconcile.py [--sizes 2000]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from eipkeeper import config as config_module
from eipkeeper.cloud.aws import AwsSession, is_write
from eipkeeper.cloud.ec2 import Ec2
from eipkeeper.controller import planner
from eipkeeper.controller.engine import Engine
from eipkeeper.controller.intents import Reconcile
from eipkeeper.dns.factory import registry_from_config
from eipkeeper.sandbox import INSTANT, Sandbox
from eipkeeper.sandbox.bind import LocalBind

ZONE = "bench.test"
BARS = {"max_reads": 10, "max_writes": 0, "max_plan_cpu_ms": 50.0}


def config_text(bind: LocalBind, hostnames: int) -> str:
    names = ", ".join(f'"h{n}.{ZONE}"' for n in range(hostnames))
    return f"""
owner = "bench"
region = "us-east-1"
{bind.config_toml()}
[[service]]
name = "mx"
select = {{ tags = {{ Role = "mx" }} }}
addresses = "elastic"
hostnames = [{names}]

[[service]]
name = "web"
select = {{ tags = {{ Role = "web" }} }}
addresses = "dynamic"
hostnames = ["www.{ZONE}"]
ttl = 60
"""


def build_fleet(*, instances: int, eips: int) -> None:
    """The fleet, made through moto's backend in this process: the setup is not what is
    measured, and moto's HTTP API takes minutes for thousands of instances."""
    from moto.ec2.models import ec2_backends

    backend = ec2_backends["123456789012"]["us-east-1"]  # moto's default account
    image = next(iter(backend.amis))
    web = min(50, instances // 10)
    made: list[Any] = []
    for role, count in (("mx", instances - web), ("web", web)):
        reservation = backend.run_instances(
            image,
            count,
            None,
            [],
            is_instance_type_default=True,
            instance_type="t3.micro",
            tags={"instance": {"Role": role}},
        )
        made += reservation.instances
    for n in range(eips):
        tags = {
            "eipkeeper:owner": "bench",
            "eipkeeper:service": "mx",
            "eipkeeper:hostname": f"h{n}.{ZONE}",
        }
        address = backend.allocate_address(domain="vpc", tags=tags)
        backend.associate_address(instance=made[n], address=address.public_ip, reassociate=False)


def measure(size: int) -> dict[str, Any]:
    eips = size // 2
    with (
        tempfile.TemporaryDirectory() as folder,
        # Instant: a no-op round's CPU and read calls are measured, not the API's pace (2,000
        # launches at RunInstances' 2/s would take 17 minutes); bench/first_apply.py has limits.
        Sandbox(port=0, empty=True, data_plane=False, events=False, **INSTANT) as sandbox,
        LocalBind(ZONE) as bind,
    ):
        if True:
            started = time.monotonic()
            build_fleet(instances=size, eips=eips)
            path = Path(folder) / "bench.toml"
            path.write_text(config_text(bind, eips))
            config = config_module.load(path)
            os.environ.update(sandbox.environment())
            # moto lists thousands of instances slowly; its speed is not what is measured.
            session = AwsSession(region="us-east-1", read_timeout=600)
            registry = registry_from_config(config)
            zone_reads = _count_calls(registry, "read")
            engine = Engine(config=config, ec2=Ec2(session), registry=registry)
            first = engine.run(Reconcile()).prepared.plan
            setup_s = time.monotonic() - started

            before = session.counter.snapshot()
            dns_reads_before = zone_reads[0]
            prepared = engine.prepare(Reconcile())
            seen, plan = prepared.seen, prepared.plan
            after = session.counter.snapshot()
            calls = {k: after.get(k, 0) - before.get(k, 0) for k in after}
            calls = {k: v for k, v in calls.items() if v}
            dns_reads = zone_reads[0] - dns_reads_before
            cpu = []
            for _ in range(7):
                tick = time.process_time()
                planner.plan(config, seen)
                cpu.append((time.process_time() - tick) * 1000)
            records = len(seen.zone.zone.records) if seen.zone else 0
    reads = sum(v for k, v in calls.items() if not is_write(k)) + dns_reads
    writes = sum(v for k, v in calls.items() if is_write(k))
    plan_ms = statistics.median(cpu)
    return {
        "bench": "reconcile",
        "instances": size,
        "eips": eips,
        "records": records,
        "first_apply_changes": len(first.actions),
        "noop_changes": len(plan.actions),
        "read_calls": reads,
        "write_calls": writes,
        "calls": {**calls, "dns:AXFR": dns_reads},
        "plan_cpu_ms": round(plan_ms, 2),
        "setup_s": round(setup_s, 1),
        "bars": BARS,
        "pass": reads <= BARS["max_reads"]
        and writes <= BARS["max_writes"]
        and plan_ms < BARS["max_plan_cpu_ms"]
        and not plan.actions,
    }


def _count_calls(target: Any, method: str) -> list[int]:
    """Count calls of TARGET.METHOD (one zone read is one AXFR on BIND)."""
    count = [0]
    original = getattr(target, method)

    def counted(*args: Any, **kwargs: Any) -> Any:
        count[0] += 1
        return original(*args, **kwargs)

    setattr(target, method, counted)
    return count


def main() -> int:
    """Exit 1 when a size misses a bar, as every bench does."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="500,1000,2000,4000")
    args = parser.parse_args()
    missed = 0
    for size in (int(s) for s in args.sizes.split(",")):
        line = measure(size)
        missed += not line["pass"]
        print(json.dumps(line), flush=True)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
