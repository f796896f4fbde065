"""First-apply bench (SPEC.md section 8): 1,000 claims and 2,000 records through AWS's limits.

On the sandbox with its API as EC2's (lagging Describe calls, AWS's token buckets, Route 53
PENDING after each change): 1,000 running instances and 1,000 pool EIPs, each bound to a
hostname and still on no instance, and an empty Route 53 zone. One `apply` claims every EIP
and publishes an A record and its ownership record per hostname (2,000 records).

Printed: the wall time of the apply; the least time the calls it made could take through
full buckets (each bucket serves its capacity at once, then its refill rate: 1,000
AssociateAddress at 50 and 5/s is at least 190 s); their ratio (bar: at most 1.15); the
throttling answers botocore saw and retried, and whether any reached the user (bar: none).

Run: .venv/bin/python bench/first_apply.py [--claims 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from eipkeeper import config as config_module
from eipkeeper.cloud.aws import AwsSession
from eipkeeper.cloud.ec2 import Ec2
from eipkeeper.cloud.limits import bucket_of, minimum_seconds
from eipkeeper.controller.engine import Engine
from eipkeeper.controller.intents import Reconcile
from eipkeeper.dns.factory import registry_from_config
from eipkeeper.errors import EipkeeperError
from eipkeeper.sandbox import Sandbox

ZONE = "first.test"
BARS = {"max_ratio": 1.15, "max_throttles_surfaced": 0}


def config_text(hostnames: int) -> str:
    names = ", ".join(f'"h{n}.{ZONE}"' for n in range(hostnames))
    return f"""
owner = "bench"
region = "us-east-1"

[dns]
provider = "route53"
zone = "{ZONE}"

[[service]]
name = "mx"
select = {{ tags = {{ Role = "mx" }} }}
addresses = "elastic"
hostnames = [{names}]
"""


def build_fleet(sandbox: Sandbox, *, claims: int) -> None:
    """Instances, pool EIPs (tagged, unassociated) and the zone, made through moto's backend:
    the world before the user came, not calls the user made (nor throttled)."""
    from moto.ec2.models import ec2_backends

    backend = ec2_backends["123456789012"]["us-east-1"]  # moto's default account
    image = next(iter(backend.amis))
    backend.run_instances(
        image,
        claims,
        None,
        [],
        is_instance_type_default=True,
        instance_type="t3.micro",
        tags={"instance": {"Role": "mx"}},
    )
    for n in range(claims):
        tags = {
            "eipkeeper:owner": "bench",
            "eipkeeper:service": "mx",
            "eipkeeper:hostname": f"h{n}.{ZONE}",
        }
        backend.allocate_address(domain="vpc", tags=tags)
    sandbox.client("route53").create_hosted_zone(Name=ZONE, CallerReference="first-apply")


def measure(claims: int) -> dict[str, Any]:
    with (
        tempfile.TemporaryDirectory() as folder,
        Sandbox(port=0, empty=True, data_plane=False, events=False) as sandbox,
    ):
        sandbox.realism.enabled = False
        build_fleet(sandbox, claims=claims)
        sandbox.realism.reset()  # full buckets, nothing in its lag: as a new day on AWS
        sandbox.realism.enabled = True
        path = Path(folder) / "bench.toml"
        path.write_text(config_text(claims))
        config = config_module.load(path)
        os.environ.update(sandbox.environment())
        session = AwsSession(region="us-east-1", read_timeout=600)
        registry = registry_from_config(config, session=session)
        engine = Engine(config=config, ec2=Ec2(session), registry=registry)
        surfaced = ""
        started = time.monotonic()
        try:
            report = engine.run(Reconcile()).report
        except EipkeeperError as exc:
            surfaced, report = str(exc), None
        wall = time.monotonic() - started
        served_throttles = sandbox.realism.throttled
    calls = session.counter.snapshot()
    buckets: Counter[str] = Counter()
    sizes = {}
    for key, count in calls.items():
        service, action = key.split(":", 1)
        bucket, size = bucket_of(service, action, {"Filter.1.Name": "x"})
        if bucket:
            buckets[bucket] += count
            sizes[bucket] = size
    floor = minimum_seconds(buckets, sizes)
    ratio = wall / floor if floor else float("inf")
    retried = session.throttled.snapshot()
    changes = report.done if report is not None else []
    return {
        "bench": "first_apply",
        "claims": claims,
        "records": 2 * claims,
        "changes": len(changes),
        "wall_s": round(wall, 1),
        "minimum_s": round(floor, 1),
        "ratio": round(ratio, 3),
        "slowest_bucket": max(buckets, key=lambda b: minimum_seconds({b: buckets[b]}, sizes)),
        "calls": dict(sorted(calls.items())),
        "throttled_retried": retried,
        "throttled_by_sandbox": served_throttles,
        "throttles_surfaced": 1 if "throttl" in surfaced.lower() else 0,
        "surfaced": surfaced,
        "limiter_waited_s": round(session.limiter.waited, 1),
        "bars": BARS,
        "pass": not surfaced and ratio <= BARS["max_ratio"],
    }


def main() -> int:
    """Exit 1 when a bar is missed, as every bench does."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--claims", type=int, default=1000)
    args = parser.parse_args()
    line = measure(args.claims)
    print(json.dumps(line), flush=True)
    return 0 if line["pass"] else 1


if __name__ == "__main__":
    sys.exit(main())
