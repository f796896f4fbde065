"""MTA-STS: every MX hostname the fleet publishes, burst hosts included, matches the policy
(RFC 8461 section 4.1: a wildcard only as the whole leftmost label)."""

from __future__ import annotations

from pathlib import Path

import pytest

from eipkeeper.audit import Scene, audit
from eipkeeper.audit_mta_sts import matches, parse_policy
from eipkeeper.cloud.ranges import Unavailable
from eipkeeper.config import Config
from eipkeeper.controller import planner
from tests.controller.world import World
from tests.support import builders
from tests.support.builders import MX_HOSTNAMES, SCAN, ZONE, eip, instance, mx

POLICY = "version: STSv1\r\nmode: enforce\r\nmx: mx1.{zone}\r\nmx: mx2.{zone}\r\nmax_age: 86400\r\n"


@pytest.mark.parametrize(
    ("pattern", "host", "expected"),
    [
        ("mx1.example.test", "MX1.example.test.", True),
        ("*.example.test", "mx3.example.test", True),
        ("*.example.test", "example.test", False),
        ("*.example.test", "a.mx3.example.test", False),
        ("mx*.example.test", "mx3.example.test", False),
        ("*.mx.example.test", "mx3.example.test", False),
    ],
)
def test_a_wildcard_stands_for_the_leftmost_label_only(
    pattern: str, host: str, expected: bool
) -> None:
    assert matches(pattern, host) is expected


def test_the_policy_file_gives_its_mode_and_patterns() -> None:
    policy = parse_policy(POLICY.format(zone=ZONE))
    assert policy.mode == "enforce"
    assert policy.patterns == (f"mx1.{ZONE}", f"mx2.{ZONE}")


def _config(tmp_path: Path) -> Config:
    (tmp_path / "mta-sts.txt").write_text("mode: enforce\n")
    mail = mx(*MX_HOSTNAMES, burst=builders.BURST, mta_sts='{ policy = "mta-sts.txt" }')
    return builders.config(mail, SCAN, source=str(tmp_path / "eipkeeper.toml"))


def test_a_burst_host_the_policy_forgets_is_critical(tmp_path: Path) -> None:
    config = _config(tmp_path)
    w = World(
        addresses=[eip(n, hostname=f"mx{n}.{ZONE}") for n in (1, 2, 3)],
        instances=[instance("mx-a", "mx", n=1), instance("mx-b", "mx", n=2)],
    )
    for _ in range(2):
        w.apply(planner.plan(config, w.observe()))

    def findings(policy: str) -> list[tuple[str, str]]:
        scene = Scene(
            observation=w.observe(),
            instances=(),
            ranges=Unavailable("test"),
            policies={"mx": policy},
        )
        report = audit(config, scene)
        return [(f.severity, f.subject) for f in report.findings if f.kind == "mta-sts-mismatch"]

    assert findings(POLICY.format(zone=ZONE)) == [("critical", f"mx3.{ZONE}")]
    assert findings(POLICY.format(zone=ZONE) + f"mx: *.{ZONE}\n") == []
