"""Instances of the sandbox as eipkeeper sees them, for the health tests."""

from __future__ import annotations

from eipkeeper.cloud.ec2 import instance_from_api
from eipkeeper.model import Instance
from tests.conftest import Cloud


def from_cloud(cloud: Cloud, *names: str) -> list[Instance]:
    return [instance_from_api(cloud.instance(name)) for name in names]


def tag_answer(cloud: Cloud, instance: Instance, answer: str) -> None:
    """`sandbox:answer=no` silences INSTANCE on the data plane; `yes` brings it back."""
    cloud.client("ec2").create_tags(
        Resources=[instance.instance_id], Tags=[{"Key": "sandbox:answer", "Value": answer}]
    )
