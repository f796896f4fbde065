"""`check-config` and `iam-policy`."""

from __future__ import annotations

import json

import click

from eipkeeper.cli.app import App, pass_app
from eipkeeper.cloud import iam
from eipkeeper.errors import UsageError


@click.command("check-config")
@pass_app
def check_config(app: App) -> None:
    """Validate the config; every error names the file, line and key (exit 2)."""
    config = app.config
    services = ", ".join(f"{s.name} ({s.addresses})" for s in config.services) or "none"
    dns = f"{config.dns.provider} zone {config.dns.zone}" if config.dns else "no DNS"
    click.echo(f"{app.config_path}: ok: owner {config.owner}; {dns}; services: {services}")


@click.command("iam-policy")
@click.option(
    "--guard", is_flag=True, help="Print the deny policy (SCP or boundary) for everyone else."
)
@click.option("--role-arn", default="", help="--guard: the IAM role eipkeeper runs as.")
@click.option("--events-queue", default="", help="Narrow to this queue (URL or ARN, as to run).")
@click.option("--lease-table", default="", help="Narrow to this lease table (name or ARN).")
@pass_app
def iam_policy(app: App, guard: bool, role_arn: str, events_queue: str, lease_table: str) -> None:
    """Print the least-privilege IAM policy (JSON) for the features the config uses.

    With --guard, a deny policy instead: nobody but --role-arn may release, disassociate or
    reassociate this owner's Elastic IPs (attach it as an SCP or a permissions boundary).
    """
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
        document = iam.policy(app.config, events_queue=events_queue, lease_table=lease_table)
    click.echo(json.dumps(document, indent=2))


COMMANDS = [check_config, iam_policy]
