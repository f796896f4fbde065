"""Shared fixtures: a fresh sandbox cloud per test, reached as a user reaches it."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from eipkeeper.sandbox import INSTANT, Sandbox


def aws_client(env: Mapping[str, str], service: str) -> Any:
    """A boto3 client for SERVICE where ENV, a user's exports, points: the endpoint, region,
    keys and (when there is one) session token."""
    return boto3.client(  # type: ignore[call-overload]
        service,
        endpoint_url=env["AWS_ENDPOINT_URL"],
        region_name=env["AWS_DEFAULT_REGION"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=env.get("AWS_SESSION_TOKEN"),
    )


@dataclass(frozen=True)
class Cloud:
    """A running sandbox, its written config, and the environment a user would export."""

    sandbox: Sandbox
    config: Path
    env: dict[str, str]

    def client(self, service: str) -> Any:
        return aws_client(self.env, service)

    def instance(self, name: str) -> dict[str, Any]:
        reply = self.client("ec2").describe_instances(
            Filters=[
                {"Name": "tag:Name", "Values": [name]},
                {"Name": "instance-state-name", "Values": ["running", "stopped", "pending"]},
            ]
        )
        return dict(reply["Reservations"][0]["Instances"][0])

    def configured(self, text: str, path: Path) -> Cloud:
        """This cloud, run with the config TEXT (written to PATH)."""
        path.write_text(text)
        return Cloud(
            sandbox=self.sandbox, config=path, env={**self.env, "EIPKEEPER_CONFIG": str(path)}
        )

    def address(self, ip: str) -> dict[str, Any] | None:
        for item in self.client("ec2").describe_addresses()["Addresses"]:
            if item["PublicIp"] == ip:
                return dict(item)
        return None


def swap_dns(text: str, table: str) -> str:
    """The config TEXT with its [dns] table replaced by TABLE (`LocalBind.config_toml()`, say;
    "" for none)."""
    return re.sub(r"\[dns\]\n(?:[^\[\n].*\n)*", table + "\n" if table else "", text)


def user_env(sandbox: Sandbox, config: Path, home: Path) -> dict[str, str]:
    """What a user of SANDBOX exports to run eipkeeper with CONFIG, and nothing of this machine's
    AWS set-up (HOME: where the AWS files would be, and are not)."""
    return {
        **sandbox.environment(),
        "EIPKEEPER_CONFIG": str(config),
        # Never reach for the instance metadata service: tests talk to loopback only.
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": str(home / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "no-aws-credentials"),
    }


CLOUD_REALISM: dict[str, Any] = {"consistency_lag": (0.0, 0.0), "throttle": True}
"""The `cloud` fixture's API: AWS's buckets, but no Describe lag. These tests set a world up
with their own writes and judge one command's outcome on it; under EC2's lag the command sees
the world of a few seconds before (a first run of tests/audit under `0-3s` failed so). The lag
is exercised where it is judged: tests/sandbox/test_realism.py, the model test (`0-8s`, 5% of
calls throttled besides) and bench/first_apply.py. Set `(0.0, 3.0)` here to run them all
under it."""


@pytest.fixture
def cloud(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Cloud]:
    """A fresh sandbox throttled by AWS's token buckets, as `eipkeeper sandbox` is; a test
    marked `@pytest.mark.instant("why")` gets an API that never throttles either."""
    instant = request.node.get_closest_marker("instant") is not None
    realism = INSTANT if instant else CLOUD_REALISM
    with Sandbox(port=0, association_delay=0.2, **realism) as sandbox:
        config = tmp_path / "eipkeeper.toml"
        sandbox.write_config(config)
        yield Cloud(sandbox=sandbox, config=config, env=user_env(sandbox, config, tmp_path))
