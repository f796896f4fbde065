"""Every policy `iam-policy` prints passes cloudsplaining (a maintained IAM linter on PyPI):
no privilege escalation, no resource exposure, for the sandbox's sample config, a minimal one
and a full one (burst from a template with an instance profile, Route 53 found by name, the
events queue and the lease table), and for the guard.

The linter is run so that a condition is no bound (`flag_conditional_statements`): the old
policy's iam:PassRole on `*` "only to EC2" was a privilege-escalation path with RunInstances
from any template, AMI or type, and it failed here; a resource ARN is a bound.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cloudsplaining.command.scan_policy_file import scan_policy

from eipkeeper.cloud import iam
from eipkeeper.config import load
from tests.conftest import Cloud
from tests.support.cli import here

HIGH_RISK = ("PrivilegeEscalation", "ResourceExposure")
TABLE = "eipkeeper-lease"

MINIMAL = """\
owner = "tiny"
region = "us-east-1"
[dns]
provider = "route53"
zone = "example.test"
[[service]]
name = "mx"
select = { tags = { Role = "mx" } }
addresses = "elastic"
hostnames = ["mx1.example.test"]
"""

FULL = """\
owner = "mail-prod"
region = "us-east-1"
[dns]
provider = "route53"
zone = "example.test"
[[service]]
name = "mx"
select = { tags = { Role = "mx" } }
addresses = "elastic"
hostnames = ["mx1.example.test", "mx2.example.test", "mx3.example.test"]
mx = { domain = "example.test", preference = 10 }
ptr = true
replace_failed = true
burst = { launch_template = "full-burst", hostnames = ["mx3.example.test"], max = 2, \
metric = { namespace = "Mail", name = "QueueLength" }, scale_out_above = 500, \
scale_in_below = 50 }
[[service]]
name = "scan"
select = { tags = { Role = "scan" } }
addresses = "dynamic"
hostnames = ["scan.example.test"]
ttl = 60
"""


def findings(document: dict[str, Any]) -> dict[str, Any]:
    found = scan_policy(document, flag_conditional_statements=True)
    listed = {risk: (found.get(risk) or {}).get("findings") for risk in HIGH_RISK}
    return {risk: items for risk, items in listed.items() if items}


def printed(cloud: Cloud, config: Path, *args: str) -> dict[str, Any]:
    ran = here("iam-policy", *args, env={**cloud.env, "EIPKEEPER_CONFIG": str(config)})
    assert ran.code == 0, ran.stderr
    document: dict[str, Any] = json.loads(ran.stdout)
    return document


def profiled_template(cloud: Cloud) -> str:
    """A launch template whose instances run with an instance profile: the role to pass."""
    role = cloud.client("iam").create_role(
        RoleName="mx-instance",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "ec2.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )["Role"]["Arn"]
    cloud.client("iam").create_instance_profile(InstanceProfileName="mx-instance")
    cloud.client("iam").add_role_to_instance_profile(
        InstanceProfileName="mx-instance", RoleName="mx-instance"
    )
    image = cloud.client("ec2").describe_images()["Images"][0]["ImageId"]
    cloud.client("ec2").create_launch_template(
        LaunchTemplateName="full-burst",
        LaunchTemplateData={
            "ImageId": image,
            "InstanceType": "t3.large",
            "IamInstanceProfile": {"Name": "mx-instance"},
        },
    )
    return str(role)


def test_the_sample_policy_and_guard_pass_the_linter(cloud: Cloud) -> None:
    document = printed(cloud, cloud.config)
    assert findings(document) == {}
    assert "iam:PassRole" not in iam.allowed_actions(document), "its template has no profile"
    assert not [a for a in iam.allowed_actions(document) if a.startswith(("sqs:", "dynamodb:"))]
    role = "arn:aws:iam::123456789012:role/eipkeeper"
    assert findings(printed(cloud, cloud.config, "--guard", "--role-arn", role)) == {}


def test_a_minimal_policy_passes_the_linter(cloud: Cloud, tmp_path: Path) -> None:
    config = tmp_path / "minimal.toml"
    config.write_text(MINIMAL)
    document = printed(cloud, config)
    assert findings(document) == {}
    zone = cloud.client("route53").list_hosted_zones()["HostedZones"][0]["Id"].split("/")[-1]
    statements = {s["Sid"]: s for s in document["Statement"]}
    assert statements["Route53Zone"]["Resource"] == f"arn:aws:route53:::hostedzone/{zone}"
    assert not [a for a in iam.allowed_actions(document) if "RunInstances" in a]


def test_a_full_policy_passes_and_passes_only_the_templates_role(
    cloud: Cloud, tmp_path: Path
) -> None:
    role = profiled_template(cloud)
    config = tmp_path / "full.toml"
    config.write_text(FULL)
    queue = cloud.sandbox.events_queue_url
    document = printed(cloud, config, "--events-queue", queue, "--lease-table", TABLE)
    assert findings(document) == {}
    statements = {s["Sid"]: s for s in document["Statement"]}
    assert statements["PassLaunchTemplateRoles"]["Resource"] == [role]
    template = cloud.client("ec2").describe_launch_templates(LaunchTemplateNames=["full-burst"])
    arn = (
        "arn:aws:ec2:us-east-1:123456789012:launch-template/"
        + template["LaunchTemplates"][0]["LaunchTemplateId"]
    )
    launches = [s for s in document["Statement"] if s["Action"] == ["ec2:RunInstances"]]
    assert launches
    for statement in launches:
        assert statement["Condition"]["ArnEquals"] == {"ec2:LaunchTemplate": [arn]}
    assert statements["Lease"]["Resource"].endswith(f":table/{TABLE}")


def test_the_old_pass_role_on_any_role_fails_the_linter(tmp_path: Path) -> None:
    """The planted check: PassRole on `*` (bounded by a condition only) beside RunInstances."""
    config = tmp_path / "full.toml"
    config.write_text(FULL)
    document = iam.policy(load(config))
    document["Statement"].append(
        {
            "Sid": "OldPassRole",
            "Effect": "Allow",
            "Action": ["iam:PassRole"],
            "Resource": "*",
            "Condition": {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}},
        }
    )
    assert "PrivilegeEscalation" in findings(document) or "ResourceExposure" in findings(document)


@pytest.mark.parametrize("flags", [(), ("--lease-table", TABLE)])
def test_no_table_no_dynamodb(cloud: Cloud, flags: tuple[str, ...]) -> None:
    document = printed(cloud, cloud.config, *flags)
    dynamo = [a for a in iam.allowed_actions(document) if a.startswith("dynamodb:")]
    assert bool(dynamo) == bool(flags)
