"""Run eipkeeper's commands against the sandbox and keep the AWS calls they made, by operation,
as eipkeeper's call counter saw them (tests/iam/counting.py)."""

from __future__ import annotations

import json
import os
import subprocess
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.conftest import Cloud
from tests.iam.counting import ENV_VAR
from tests.support.cli import Ran, background, eipkeeper

ROOT = Path(__file__).resolve().parents[2]
COUNTING = "tests.iam.counting"


@dataclass
class CountedCli:
    """`eipkeeper ARGS` as a subprocess; every call of every run adds up in `calls`."""

    env: dict[str, str]
    scratch: Path
    calls: Counter[str] = field(default_factory=Counter)
    _runs: int = 0

    def _next(self) -> dict[str, str]:
        self._runs += 1
        return {
            **os.environ,
            **self.env,
            ENV_VAR: str(self.scratch / f"calls-{self._runs}.json"),
            "PYTHONPATH": str(ROOT),
        }

    def _collect(self, env: dict[str, str]) -> None:
        out = Path(env[ENV_VAR])
        if out.exists():
            self.calls.update(json.loads(out.read_text()))

    def __call__(self, *args: str) -> Ran:
        env = self._next()
        ran = eipkeeper(*args, env=env, module=COUNTING, cwd=ROOT, timeout=180)
        self._collect(env)
        return ran

    @contextmanager
    def background(self, *args: str) -> Iterator[subprocess.Popen[bytes]]:
        """`eipkeeper ARGS` (the controller) until the block ends, then SIGTERM, as systemd
        stops it; its calls are collected once it has exited."""
        env = self._next()
        log = self.scratch / f"run-{self._runs}.log"
        try:
            with background(*args, env=env, log=log, module=COUNTING, cwd=ROOT) as process:
                yield process
        finally:
            self._collect(env)


def fast_config(cloud: Cloud, path: Path) -> Path:
    """The sandbox's config with TTLs of 2 s, a drain margin of 1 s and a burst metric
    averaged over 10 s without cooldown, so that drains and bursts take seconds."""
    text = cloud.config.read_text()
    text = text.replace("ttl = 300", "ttl = 2").replace("ttl = 60", "ttl = 2")
    text = text.replace('cooldown = "1m"', 'cooldown = "0s"')
    text = text.replace('{ Service = "mx" } }', '{ Service = "mx" }, period = "10s" }')
    assert 'period = "10s"' in text and "ttl = 2" in text
    path.write_text(text + '\n[safety]\ndrain_margin = "1s"\n')
    return path


def put_load(cloud: Cloud, value: float, *, ahead: float = 0.0) -> None:
    """Report VALUE for the burst metric, stamped AHEAD seconds from now (past the 10 s
    period instead of waiting for it)."""
    datum: Any = {
        "MetricName": "QueueLength",
        "Dimensions": [{"Name": "Service", "Value": "mx"}],
        "Value": value,
        "Timestamp": datetime.now(UTC) + timedelta(seconds=ahead),
    }
    cloud.client("cloudwatch").put_metric_data(Namespace="Mail", MetricData=[datum])


def holder_names(cloud: Cloud, ec2: Any = None) -> dict[str, str]:
    """Pool hostname -> the Name of the instance its EIP is on (read with EC2, a client,
    or the sandbox's own credentials)."""
    ec2 = ec2 or cloud.client("ec2")
    names = {}
    for reservation in ec2.describe_instances()["Reservations"]:
        for item in reservation["Instances"]:
            tags = {t["Key"]: t["Value"] for t in item.get("Tags", [])}
            names[item["InstanceId"]] = tags.get("Name", "")
    found = {}
    for address in ec2.describe_addresses()["Addresses"]:
        tags = {t["Key"]: t["Value"] for t in address.get("Tags", [])}
        if address.get("InstanceId"):
            found[tags.get("eipkeeper:hostname", "")] = names[address["InstanceId"]]
    return found


def standby(cloud: Cloud, ec2: Any = None) -> str:
    """The Name of an mx instance that holds no EIP."""
    held = set(holder_names(cloud, ec2).values())
    spare = sorted({"mx-a", "mx-b", "mx-c"} - held)
    assert spare, f"no standby: every mx instance holds an address ({held})"
    return spare[0]
