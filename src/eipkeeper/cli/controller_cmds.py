"""`plan`, `apply` and `run`: one round of the controller, reviewed, then done; or the loop.

The engine, boto3 and the health monitor are imported inside the commands, so that
`eipkeeper plan --help` does not pay for them (tests/cli/test_startup.py)."""

from __future__ import annotations

import json
import logging
import signal
import threading

import click

from eipkeeper.cli.app import App, pass_app
from eipkeeper.cli.params import CHECKSUM, DURATION, GRACE, TEXT
from eipkeeper.durations import format_duration
from eipkeeper.errors import ChangesPending, UsageError
from eipkeeper.logs import get_logger

say = get_logger("eipkeeper.run")


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
    from eipkeeper.cli.plans import make_engine, show_plan
    from eipkeeper.controller.intents import Reconcile

    prepared = make_engine(app).prepare(Reconcile())
    plan = prepared.plan
    show_plan(app, plan)
    if prepared.refusal is not None:
        click.echo(f"warning: apply would be {prepared.refusal.message}", err=True)
    if detailed_exitcode and not plan.empty:
        raise ChangesPending()


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
    from eipkeeper.cli.plans import make_engine, plan_data, show_plan, step_hooks
    from eipkeeper.controller.intents import Reconcile

    engine = make_engine(app)
    if not yes:
        prepared = engine.prepare(Reconcile(), force=force)
        plan = prepared.plan
        if plan.empty:
            click.echo(plan.summary)
            return
        show_plan(app, plan)
        prepared.checked()
        app.confirm(f"Apply these {len(plan.actions)} changes?", yes=False)
        checksum = checksum or plan.checksum
    outcome = engine.run(Reconcile(), step_hooks(), force=force, checksum=checksum or "")
    plan, report = outcome.prepared.plan, outcome.report
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
    from eipkeeper.cli.plans import health_line
    from eipkeeper.controller.wiring import RunOptions, build_controller
    from eipkeeper.health.monitor import HealthMonitor

    if min_interval > interval:
        raise UsageError(
            f"--min-interval {format_duration(min_interval)} is longer than "
            f"--interval {format_duration(interval)}"
        )
    options = RunOptions(
        interval=interval,
        min_interval=min_interval,
        events_queue=events_queue or "",
        lease_table=lease_table or "",
        lease_ttl=lease_ttl,
        switch_grace=switch_grace,
        metrics_port=metrics_port,
        metrics_address=metrics_address,
    )
    speak()
    controller = build_controller(
        app.config,
        session=app.session,
        ec2=app.ec2,
        registry=app.registry,
        options=options,
        on_probe_again=health_line,
    )
    every, least, ttl = interval, min_interval, lease_ttl
    replica = controller.lease.holder if controller.lease is not None else ""
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
        health="probes" if isinstance(controller.monitor, HealthMonitor) else "running-state",
        dns=f"{dns.provider} {dns.zone}" if dns else "off",
    )
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, controller.request_stop)
        # Ctrl-C exits 130 saying what was done (SPEC section 4); SIGTERM, the service
        # manager's stop, is a clean one (exit 0).
        signal.signal(signal.SIGINT, controller.request_interrupt)
    controller.run(once=once)
    say.info("run.stopped", owner=app.config.owner)


def speak() -> None:
    """`run` talks without -v: its own lines (logger `eipkeeper.run`) at info level."""
    run_logger = logging.getLogger("eipkeeper.run")
    if logging.getLogger("eipkeeper").getEffectiveLevel() > logging.INFO:
        run_logger.setLevel(logging.INFO)


COMMANDS = [plan_command, apply_command, run_command]
