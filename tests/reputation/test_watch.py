"""An address listed by hand while it serves: `audit` reports it, and `run`'s metric shows it
within `recheck` (a fake clock drives the recheck; the lookups are real, on loopback)."""

from __future__ import annotations

from pathlib import Path

import pytest

from eipkeeper.cloud.aws import AwsSession
from eipkeeper.cloud.ec2 import Ec2
from eipkeeper.config import load
from eipkeeper.controller.engine import Engine
from eipkeeper.controller.loop import Controller
from eipkeeper.controller.observation import RunningIsHealthy
from eipkeeper.dns.dnsbl import ReputationWatch
from eipkeeper.dns.factory import registry_from_config
from tests.conftest import Cloud
from tests.support.cli import eipkeeper
from tests.support.clock import FakeClock


def _listed_gauge(loop: Controller, ip: str) -> float | None:
    return loop.metrics.registry.get_sample_value(
        "eipkeeper_address_listed", {"public_ip": ip, "zone": "dnsbl.example.test"}
    )


def _controller(cloud: Cloud, monkeypatch: pytest.MonkeyPatch, clock: FakeClock) -> Controller:
    """`run`'s loop on the sandbox with a fake clock and one ReputationWatch across rounds."""
    for key, value in cloud.env.items():
        monkeypatch.setenv(key, value)
    config = load(cloud.config)
    engine = Engine(
        config=config,
        ec2=Ec2(AwsSession(region=config.region)),
        registry=registry_from_config(config),
        health=RunningIsHealthy(),
        clock=clock,
        reputation=ReputationWatch(config=config),
    )
    return Controller(engine=engine, interval=30.0)


def test_a_listing_made_by_hand_reaches_audit_and_the_run_metric_within_recheck(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    reputation = load(cloud.config).service("mx").reputation
    assert reputation is not None and reputation.recheck == 60.0
    clock = FakeClock(now=1_000.0)
    loop = _controller(cloud, monkeypatch, clock)
    assert loop.one_round(raise_errors=True) == "ok"
    bound = {"Key": "eipkeeper:hostname", "Value": "mx1.example.test"}
    addresses = cloud.client("ec2").describe_addresses()["Addresses"]
    mx1 = next(a for a in addresses if bound in a["Tags"])
    ip = mx1["PublicIp"]
    assert _listed_gauge(loop, ip) == 0.0

    cloud.client("ec2").create_tags(
        Resources=[mx1["AllocationId"]], Tags=[{"Key": "sandbox:dnsbl", "Value": "listed"}]
    )
    audited = eipkeeper("-o", "json", "audit", env=cloud.env)
    assert audited.code == 0, audited.stderr  # a warning: the sample mx service has no spf
    listed = [f for f in audited.json() if f["kind"] == "dnsbl-listed"]
    assert [(f["severity"], f["subject"]) for f in listed] == [
        ("warning", f"{ip} (mx1.example.test)")
    ]
    assert "127.0.0.2" in listed[0]["detail"] and "by hand" in listed[0]["detail"]

    clock.advance(59.0)  # within recheck: the verdict from a minute ago stands
    assert loop.one_round(raise_errors=True) == "ok"
    assert _listed_gauge(loop, ip) == 0.0
    clock.advance(1.0)  # recheck reached: looked up again
    assert loop.one_round(raise_errors=True) == "ok"
    assert _listed_gauge(loop, ip) == 1.0


def test_an_unheld_address_is_looked_up_every_round_so_no_claim_rests_on_an_old_verdict(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reserved mx3 address is held by nobody: a burst may claim it any round, so a listing
    made after `run` cached it clean must count at once, not after `recheck` (the burst mail
    scenario launched a burst onto a listed mx3 that way)."""
    clock = FakeClock(now=1_000.0)
    loop = _controller(cloud, monkeypatch, clock)
    assert loop.one_round(raise_errors=True) == "ok"
    bound = {"Key": "eipkeeper:hostname", "Value": "mx3.example.test"}
    mx3 = next(
        a for a in cloud.client("ec2").describe_addresses()["Addresses"] if bound in a["Tags"]
    )
    assert not mx3.get("InstanceId")
    assert _listed_gauge(loop, mx3["PublicIp"]) == 0.0

    cloud.client("ec2").create_tags(
        Resources=[mx3["AllocationId"]], Tags=[{"Key": "sandbox:dnsbl", "Value": "listed"}]
    )
    clock.advance(1.0)  # well within recheck (60 s)
    assert loop.one_round(raise_errors=True) == "ok"
    assert _listed_gauge(loop, mx3["PublicIp"]) == 1.0
