"""The bounds of the printed policies, statement by statement: what no sandbox can check
(moto evaluates neither resources nor conditions), pinned here against the AWS semantics the
statements rely on."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec
import pytest

from eipkeeper import config as config_module
from eipkeeper.cloud import iam
from eipkeeper.config import Config
from tests.iam.conditions import Check, allows
from tests.support.cli import eipkeeper

CONFIG = """\
owner = "mail-prod"
region = "eu-west-1"

[dns]
provider = "route53"
zone = "example.com"

[[service]]
name = "mx"
select = { tags = { Role = "mx", Env = "prod" } }
addresses = "elastic"
hostnames = ["mx1.example.com", "mx2.example.com"]
replace_failed = true
burst = { launch_template = "mx-burst", hostnames = ["mx2.example.com"], \
metric = { namespace = "Mail", name = "QueueLength" }, scale_out_above = 500 }

[[service]]
name = "scan-pool"
select = { tags = { Role = "scan" } }
addresses = "dynamic"
hostnames = ["scan.example.com"]
"""
ROLE = "arn:aws:iam::123456789012:role/eipkeeper"


@pytest.fixture
def config(tmp_path: Path) -> Config:
    path = tmp_path / "eipkeeper.toml"
    path.write_text(CONFIG)
    return config_module.load(path)


def by_sid(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    statements = document["Statement"]
    sids = [s["Sid"] for s in statements]
    assert len(sids) == len(set(sids)), "Sids are unique"
    return {s["Sid"]: s for s in statements}


def test_every_change_to_an_eip_needs_the_owner_tag(config: Config) -> None:
    statements = by_sid(iam.policy(config))
    owner = {"aws:ResourceTag/eipkeeper:owner": "mail-prod"}
    for statement in statements.values():
        on_eips = "elastic-ip" in json.dumps(statement.get("Resource", ""))
        if not on_eips:
            continue
        condition = statement["Condition"]
        if statement["Sid"] == "AllocateOwnedAddresses":
            assert condition == {"StringEquals": {"aws:RequestTag/eipkeeper:owner": "mail-prod"}}
        elif statement["Sid"] == "TagAddressesOnAllocate":
            assert condition == {"StringEquals": {"ec2:CreateAction": "AllocateAddress"}}
        else:
            assert condition["StringEquals"] == owner, statement["Sid"]
    assert statements["TagOwnAddresses"]["Condition"]["ForAllValues:StringLike"] == {
        "aws:TagKeys": ["eipkeeper:*"]
    }


def test_instances_are_bounded_by_the_services_selector_tags(config: Config) -> None:
    statements = by_sid(iam.policy(config))
    mx = {"aws:ResourceTag/Env": "prod", "aws:ResourceTag/Role": "mx"}
    associate = statements["AssociateMxInstances"]
    assert associate["Action"] == ["ec2:AssociateAddress"]
    assert associate["Resource"] == "arn:aws:ec2:eu-west-1:*:instance/*"
    assert associate["Condition"] == {"StringEquals": mx}
    assert "AssociateScanPoolInstances" not in statements, "a dynamic service holds no EIP"
    assert statements["DrainScanPoolInstances"]["Condition"] == {
        "StringEquals": {"aws:ResourceTag/Role": "scan"}
    }
    launch = statements["LaunchMxInstances"]["Condition"]["StringEquals"]
    assert launch == {
        "aws:RequestTag/Env": "prod",
        "aws:RequestTag/Role": "mx",
        "aws:RequestTag/eipkeeper:owner": "mail-prod",
    }
    assert statements["LaunchFromTemplates"]["NotResource"] == associate["Resource"]
    # No statement lets AssociateAddress reach every instance.
    for statement in statements.values():
        if "ec2:AssociateAddress" in statement["Action"] and "instance/" in str(
            statement.get("Resource")
        ):
            assert "Condition" in statement, statement["Sid"]


def test_ptr_services_add_the_address_attribute_calls(config: Config) -> None:
    before = iam.allowed_actions(iam.policy(config))
    assert not {a for a in before if "AddressAttribute" in a}, "no ptr service, no PTR calls"
    mx = msgspec.structs.replace(config.services[0], ptr=True)
    with_ptr = msgspec.structs.replace(config, services=[mx, *config.services[1:]])
    statements = by_sid(iam.policy(with_ptr))
    assert "ec2:DescribeAddressesAttribute" in statements["ReadFleet"]["Action"]
    assert "ec2:ModifyAddressAttribute" in statements["ChangeOwnAddresses"]["Action"]
    assert "ec2:ResetAddressAttribute" in statements["ChangeOwnAddresses"]["Action"]


def test_events_queue_and_lease_table_narrow_their_statements(config: Config) -> None:
    statements = by_sid(
        iam.policy(
            config,
            events_queue="https://sqs.eu-west-1.amazonaws.com/123456789012/eipkeeper-events",
            lease_table="eipkeeper-lease",
        )
    )
    assert statements["ReadEvents"]["Resource"] == (
        "arn:aws:sqs:eu-west-1:123456789012:eipkeeper-events"
    )
    assert statements["Lease"]["Resource"] == "arn:aws:dynamodb:eu-west-1:*:table/eipkeeper-lease"
    assert statements["Lease"]["Action"] == ["dynamodb:DeleteItem", "dynamodb:PutItem"]


def test_the_policy_fits_an_inline_role_policy(config: Config) -> None:
    # IAM's quota for a role's inline policies: 10,240 characters, whitespace not counted.
    compact = json.dumps(iam.policy(config), separators=(",", ":"))
    assert len(compact) < 10_240


def test_guard_denies_everyone_but_the_role(config: Config) -> None:
    statements = by_sid(iam.guard(config, role_arn=ROLE))
    assert {s["Effect"] for s in statements.values()} == {"Deny"}
    addresses = statements["KeepOwnerAddresses"]
    assert set(addresses["Action"]) == {
        "ec2:AssociateAddress",
        "ec2:DisassociateAddress",
        "ec2:ReleaseAddress",
    }
    assert addresses["Resource"] == "arn:aws:ec2:*:*:elastic-ip/*"
    for statement in statements.values():
        assert statement["Condition"]["ArnNotLike"] == {"aws:PrincipalArn": ROLE}
    assert addresses["Condition"]["StringEquals"] == {
        "aws:ResourceTag/eipkeeper:owner": "mail-prod"
    }
    holders = statements["KeepMxHolders"]
    assert holders["Action"] == ["ec2:AssociateAddress"]
    assert holders["Resource"] == [
        "arn:aws:ec2:*:*:instance/*",
        "arn:aws:ec2:*:*:network-interface/*",
    ], "association through a holder's network interface is kept off too"
    assert holders["Condition"]["StringEquals"] == {
        "aws:ResourceTag/Env": "prod",
        "aws:ResourceTag/Role": "mx",
    }
    assert "KeepScanPoolHolders" not in statements
    # The scanners' own addresses are in DNS: nobody else stops or terminates one (S2).
    published = statements["KeepScanPoolPublished"]
    assert published["Action"] == ["ec2:StopInstances", "ec2:TerminateInstances"]
    assert published["Condition"]["StringEquals"] == {"aws:ResourceTag/Role": "scan"}


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--guard"], "needs --role-arn"),
        (["--guard", "--role-arn", "eipkeeper"], "not an IAM role ARN"),
        (
            ["--guard", "--role-arn", "arn:aws:sts::123456789012:assumed-role/eipkeeper/i-1"],
            "not the sts assumed-role session",
        ),
        (["--role-arn", ROLE], "--role-arn is for --guard"),
        (["--events-queue", "eipkeeper-events"], "neither an SQS queue URL"),
        (["--lease-table", "a b"], "not a DynamoDB table name"),
    ],
)
def test_bad_options_are_usage_errors(tmp_path: Path, args: list[str], words: str) -> None:
    path = tmp_path / "eipkeeper.toml"
    path.write_text(CONFIG)
    ran = eipkeeper("iam-policy", *args, env={"EIPKEEPER_CONFIG": str(path)})
    assert ran.code == 2, ran.stderr
    assert words in ran.stderr and len(ran.stderr.splitlines()) == 1
    assert "Traceback" not in ran.stderr


def test_the_conditions_refuse_what_eipkeeper_must_not_do(config: Config) -> None:
    document = iam.policy(config)
    eip = "arn:aws:ec2:eu-west-1:123456789012:elastic-ip/eipalloc-1"
    instance = "arn:aws:ec2:eu-west-1:123456789012:instance/i-1"
    ours = {"aws:ResourceTag/eipkeeper:owner": ["mail-prod"]}
    mx = {"aws:ResourceTag/Role": ["mx"], "aws:ResourceTag/Env": ["prod"]}
    admitted = [
        Check("ec2:AssociateAddress", eip, ours),
        Check("ec2:AssociateAddress", instance, mx),
        Check("ec2:CreateTags", instance, {**mx, "aws:TagKeys": ["eipkeeper:drain"]}),
        Check("ec2:ReleaseAddress", eip, ours),
    ]
    refused = [
        Check("ec2:AssociateAddress", eip, {"aws:ResourceTag/eipkeeper:owner": ["other"]}),
        Check("ec2:ReleaseAddress", eip, {}),
        Check("ec2:AssociateAddress", instance, {"aws:ResourceTag/Role": ["web"]}),
        Check("ec2:AssociateAddress", instance, {"aws:ResourceTag/Role": ["mx"]}),
        Check("ec2:CreateTags", instance, {**mx, "aws:TagKeys": ["Role"]}),
        Check("ec2:TerminateInstances", instance, {"aws:ResourceTag/Role": ["web"]}),
        Check("ec2:RunInstances", "arn:aws:ec2:eu-west-1:123456789012:instance/*", {}),
    ]
    assert [c for c in admitted if not allows(document, c)] == []
    assert [c for c in refused if allows(document, c)] == []
