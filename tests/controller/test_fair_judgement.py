"""S6, judged fairly, as a user meets it: `apply --yes` and at once `plan --detailed-exitcode`
on a sandbox with BIND and the default association delay (2 s), with both cores busy. The
holders were just associated and the data plane has not caught up: the plan must not move
their addresses back and forth nor launch replacements (exit 0, every time)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from eipkeeper.sandbox import INSTANT, Sandbox
from eipkeeper.sandbox.bind import LocalBind
from tests.conftest import Cloud, swap_dns, user_env
from tests.support.cli import eipkeeper

HOG = "import time\nend = time.monotonic() + 600\nwhile time.monotonic() < end:\n    pass\n"


@pytest.fixture
def busy() -> Iterator[None]:
    """Both cores busy for the length of the test (bounded: each hog stops by itself)."""
    hogs = [subprocess.Popen([sys.executable, "-c", HOG]) for _ in range(2)]
    try:
        yield
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()


@pytest.fixture
def slow_cloud(tmp_path: Path) -> Iterator[Cloud]:
    """The sandbox as `eipkeeper sandbox --bind` runs it: association delay 2 s, a real BIND."""
    # Instant: it times probes against the switch grace; what Describe shows is not judged here.
    with (
        Sandbox(port=0, association_delay=2.0, **INSTANT) as sandbox,
        LocalBind("example.test") as bind,
    ):
        config = tmp_path / "eipkeeper.toml"
        sandbox.write_config(config)
        config.write_text(swap_dns(config.read_text(), bind.config_toml()))
        yield Cloud(sandbox=sandbox, config=config, env=user_env(sandbox, config, tmp_path))


@pytest.mark.timeout(900)
def test_a_plan_right_after_an_apply_proposes_nothing_on_a_busy_machine(
    slow_cloud: Cloud, busy: None
) -> None:
    ec2 = slow_cloud.client("ec2")
    for attempt in range(10):
        if attempt:
            # Behind eipkeeper's back: the pool leaves its holders, so that this apply
            # associates again and the plan runs while the data plane still switches.
            for address in ec2.describe_addresses()["Addresses"]:
                if address.get("AssociationId"):
                    ec2.disassociate_address(AssociationId=address["AssociationId"])
        applied = eipkeeper("apply", "--yes", env=slow_cloud.env)
        assert applied.code == 0, (attempt, applied.stderr)
        assert "claim" in applied.stderr, (attempt, applied.stderr)
        planned = eipkeeper("plan", "--detailed-exitcode", env=slow_cloud.env)
        assert planned.code == 0, (attempt, planned.stdout, planned.stderr)
        assert "launch" not in planned.stdout and "move" not in planned.stdout
