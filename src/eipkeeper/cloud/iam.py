"""The least-privilege IAM policy for what the config uses (`eipkeeper iam-policy`).

Changes to EIPs and instances are limited by condition to resources tagged with this owner
(S4 in IAM as well as in code); reads cannot be limited by tag in EC2, so they are on "*".
"""

from __future__ import annotations

from typing import Any

from eipkeeper.config import Config
from eipkeeper.model import TAG_OWNER


def _statement(sid: str, actions: list[str], resources: Any = "*", **extra: Any) -> dict[str, Any]:
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Action": sorted(actions),
        "Resource": resources,
        **extra,
    }


def policy(config: Config) -> dict[str, Any]:
    owned = {"StringEquals": {f"aws:ResourceTag/{TAG_OWNER}": config.owner}}
    statements = [
        _statement(
            "ReadFleet",
            ["ec2:DescribeAddresses", "ec2:DescribeInstances", "ec2:DescribeTags"],
        ),
        _statement(
            "AllocateTaggedAddresses",
            ["ec2:AllocateAddress"],
            Condition={"StringEquals": {f"aws:RequestTag/{TAG_OWNER}": config.owner}},
        ),
        _statement(
            "TagOnAllocate",
            ["ec2:CreateTags"],
            "arn:aws:ec2:*:*:elastic-ip/*",
            Condition={"StringEquals": {"ec2:CreateAction": "AllocateAddress"}},
        ),
        _statement(
            "ChangeOwnAddresses",
            [
                "ec2:AssociateAddress",
                "ec2:DisassociateAddress",
                "ec2:ReleaseAddress",
                "ec2:CreateTags",
                "ec2:DeleteTags",
            ],
            "arn:aws:ec2:*:*:elastic-ip/*",
            Condition=owned,
        ),
        _statement(
            "AssociateWithServiceInstances",
            ["ec2:AssociateAddress", "ec2:CreateTags", "ec2:DeleteTags"],
            ["arn:aws:ec2:*:*:instance/*", "arn:aws:ec2:*:*:network-interface/*"],
        ),
        _statement("Events", ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueUrl"]),
        _statement(
            "Lease",
            ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
            "arn:aws:dynamodb:*:*:table/*",
        ),
    ]
    for service in config.services:
        # Stop and terminate (drain, bursts) only the instances the service selects.
        selected = {f"aws:ResourceTag/{k}": v for k, v in sorted(service.select.tags.items())}
        statements.append(
            _statement(
                f"Drain{service.name.title().replace('-', '')}Instances",
                ["ec2:StopInstances", "ec2:TerminateInstances"],
                "arn:aws:ec2:*:*:instance/*",
                Condition={"StringEquals": selected},
            )
        )
    if config.dns is not None and config.dns.provider == "route53":
        statements.append(
            _statement(
                "Route53Zone",
                ["route53:ListResourceRecordSets", "route53:ChangeResourceRecordSets"],
                f"arn:aws:route53:::hostedzone/{config.dns.hosted_zone_id or '*'}",
            )
        )
        statements.append(
            _statement("Route53Lookup", ["route53:ListHostedZonesByName", "route53:GetChange"])
        )
    if any(s.burst for s in config.services):
        statements.append(
            _statement(
                "Burst",
                [
                    "ec2:RunInstances",
                    "ec2:DescribeLaunchTemplates",
                    "ec2:DescribeLaunchTemplateVersions",
                    "cloudwatch:GetMetricStatistics",
                    "iam:PassRole",
                ],
            )
        )
    return {"Version": "2012-10-17", "Statement": statements}
