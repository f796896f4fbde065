"""The least-privilege IAM policy for what the config uses (`eipkeeper iam-policy`), and the
guard (`iam-policy --guard`) that keeps everyone else off this owner's Elastic IPs.

The allow policy names every action the code calls (tests/iam runs the commands against the
sandbox and checks each call the call counter saw against it) and bounds each one as far as
EC2 lets a policy bound it:

- an EIP is changed only when it carries `eipkeeper:owner=<owner>` (S4 in IAM as in code), and
  allocated only with that tag in the request;
- an address is associated with an instance only when the instance carries the selector tags
  of an elastic service; instances are stopped and terminated only when a service selects
  them, and launched only with the selector and owner tags in the request;
- tags written later are only eipkeeper's own keys (`eipkeeper:*`), so the policy cannot be
  used to pull an instance into a service by giving it the selector tags.

- instances are launched only from the configured launch templates (`ec2:LaunchTemplate`),
  and the only roles passed are those of the instance profiles those templates name;
- DynamoDB and SQS appear only for the lease table and events queue given as flags, Route 53
  only for the zone the config names (its id read from the account when not given).

What EC2 cannot bound: Describe calls (no resource-level permissions), and the network
interface of an association (interfaces carry no service tags; the EIP side stays bounded).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from eipkeeper.config import Config, ServiceConfig
from eipkeeper.errors import UsageError
from eipkeeper.model import TAG_OWNER

if TYPE_CHECKING:
    from eipkeeper.cloud.iam_facts import Template

VERSION = "2012-10-17"
OWN_TAG_KEYS = "eipkeeper:*"

# API operations whose IAM action has another name (the Service Authorization Reference:
# SQS batch calls are authorized as their single-message action).
_ACTION_OF_OPERATION = {
    "sqs:DeleteMessageBatch": "sqs:DeleteMessage",
    "sqs:SendMessageBatch": "sqs:SendMessage",
    "sqs:ChangeMessageVisibilityBatch": "sqs:ChangeMessageVisibility",
}
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}|\*):role/[\w+=,.@/*-]+$")
_QUEUE_URL = re.compile(r"^https?://(?P<host>[^/]+)/(?P<account>\d{12})/(?P<name>[\w-]+)/?$")
_SQS_HOST = re.compile(r"^sqs\.(?P<region>[a-z0-9-]+)\.amazonaws\.com")


def iam_action(operation: str) -> str:
    """The IAM action that authorizes OPERATION (`service:Operation`, as the call counter
    keys calls)."""
    return _ACTION_OF_OPERATION.get(operation, operation)


def _statement(
    sid: str, actions: list[str], resources: Any = "*", *, effect: str = "Allow", **extra: Any
) -> dict[str, Any]:
    return {
        "Sid": sid,
        "Effect": effect,
        "Action": sorted(set(actions)),
        "Resource": resources,
        **extra,
    }


def _sid(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.split("-"))


def _selected(service: ServiceConfig, key: str = "aws:ResourceTag") -> dict[str, str]:
    return {f"{key}/{k}": v for k, v in sorted(service.select.tags.items())}


class Arns:
    """ARNs of one region (or all), in the `aws` partition."""

    def __init__(self, region: str) -> None:
        self.region = region or "*"

    def ec2(self, kind: str) -> str:
        return f"arn:aws:ec2:{self.region}:*:{kind}/*"


def queue_arn(queue: str, *, region: str = "") -> str:
    """The ARN of the queue `run --events-queue` reads: from its URL, or an ARN as given."""
    if queue.startswith("arn:"):
        return queue
    match = _QUEUE_URL.match(queue)
    if match is None:
        raise UsageError(
            f"--events-queue {queue!r} is neither an SQS queue URL "
            "(https://sqs.REGION.amazonaws.com/ACCOUNT/NAME) nor a queue ARN"
        )
    host = _SQS_HOST.match(match["host"])
    where = host["region"] if host else (region or "*")
    return f"arn:aws:sqs:{where}:{match['account']}:{match['name']}"


def table_arn(table: str, *, region: str = "") -> str:
    """The ARN of the lease table `run --lease-table` uses: from its name, or as given."""
    if table.startswith("arn:"):
        return table
    if not re.fullmatch(r"[\w.-]{3,255}", table):
        raise UsageError(f"--lease-table {table!r} is not a DynamoDB table name")
    return f"arn:aws:dynamodb:{region or '*'}:*:table/{table}"


def policy(
    config: Config,
    *,
    events_queue: str = "",
    lease_table: str = "",
    templates: Mapping[str, Template] | None = None,
    zone_id: str = "",
) -> dict[str, Any]:
    """The allow policy for CONFIG. EVENTS_QUEUE and LEASE_TABLE (as given to `run`) add the
    SQS and DynamoDB statements for that queue and table (none without them). TEMPLATES (from
    `iam_facts.read_templates`) bound launches to the configured templates and iam:PassRole to
    their instance profiles' roles; a template not in it can be launched from by no one.
    ZONE_ID: the hosted zone the config names by `zone` alone."""
    arns = Arns(config.region)
    owned = {f"aws:ResourceTag/{TAG_OWNER}": config.owner}
    own_keys = {"ForAllValues:StringLike": {"aws:TagKeys": [OWN_TAG_KEYS]}}
    eip = arns.ec2("elastic-ip")
    # Reverse DNS (`ptr = true`): read, set, and reset before a release (EC2 refuses to
    # release an address whose PTR is set: InvalidAddress.PtrSet).
    ptr = any(s.ptr for s in config.services)
    # FCrDNS (`reputation.fcrdns`) reads the PTR EC2 serves for each pool address.
    fcrdns = any(s.reputation and s.reputation.fcrdns for s in config.services)
    statements = [
        _statement(
            "ReadFleet",
            ["ec2:DescribeAddresses", "ec2:DescribeInstances"]
            + (["ec2:DescribeAddressesAttribute"] if ptr or fcrdns else []),
        ),
        _statement(
            "AllocateOwnedAddresses",
            ["ec2:AllocateAddress"],
            eip,
            Condition={"StringEquals": {f"aws:RequestTag/{TAG_OWNER}": config.owner}},
        ),
        _statement(
            "TagAddressesOnAllocate",
            ["ec2:CreateTags"],
            eip,
            Condition={"StringEquals": {"ec2:CreateAction": "AllocateAddress"}},
        ),
        _statement(
            "ChangeOwnAddresses",
            ["ec2:AssociateAddress", "ec2:DisassociateAddress", "ec2:ReleaseAddress"]
            + (["ec2:ModifyAddressAttribute", "ec2:ResetAddressAttribute"] if ptr else []),
            eip,
            Condition={"StringEquals": owned},
        ),
        _statement(
            "TagOwnAddresses",
            ["ec2:CreateTags", "ec2:DeleteTags"],
            eip,
            Condition={"StringEquals": owned, **own_keys},
        ),
        # A disassociation is bounded by the EIP (the owner's); whoever holds it may lose it.
        _statement(
            "DisassociateFromHolders",
            ["ec2:DisassociateAddress"],
            [arns.ec2("instance"), arns.ec2("network-interface")],
        ),
    ]
    elastic = [s for s in config.services if s.addresses == "elastic"]
    if elastic:
        # EC2 authorizes the interface of an association too; interfaces carry no service
        # tags, so this one is bounded only through the EIP statement above.
        statements.append(
            _statement(
                "AssociateThroughInterfaces",
                ["ec2:AssociateAddress"],
                arns.ec2("network-interface"),
            )
        )
    for service in config.services:
        name = _sid(service.name)
        selected = {"StringEquals": _selected(service)}
        if service.addresses == "elastic":
            statements.append(
                _statement(
                    f"Associate{name}Instances",
                    ["ec2:AssociateAddress"],
                    arns.ec2("instance"),
                    Condition=selected,
                )
            )
        statements.append(
            _statement(
                f"Drain{name}Instances",
                ["ec2:StopInstances", "ec2:TerminateInstances"],
                arns.ec2("instance"),
                Condition=selected,
            )
        )
        statements.append(
            _statement(
                f"Tag{name}Instances",
                ["ec2:CreateTags"],
                arns.ec2("instance"),
                Condition={**selected, **own_keys},
            )
        )
        if service.burst is not None:
            statements.extend(_launch_statements(config, service, arns))
    launching = _launching(config, templates or {})
    if any(s.burst is not None for s in config.services):
        statements.extend(_launch_common(arns))
        statements.extend(_pass_roles(templates or {}))
    if any(s.burst is not None and s.burst.metric is not None for s in config.services):
        statements.append(_statement("ReadLoadMetric", ["cloudwatch:GetMetricStatistics"]))
    statements.extend(_dns_statements(config, zone_id))
    if events_queue:
        statements.append(
            _statement(
                "ReadEvents",
                ["sqs:ReceiveMessage", "sqs:DeleteMessage"],
                queue_arn(events_queue, region=config.region),
            )
        )
    if lease_table:
        statements.append(
            _statement(
                "Lease",
                ["dynamodb:PutItem", "dynamodb:DeleteItem"],
                table_arn(lease_table, region=config.region),
            )
        )
    for statement in statements:
        if statement["Action"] == ["ec2:RunInstances"]:
            statement.setdefault("Condition", {}).update(launching)
    return {"Version": VERSION, "Statement": statements}


def _launching(config: Config, templates: Mapping[str, Template]) -> dict[str, Any]:
    """The condition every RunInstances statement carries: from a configured template."""
    names = sorted({s.burst.launch_template for s in config.services if s.burst is not None})
    arns = [templates[n].arn for n in names if n in templates]
    # No template read: a launch matches no template ARN, so none is allowed.
    return {"ArnEquals": {"ec2:LaunchTemplate": arns or ["arn:aws:ec2:none:none:none"]}}


def _launch_statements(config: Config, service: ServiceConfig, arns: Arns) -> list[Any]:
    """Bursts and replacements: the instance is launched only with the service's selector tags
    and the owner tag in the request (executor.Executor._launch writes both)."""
    request = {
        **_selected(service, "aws:RequestTag"),
        f"aws:RequestTag/{TAG_OWNER}": config.owner,
    }
    return [
        _statement(
            f"Launch{_sid(service.name)}Instances",
            ["ec2:RunInstances"],
            arns.ec2("instance"),
            Condition={"StringEquals": request},
        )
    ]


def _launch_common(arns: Arns) -> list[Any]:
    return [
        # Everything else a launch from a template touches (image, subnet, volumes, security
        # groups, the template itself ...); the instance is bounded by the statements above.
        {
            "Sid": "LaunchFromTemplates",
            "Effect": "Allow",
            "Action": ["ec2:RunInstances"],
            "NotResource": arns.ec2("instance"),
        },
        _statement(
            "TagOnLaunch",
            ["ec2:CreateTags"],
            f"arn:aws:ec2:{arns.region}:*:*/*",
            Condition={"StringEquals": {"ec2:CreateAction": "RunInstances"}},
        ),
    ]


def _pass_roles(templates: Mapping[str, Template]) -> list[Any]:
    """iam:PassRole for the roles of the templates' instance profiles alone, only to EC2."""
    roles = sorted({role for t in templates.values() for role in t.roles})
    if not roles:
        return []
    return [
        _statement(
            "PassLaunchTemplateRoles",
            ["iam:PassRole"],
            roles,
            Condition={"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}},
        )
    ]


def _dns_statements(config: Config, found_id: str) -> list[Any]:
    if config.dns is None or config.dns.provider != "route53":
        return []
    zone_id = config.dns.hosted_zone_id.rsplit("/", maxsplit=1)[-1]
    statements = [
        _statement(
            "Route53Zone",
            ["route53:ListResourceRecordSets", "route53:ChangeResourceRecordSets"],
            f"arn:aws:route53:::hostedzone/{zone_id or found_id.rsplit('/', 1)[-1] or '*'}",
        ),
        _statement("Route53Changes", ["route53:GetChange"], "arn:aws:route53:::change/*"),
    ]
    if not zone_id:
        # The zone is found by name (Route53Provider._find_zone) when the config has no id.
        statements.append(_statement("Route53FindZone", ["route53:ListHostedZonesByName"]))
    return statements


def guard(config: Config, *, role_arn: str) -> dict[str, Any]:
    """A deny policy, for an SCP or a permissions boundary: nobody but ROLE_ARN releases,
    disassociates or reassociates an EIP tagged with this owner, or changes eipkeeper's tags
    on it (removing the owner tag would otherwise lift the first statement).

    AssociateAddress is denied twice: on the owner's EIPs (a reassociation moves the EIP away)
    and on the instances of elastic services (another EIP associated with a holder displaces
    the owner's EIP from it, FACTS.md). The instances of dynamic services, whose own addresses
    managed records name, are not stopped or terminated by anyone else (S2).
    """
    if not _ROLE_ARN.match(role_arn):
        raise UsageError(
            f"--role-arn {role_arn!r} is not an IAM role ARN "
            "(arn:aws:iam::ACCOUNT:role/NAME; for an assumed role give the role, "
            "not the sts assumed-role session)"
        )
    others = {"ArnNotLike": {"aws:PrincipalArn": role_arn}}
    owned = {"StringEquals": {f"aws:ResourceTag/{TAG_OWNER}": config.owner}}
    eip = "arn:aws:ec2:*:*:elastic-ip/*"
    statements = [
        _statement(
            "KeepOwnerAddresses",
            ["ec2:ReleaseAddress", "ec2:DisassociateAddress", "ec2:AssociateAddress"],
            eip,
            effect="Deny",
            Condition={**owned, **others},
        ),
        _statement(
            "KeepOwnerTags",
            ["ec2:CreateTags", "ec2:DeleteTags"],
            eip,
            effect="Deny",
            Condition={
                **owned,
                "ForAnyValue:StringLike": {"aws:TagKeys": [OWN_TAG_KEYS]},
                **others,
            },
        ),
    ]
    for service in config.services:
        if service.addresses != "elastic":
            # A dynamic service's instances are named by managed records (their own public
            # IPs): stopping or terminating one behind eipkeeper's back breaks S2.
            statements.append(
                _statement(
                    f"Keep{_sid(service.name)}Published",
                    ["ec2:StopInstances", "ec2:TerminateInstances"],
                    "arn:aws:ec2:*:*:instance/*",
                    effect="Deny",
                    Condition={"StringEquals": _selected(service), **others},
                )
            )
            continue
        statements.append(
            _statement(
                f"Keep{_sid(service.name)}Holders",
                ["ec2:AssociateAddress"],
                # Through the instance, or through its network interface (AssociateAddress
                # with NetworkInterfaceId): interfaces that carry the selector tags, as a
                # launch template's TagSpecifications for network-interface give them.
                ["arn:aws:ec2:*:*:instance/*", "arn:aws:ec2:*:*:network-interface/*"],
                effect="Deny",
                Condition={"StringEquals": _selected(service), **others},
            )
        )
    return {"Version": VERSION, "Statement": statements}


def allowed_actions(document: dict[str, Any]) -> set[str]:
    """Every action an Allow statement of DOCUMENT names."""
    found: set[str] = set()
    for statement in document["Statement"]:
        if statement["Effect"] == "Allow":
            actions = statement["Action"]
            found.update([actions] if isinstance(actions, str) else actions)
    return found
