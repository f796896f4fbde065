"""`check-config` and `iam-policy`."""

from __future__ import annotations

import json

import click

from eipkeeper.cli.app import App, pass_app
from eipkeeper.cloud import iam


@click.command("check-config")
@pass_app
def check_config(app: App) -> None:
    """Validate the config; every error names the file, line and key (exit 2)."""
    config = app.config
    services = ", ".join(f"{s.name} ({s.addresses})" for s in config.services) or "none"
    dns = f"{config.dns.provider} zone {config.dns.zone}" if config.dns else "no DNS"
    click.echo(f"{app.config_path}: ok: owner {config.owner}; {dns}; services: {services}")


@click.command("iam-policy")
@pass_app
def iam_policy(app: App) -> None:
    """Print the least-privilege IAM policy (JSON) for the features the config uses."""
    click.echo(json.dumps(iam.policy(app.config), indent=2))


COMMANDS = [check_config, iam_policy]
