"""`audit`: findings about the zone and the account, exit 3 when one reaches --fail-on."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, cast

import click

from eipkeeper.cli.app import App, pass_app
from eipkeeper.cli.render import Column, render_rows
from eipkeeper.errors import ChangesPending, ConfigError

if TYPE_CHECKING:  # imported in the command: `audit --help` does not pay for boto3
    from eipkeeper.audit import Report, Scene, Severity
    from eipkeeper.cloud import ranges
    from eipkeeper.controller.observation import HealthSource

FINDING_COLUMNS = [
    Column("severity"),
    Column("kind"),
    Column("subject"),
    Column("detail"),
    Column("why"),
    Column("fix"),
    Column("monthly_cost", justify="right"),
]


def cloud_ranges(app: App) -> ranges.Ranges:
    from eipkeeper import config as config_module
    from eipkeeper.cloud import ranges

    config = app.config
    local = config.audit.cloud_ranges
    try:
        return ranges.load(
            local_copy=config.relative(local) if local else None,
            endpoint=app.session.endpoint,
            cache=ranges.default_cache(),
        )
    except ConfigError as exc:
        # Say where the copy was named: file and line of `cloud_ranges`.
        text = config.source.read_text(encoding="utf-8") if config.source.is_file() else ""
        raise ConfigError(
            exc.message,
            path=str(config.source),
            line=config_module.locate(text, ("audit", "cloud_ranges")),
        ) from None


def default_health(app: App) -> HealthSource:
    """The services' own checks, probed once (a first result decides, as for the controller)."""
    from eipkeeper.health.monitor import HealthMonitor

    return HealthMonitor(config=app.config)


def look(app: App, *, health: HealthSource) -> Scene:
    """One read for the audit: the controller's observation, plus every live instance of the
    account (a record or an EIP may be on an instance of no service)."""
    from eipkeeper.audit import Scene
    from eipkeeper.controller.reading import observe

    seen = observe(
        config=app.config, ec2=app.ec2, registry=app.registry, health=health, now=time.time()
    )
    return Scene(
        observation=seen,
        instances=tuple(app.ec2.instances()),
        ranges=cloud_ranges(app),
        policies=mta_sts_policies(app),
    )


def mta_sts_policies(app: App) -> dict[str, str]:
    """Each `mta_sts` service's policy file, read from disk (nothing is fetched)."""
    policies = {}
    for service in app.config.services:
        if service.mta_sts is None:
            continue
        path = app.config.relative(service.mta_sts.policy)
        try:
            policies[service.name] = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read the MTA-STS policy {path}: {exc}") from None
    return policies


def render(report: Report, app: App) -> None:
    render_rows(
        [f.as_dict() for f in report.findings],
        FINDING_COLUMNS,
        app.output,
        footer=report.summary,
    )
    if app.output != "table":
        # stdout stays one object per line (or one JSON array); the summary goes beside it.
        click.echo(f"audit: {report.summary}", err=True)


@click.command("audit")
@click.option(
    "--fail-on",
    type=click.Choice(["warning", "critical"]),
    default="critical",
    show_default=True,
    help="Exit 3 when a finding is at least this severe.",
)
@pass_app
def audit_command(app: App, fail_on: str) -> None:
    """Dangling records, SPF entries and MX hosts on addresses the account does not hold,
    idle addresses and their monthly cost, and more (every finding: docs/reference.md).

    A record is judged dangling only when its address lies in the cloud's published ranges
    (`[audit] cloud_ranges`, else a cached download of AWS's ip-ranges.json; in the sandbox
    127.1.0.0-127.254.255.255, what it hands out), so an on-premises address is never called
    dangling.
    """
    from eipkeeper.audit import audit

    report = audit(app.config, look(app, health=default_health(app)))
    render(report, app)
    if report.reaches(cast("Severity", fail_on)):
        raise ChangesPending()


COMMANDS = [audit_command]
