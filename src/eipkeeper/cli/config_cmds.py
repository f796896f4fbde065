"""`check-config` and `iam-policy`."""

from __future__ import annotations

import json
import stat
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Literal

import click

from eipkeeper.cli.app import App, pass_app
from eipkeeper.errors import ConfigError, EipkeeperError, UsageError

if TYPE_CHECKING:
    from eipkeeper.config import Config

Level = Literal["ok", "warning", "error"]


@dataclass(frozen=True)
class Check:
    name: str
    level: Level
    detail: str


@click.command("check-config")
@click.option("--offline", is_flag=True, help="Skip the checks that need the network.")
@pass_app
def check_config(app: App, offline: bool) -> None:
    """Validate the config; every error names the file, line and key (exit 2).

    Beyond the file itself: the TSIG key file (it parses; readable by others than its owner
    is an error, by its group a warning), and unless --offline, that the zone can be read
    with that key (AXFR from the server) and updated (an UPDATE that changes nothing: its one
    prerequisite is that the zone's SOA exists), or that the Route 53 hosted zone exists and
    can be listed with the AWS credentials at hand.
    """
    try:
        config = app.config
    except ConfigError as exc:
        if app.output == "json":  # a script reads why on stdout too; stderr says it as ever
            problems = getattr(exc, "problems", [exc])
            checks = [Check("config", "error", p.message) for p in problems]
            click.echo(json.dumps(_json(app, checks), indent=2))
        raise
    services = ", ".join(f"{s.name} ({s.addresses})" for s in config.services) or "none"
    dns = f"{config.dns.provider} zone {config.dns.zone}" if config.dns else "no DNS"
    checks = [Check("config", "ok", f"owner {config.owner}; {dns}; services: {services}")]
    checks.extend(key_file_checks(config))
    if not offline and not any(c.level == "error" for c in checks):
        checks.extend(zone_checks(app))
    errors = [c for c in checks if c.level == "error"]
    if app.output == "json":
        click.echo(json.dumps(_json(app, checks), indent=2))
    elif not errors:
        click.echo(f"{app.config_path}: ok: {checks[0].detail}")
        for check in checks[1:]:
            click.echo(f"  {check.level}: {check.name}: {check.detail}")
    if errors:
        # One line per problem, errors first: the first line says what to fix.
        problems = [*errors, *(c for c in checks if c.level == "warning")]
        raise ConfigError(
            "\n".join(f"{c.level}: {c.name}: {c.detail}" for c in problems),
            path=str(app.config_path),
        )


def _json(app: App, checks: list[Check]) -> dict[str, object]:
    return {
        "config": str(app.config_path),
        "ok": not any(c.level == "error" for c in checks),
        "checks": [asdict(c) for c in checks],
    }


def key_file_checks(config: Config) -> list[Check]:
    """The TSIG key file: it parses, and who may read it.

    Readable by everyone on the machine is an error here: any local user could rewrite the
    zone with it. Readable by the file's group is a warning (a deliberate `bind` or service
    group is common), as certbot's RFC 2136 plugin warns. Commands other than check-config
    only warn, so a running controller is not stopped by a chmod.
    """
    if config.dns is None or config.dns.provider != "rfc2136":
        return []
    from eipkeeper.dns.tsig import parse_key

    path = config.relative(config.dns.tsig_key_file)
    name = "tsig key"
    try:
        # Read here rather than through load_key, whose warning about readers is ours to give.
        key = parse_key(path.read_text(encoding="utf-8"), source=str(path))
    except ConfigError as exc:
        return [Check(name, "error", exc.message)]
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not text"
        return [Check(name, "error", f"{path}: cannot read the TSIG key file: {reason}")]
    mode = stat.S_IMODE(path.stat().st_mode)
    what = f"{path}: {key.algorithm} key {key.name}, mode {mode:04o}"
    if mode & stat.S_IROTH:
        return [
            Check(
                name,
                "error",
                f"{what}: anyone on this machine can read the secret (chmod 600 {path})",
            )
        ]
    if mode & stat.S_IRGRP:
        return [
            Check(
                name,
                "warning",
                f"{what}: its group can read the secret (chmod 600 {path} unless meant)",
            )
        ]
    return [Check(name, "ok", what)]


def zone_checks(app: App) -> list[Check]:
    """The zone can be read as eipkeeper reads it: AXFR with the key, or Route 53's listing."""
    config = app.config
    if config.dns is None:
        return []
    registry = app.registry
    assert registry is not None
    provider = registry.provider
    how = "AXFR with the TSIG key" if config.dns.provider == "rfc2136" else "Route 53 listing"
    try:
        zone = provider.read_zone()
    except EipkeeperError as exc:
        return [Check("zone", "error", f"{config.dns.zone}: {how}: {exc.message}")]
    where = ""
    zone_id = getattr(provider, "zone_id", "")
    if zone_id:
        where = f" (hosted zone {zone_id})"
    checks = [
        Check("zone", "ok", f"{config.dns.zone}{where}: {how}: {len(zone.records)} record sets")
    ]
    check_update = getattr(provider, "check_update", None)
    if check_update is not None:
        # Reading proves the transfer right only: Knot's acl or PowerDNS's dnsupdate=no let
        # the key read and refuse its first update, at `apply`.
        try:
            check_update()
        except EipkeeperError as exc:
            return [*checks, Check("update", "error", f"{config.dns.zone}: {exc.message}")]
        checks.append(
            Check("update", "ok", f"{config.dns.zone}: an UPDATE that changes nothing was taken")
        )
    return checks


@click.command("iam-policy")
@click.option(
    "--guard", is_flag=True, help="Print the deny policy (SCP or boundary) for everyone else."
)
@click.option("--role-arn", default="", help="--guard: the IAM role eipkeeper runs as.")
@click.option("--events-queue", default="", help="Narrow to this queue (URL or ARN, as to run).")
@click.option("--lease-table", default="", help="Narrow to this lease table (name or ARN).")
@click.option(
    "--template",
    "templates",
    multiple=True,
    metavar="NAME=ARN",
    help="A configured launch template's ARN (else read from the account), e.g. for a stack.",
)
@click.option(
    "--pass-role",
    "roles",
    multiple=True,
    metavar="ARN",
    help="With --template: a role its instance profile holds (the only roles passed).",
)
@pass_app
def iam_policy(
    app: App,
    guard: bool,
    role_arn: str,
    events_queue: str,
    lease_table: str,
    templates: tuple[str, ...],
    roles: tuple[str, ...],
) -> None:
    """Print the least-privilege IAM policy (JSON) for the features the config uses.

    With --guard, a deny policy instead: nobody but --role-arn may release, disassociate or
    reassociate this owner's Elastic IPs (attach it as an SCP or a permissions boundary).
    """
    from eipkeeper.cloud import iam

    if guard:
        if not role_arn:
            # A placeholder ARN pasted as printed would deny eipkeeper its own failovers.
            raise UsageError(
                "iam-policy --guard needs --role-arn ARN: the role eipkeeper runs as, the one "
                "principal the guard lets change this owner's addresses"
            )
        document = iam.guard(app.config, role_arn=role_arn)
    elif role_arn:
        raise UsageError("--role-arn is for --guard (the principal the guard exempts)")
    else:
        from eipkeeper.cloud import iam_facts

        # A malformed flag is a usage error before anything is read from the account.
        iam.policy(app.config, events_queue=events_queue, lease_table=lease_table)
        # The templates' ARNs and roles, and the zone's id, are the account's: read them.
        given = iam_facts.given_templates(app.config, templates, roles)
        document = iam.policy(
            app.config,
            events_queue=events_queue,
            lease_table=lease_table,
            templates=given
            if given is not None
            else iam_facts.read_templates(app.session, app.config),
            zone_id=iam_facts.read_zone_id(app.session, app.config),
        )
    click.echo(json.dumps(document, indent=2))


COMMANDS = [check_config, iam_policy]
