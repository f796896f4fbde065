"""contrib/cloudformation/eipkeeper.yaml: cfn-lint passes, the role's statements are what
`eipkeeper iam-policy` prints for the same config, and the queue, rule and table fit the code
that uses them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from eipkeeper.cloud.aws import AwsSession
from eipkeeper.controller.events import DETAIL_TYPE
from eipkeeper.controller.lease import Lease
from tests.conftest import Cloud
from tests.support.cli import eipkeeper

ROOT = Path(__file__).resolve().parents[2]
HERE = ROOT / "contrib" / "cloudformation"
TEMPLATE = HERE / "eipkeeper.yaml"
EXAMPLE = HERE / "example.toml"
# What the stack's own queue and table are called once created (any account and names do).
QUEUE_ARN = "arn:aws:sqs:eu-west-1:123456789012:eipkeeper-EventsQueue-1A2B3C"
TABLE_ARN = "arn:aws:dynamodb:eu-west-1:123456789012:table/eipkeeper-LeaseTable-4D5E6F"
TEMPLATE_ARN = "arn:aws:ec2:eu-west-1:123456789012:launch-template/lt-0abc123"
ROLE_ARN = "arn:aws:iam::123456789012:role/mx-burst-instance"


def template() -> dict[str, Any]:
    loaded = yaml.safe_load(TEMPLATE.read_text())
    assert isinstance(loaded, dict)
    return loaded


def resolve(value: Any) -> Any:
    """The template's GetAtt of its queue and table, as CloudFormation resolves them."""
    if isinstance(value, dict) and set(value) == {"Ref"} and value["Ref"].startswith("Burst"):
        # The stack's parameters, as the operator would fill them in.
        return {"BurstLaunchTemplateArn": TEMPLATE_ARN, "BurstInstanceRoleArn": ROLE_ARN}[
            value["Ref"]
        ]
    if isinstance(value, dict) and set(value) == {"Fn::GetAtt"}:
        return {("EventsQueue", "Arn"): QUEUE_ARN, ("LeaseTable", "Arn"): TABLE_ARN}[
            tuple(value["Fn::GetAtt"])
        ]
    if isinstance(value, dict):
        return {k: resolve(v) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v) for v in value]
    return value


def test_cfn_lint_passes() -> None:
    ran = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), str(TEMPLATE)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr


def test_the_template_is_generated_from_the_current_code() -> None:
    ran = subprocess.run(
        [sys.executable, str(HERE / "generate.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr


def test_the_roles_statements_are_what_iam_policy_prints() -> None:
    role = template()["Resources"]["Role"]["Properties"]
    (inline,) = role["Policies"]
    printed = eipkeeper(
        "--config",
        str(EXAMPLE),
        "iam-policy",
        "--events-queue",
        QUEUE_ARN,
        "--lease-table",
        TABLE_ARN,
        "--template",
        f"mx-burst={TEMPLATE_ARN}",
        "--pass-role",
        ROLE_ARN,
        env={},
    )
    assert printed.code == 0, printed.stderr
    assert resolve(inline["PolicyDocument"]) == json.loads(printed.stdout)


def test_the_rule_feeds_the_queue_with_what_run_reads() -> None:
    resources = template()["Resources"]
    rule = resources["StateChangeRule"]["Properties"]
    assert rule["EventPattern"] == {"source": ["aws.ec2"], "detail-type": [DETAIL_TYPE]}
    assert [t["Arn"] for t in rule["Targets"]] == [{"Fn::GetAtt": ["EventsQueue", "Arn"]}]
    (statement,) = resources["EventsQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Action"] == "sqs:SendMessage"
    assert statement["Condition"] == {
        "ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": ["StateChangeRule", "Arn"]}}
    }


def test_the_lease_works_on_the_table_the_template_creates(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    table = template()["Resources"]["LeaseTable"]["Properties"]
    cloud.client("dynamodb").create_table(TableName="lease", **table)
    for key, value in cloud.env.items():
        monkeypatch.setenv(key, value)
    session = AwsSession(region=cloud.env["AWS_DEFAULT_REGION"])
    first = Lease(session, table="lease", name="mail-prod", holder="a")
    second = Lease(session, table="lease", name="mail-prod", holder="b")
    assert first.acquire() and not second.acquire()
    first.release()
    assert second.acquire(), "released: the other replica takes it at once"
