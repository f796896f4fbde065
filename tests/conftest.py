"""Shared fixtures: a fresh sandbox cloud per test, reached as a user reaches it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from eipkeeper.sandbox import Sandbox


@dataclass(frozen=True)
class Cloud:
    """A running sandbox, its written config, and the environment a user would export."""

    sandbox: Sandbox
    config: Path
    env: dict[str, str]

    def client(self, service: str) -> Any:
        return boto3.client(  # type: ignore[call-overload]
            service,
            endpoint_url=self.env["AWS_ENDPOINT_URL"],
            region_name=self.env["AWS_DEFAULT_REGION"],
            aws_access_key_id=self.env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=self.env["AWS_SECRET_ACCESS_KEY"],
        )

    def instance(self, name: str) -> dict[str, Any]:
        reply = self.client("ec2").describe_instances(
            Filters=[
                {"Name": "tag:Name", "Values": [name]},
                {"Name": "instance-state-name", "Values": ["running", "stopped", "pending"]},
            ]
        )
        return dict(reply["Reservations"][0]["Instances"][0])

    def address(self, ip: str) -> dict[str, Any] | None:
        for item in self.client("ec2").describe_addresses()["Addresses"]:
            if item["PublicIp"] == ip:
                return dict(item)
        return None


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


@pytest.fixture
def cloud(tmp_path: Path) -> Iterator[Cloud]:
    with Sandbox(port=0, association_delay=0.2) as sandbox:
        config = tmp_path / "eipkeeper.toml"
        sandbox.write_config(config)
        yield Cloud(sandbox=sandbox, config=config, env=user_env(sandbox, config, tmp_path))
