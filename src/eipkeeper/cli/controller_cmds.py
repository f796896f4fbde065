"""`plan`, `apply` and `run`: one round of the controller, reviewed, then done; or the loop.

The engine, boto3 and the health monitor are imported inside the commands, so that
`eipkeeper plan --help` does not pay for them (tests/cli/test_startup.py)."""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
from typing import TYPE_CHECKING

import click

from eipkeeper.cli.app import App, pass_app
from eipkeeper.cli.params import CHECKSUM, DURATION, GRACE, TEXT
from eipkeeper.durations import format_duration
from eipkeeper.errors import SafetyRefusal, UsageError
from eipkeeper.logs import get_logger

if TYPE_CHECKING:
    from eipkeeper.controller.observation import HealthSource
    from eipkeeper.controller.round import Round

say = get_logger("eipkeeper.run")


def make_round(app: App, *, health: HealthSource | None = None) -> Round:
    """A round whose health comes from the services' checks (probed here, or by RUN's
    monitor), or from the running state where no service has a check."""
    from eipkeeper.cli.plans import health_source
    from eipkeeper.controller.round import Round
    from eipkeeper.dns.dnsbl import ReputationWatch

    if health is None:
        health = health_source(app.config)
    return Round(
        config=app.config,
        ec2=app.ec2,
        registry=app.registry,
        health=health,
        reputation=ReputationWatch(config=app.config),
    )


@click.command("plan")
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 3 when apply would change something, 0 when it would change nothing (even "
    "with things left alone); 1 and 2 keep their meaning.",
)
@pass_app
def plan_command(app: App, detailed_exitcode: bool) -> None:
    """What `apply` would do, grouped by service, with a summary line and a checksum.

    The summary also names what the plan leaves alone and why, e.g. "no changes; 1 thing left
    alone: MX example.com is marked by nobody, not mail-prod (S4)", and counts the other
    findings (an unbacked MX host with no standby, a load metric that reported nothing).

    With --detailed-exitcode, exit 3 means "apply has work to do", as terraform's does: things
    left alone do not make it 3, since apply cannot change them, and a CI job that applies on
    3 would never settle. Review them in the summary; `eipkeeper audit` lists them too
    (foreign-owner, unbacked-mx). A plan that apply would refuse (S1, S6, S7) still exits 3
    and says so on stderr.
    """
    from eipkeeper.cli.plans import show_plan
    from eipkeeper.controller import safety

    seen, plan = make_round(app).plan()
    show_plan(app, plan)
    try:
        safety.check(app.config, seen, plan)
    except SafetyRefusal as refusal:
        click.echo(f"warning: apply would be {refusal.message}", err=True)
    if detailed_exitcode and not plan.empty:
        sys.exit(3)


@click.command("apply")
@click.option("--yes", is_flag=True, help="Apply without asking.")
@click.option(
    "--force", is_flag=True, help="Lift S7 (the blast radius) alone; never S1 to S6 or S10."
)
@click.option(
    "--checksum",
    type=CHECKSUM,
    default=None,
    help="Apply only if the plan still has this checksum.",
)
@pass_app
def apply_command(app: App, yes: bool, force: bool, checksum: str | None) -> None:
    """Make the fleet and the zone agree with the config, in order, verifying each step."""
    from eipkeeper.cli.plans import plan_data, show_plan, step_line
    from eipkeeper.controller import safety

    round_ = make_round(app)
    if not yes:
        seen, plan = round_.plan()
        if plan.empty:
            click.echo(plan.summary)
            return
        show_plan(app, plan)
        safety.check(app.config, seen, plan, force=force)
        app.confirm(f"Apply these {len(plan.actions)} changes?", yes=False)
        checksum = checksum or plan.checksum
    plan, report = round_.apply(force=force, checksum=checksum or "", on_step=step_line)
    if app.output == "json":
        body = {**plan_data(plan), "done": report.done}
        click.echo(json.dumps(body, indent=2))
    else:
        click.echo(f"applied: {plan.summary}" if not plan.empty else plan.summary)


@click.command("run")
@click.option(
    "--interval", type=DURATION, default="30s", show_default=True, help="Time between full rounds."
)
@click.option(
    "--min-interval",
    type=DURATION,
    default="1s",
    show_default=True,
    help="Least time between the end of a round and the start of the next: events and health "
    "changes that arrive meanwhile are served by one round.",
)
@click.option("--once", is_flag=True, help="Run one round and exit with its outcome.")
@click.option(
    "--events-queue", type=TEXT, default=None, help="SQS queue URL fed by EC2 state-change events."
)
@click.option(
    "--metrics-port",
    type=click.IntRange(0, 65535),
    default=0,
    help="Serve Prometheus metrics on this port (0: none).",
)
@click.option("--metrics-address", default="127.0.0.1", show_default=True)
@click.option(
    "--lease-table", type=TEXT, default=None, help="DynamoDB table for the replicas' lease."
)
@click.option(
    "--lease-ttl", type=DURATION, default="30s", show_default=True, help="How long a lease lasts."
)
@click.option(
    "--switch-grace",
    type=GRACE,
    default=None,
    help="After an EIP moves onto an instance, failed probes of it do not count for this long "
    "(EC2's data plane follows a move in seconds to minutes); default: each check's "
    "switch_grace (60s).",
)
@pass_app
def run_command(
    app: App,
    interval: float,
    min_interval: float,
    once: bool,
    events_queue: str | None,
    metrics_port: int,
    metrics_address: str,
    lease_table: str | None,
    lease_ttl: float,
    switch_grace: float | None,
) -> None:
    """The controller: reconcile every interval and on EC2 events; with a lease, one acts.

    It says on stderr (in --log-format, without -v) when it starts, each round that changed
    something or failed, and each failover and burst instance by name."""
    from eipkeeper.cli.plans import health_source
    from eipkeeper.controller.events import EventQueue
    from eipkeeper.controller.lease import Lease
    from eipkeeper.controller.loop import Controller, replica_name
    from eipkeeper.controller.observation import RunningIsHealthy
    from eipkeeper.controller.round import Round
    from eipkeeper.health.monitor import HealthMonitor

    every, least, ttl, grace = interval, min_interval, lease_ttl, switch_grace
    if least > every:
        raise UsageError(
            f"--min-interval {format_duration(least)} is longer than "
            f"--interval {format_duration(every)}"
        )
    if grace is not None:
        # One grace for the monitor (in memory) and the planner (the EIP's associated-at tag).
        app.use_config(app.config.with_switch_grace(grace))
    else:
        grace = max((s.check.switch_grace for s in app.config.services if s.check), default=60.0)
    speak()
    controller = Controller(
        round=make_round(app, health=RunningIsHealthy()),
        interval=every,
        min_interval=least,
        calls=app.session.counter,
    )
    health = health_source(app.config, on_change=controller.on_health_change, switch_grace=grace)
    assert isinstance(controller.round, Round)
    controller.round.health = health
    if isinstance(health, HealthMonitor):
        controller.monitor = health
    if events_queue:
        controller.events = EventQueue(app.session, events_queue)
    replica = replica_name()
    if lease_table:
        controller.lease = Lease(
            app.session, table=lease_table, name=app.config.owner, holder=replica, ttl=ttl
        )
    if metrics_port:
        try:
            controller.metrics.serve(metrics_port, metrics_address)
        except OSError as exc:
            raise UsageError(
                f"--metrics-port {metrics_port}: cannot listen on {metrics_address}:"
                f"{metrics_port} ({exc.strerror or exc})"
            ) from None
    dns = app.config.dns
    say.info(
        "run.started",
        config=str(app.config_path),
        owner=app.config.owner,
        once=once,
        interval=format_duration(every),
        min_interval=format_duration(least),
        lease=f"{lease_table} ttl={format_duration(ttl)} replica={replica}"
        if lease_table
        else "off",
        events=events_queue or "off",
        metrics=f"{metrics_address}:{metrics_port}" if metrics_port else "off",
        health="probes" if isinstance(health, HealthMonitor) else "running-state",
        dns=f"{dns.provider} {dns.zone}" if dns else "off",
    )
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, controller.request_stop)
        signal.signal(signal.SIGINT, controller.request_stop)
    controller.run(once=once)
    say.info("run.stopped", owner=app.config.owner)


def speak() -> None:
    """`run` talks without -v: its own lines (logger `eipkeeper.run`) at info level."""
    run_logger = logging.getLogger("eipkeeper.run")
    if logging.getLogger("eipkeeper").getEffectiveLevel() > logging.INFO:
        run_logger.setLevel(logging.INFO)


COMMANDS = [plan_command, apply_command, run_command]
