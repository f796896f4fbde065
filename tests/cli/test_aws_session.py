"""One AWS session per command, Route 53 included: region from --region, then the config,
then the AWS chain; its counter sees Route 53 calls; the commands work with no region but
--region (issue 9 found `--region eu-west-1` ending in NoRegionError)."""

from __future__ import annotations

from pathlib import Path

import pytest

from eipkeeper.cli.app import App
from tests.conftest import Cloud
from tests.support.cli import here


def regionless(cloud: Cloud, tmp_path: Path) -> Path:
    path = tmp_path / "regionless.toml"
    lines = cloud.config.read_text().splitlines()
    path.write_text("\n".join(line for line in lines if not line.startswith("region")) + "\n")
    return path


def app(config: Path, region: str | None) -> App:
    return App.from_options(
        config_path=config, output="json", region=region, verbose=0, log_format="text"
    )


def test_region_precedence(cloud: Cloud, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in cloud.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-south-1")
    with_region = tmp_path / "with-region.toml"
    with_region.write_text(
        cloud.config.read_text().replace('region = "us-east-1"', 'region = "eu-west-1"')
    )
    assert 'region = "eu-west-1"' in with_region.read_text()
    assert app(with_region, "us-west-2").session.region == "us-west-2"
    assert app(with_region, None).session.region == "eu-west-1"
    assert app(regionless(cloud, tmp_path), None).session.region == "ap-south-1"


def test_route53_goes_through_the_commands_session(
    cloud: Cloud, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in cloud.env.items():
        monkeypatch.setenv(name, value)
    the_app = app(cloud.config, None)
    registry = the_app.registry
    assert registry is not None
    registry.read()
    calls = the_app.session.counter.snapshot()
    assert calls.get("route53:ListResourceRecordSets", 0) >= 1
    assert calls.get("route53:ListHostedZonesByName") == 1
    assert registry.provider.session is the_app.session  # type: ignore[attr-defined]


def test_records_with_only_region_flag(cloud: Cloud, tmp_path: Path) -> None:
    env = {
        **cloud.env,
        "AWS_DEFAULT_REGION": None,
        "AWS_REGION": None,
        "EIPKEEPER_CONFIG": str(regionless(cloud, tmp_path)),
    }
    regionless_run = here("records", env=env)
    assert regionless_run.code == 2
    assert "no AWS region" in regionless_run.stderr
    # Route 53 (and EC2) reached with the region of --region alone: the zone read, a JSON list.
    ran = here("--region", "us-east-1", "-o", "json", "records", env=env)
    assert ran.code == 0, ran.stderr
    assert isinstance(ran.json(), list)
