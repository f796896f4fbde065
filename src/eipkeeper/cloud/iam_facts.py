"""What the least-privilege policy needs to know from the account (`eipkeeper iam-policy`):
the configured launch templates (their ARN, and the roles of the instance profile they name,
the only roles eipkeeper may pass) and the Route 53 hosted zone when the config gives no id.

Read once, by whoever prints the policy (an administrator's credentials); eipkeeper's own role
never needs these reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eipkeeper.cloud.aws import AwsSession, aws_errors
from eipkeeper.config import Config
from eipkeeper.errors import NotFoundError, UsageError


@dataclass(frozen=True)
class Template:
    """A configured launch template as the policy names it."""

    name: str
    arn: str
    roles: tuple[str, ...] = ()
    """The ARNs of the roles of the instance profile its default version names (none: no
    iam:PassRole is needed to launch from it)."""


def configured_templates(config: Config) -> list[str]:
    return sorted({s.burst.launch_template for s in config.services if s.burst is not None})


def given_templates(
    config: Config, pairs: tuple[str, ...], roles: tuple[str, ...]
) -> dict[str, Template] | None:
    """The templates named on the command line (`--template NAME=ARN`, `--pass-role ARN`), or
    None when none is: then they are read from the account."""
    if not pairs:
        if roles:
            raise UsageError("--pass-role goes with --template NAME=ARN")
        return None
    found: dict[str, Template] = {}
    for pair in pairs:
        name, _, arn = pair.partition("=")
        if not name or not arn.startswith("arn:") or ":launch-template/" not in arn:
            raise UsageError(f"--template {pair!r}: expected NAME=arn:...:launch-template/lt-...")
        found[name] = Template(name, arn, tuple(sorted(roles)))
    missing = sorted(set(configured_templates(config)) - set(found))
    if missing:
        raise UsageError(
            f"--template: give every configured launch template ({', '.join(missing)})"
        )
    return found


def read_templates(session: AwsSession, config: Config) -> dict[str, Template]:
    """Each configured launch template, found by name in the session's region."""
    names = configured_templates(config)
    if not names:
        return {}
    ec2 = session.client("ec2")
    found: dict[str, Template] = {}
    for name in names:
        with aws_errors("DescribeLaunchTemplates"):
            try:
                listed = ec2.describe_launch_templates(LaunchTemplateNames=[name])
            except Exception as exc:  # botocore's ClientError for an unknown name
                if "NotFound" in str(exc) or "does not exist" in str(exc):
                    raise NotFoundError(
                        f"launch template {name} (burst.launch_template) does not exist in "
                        f"{session.region}"
                    ) from None
                raise
        template = listed["LaunchTemplates"][0]
        template_id = template["LaunchTemplateId"]
        with aws_errors("DescribeLaunchTemplateVersions"):
            versions = ec2.describe_launch_template_versions(
                LaunchTemplateId=template_id, Versions=["$Default"]
            )["LaunchTemplateVersions"]
        data = versions[0].get("LaunchTemplateData", {}) if versions else {}
        arn = f"arn:aws:ec2:{session.region}:{session.account()}:launch-template/{template_id}"
        found[name] = Template(name, arn, _profile_roles(session, data.get("IamInstanceProfile")))
    return found


def _profile_roles(session: AwsSession, profile: Any) -> tuple[str, ...]:
    if not profile:
        return ()
    name = profile.get("Name") or str(profile.get("Arn", "")).rsplit("/", 1)[-1]
    with aws_errors("GetInstanceProfile"):
        reply = session.client("iam").get_instance_profile(InstanceProfileName=name)
    return tuple(sorted(r["Arn"] for r in reply["InstanceProfile"].get("Roles", [])))


def read_zone_id(session: AwsSession, config: Config) -> str:
    """The Route 53 hosted zone the config names by `zone` alone ("" for rfc2136 or when
    `hosted_zone_id` is set: the policy uses that)."""
    dns = config.dns
    if dns is None or dns.provider != "route53" or dns.hosted_zone_id:
        return ""
    from eipkeeper.dns.route53 import Route53Provider

    return Route53Provider.from_config(config, session=session).zone_id
