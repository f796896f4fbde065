"""`move ADDRESS --to INSTANCE`: the deliberate move of an EIP, with the switch measured.

Parse, state the intent, let the engine plan, check (S1, S4, S6) and execute, render."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from eipkeeper.cli.app import App, pass_app
from eipkeeper.cli.params import ADDRESS, DURATION, INSTANCE
from eipkeeper.cli.progress import progress
from eipkeeper.cli.render import cell, render_object
from eipkeeper.controller.intents import MoveAddress
from eipkeeper.errors import OperationError

if TYPE_CHECKING:  # imported in the command: `move --help` does not pay for boto3
    from eipkeeper.config import Config
    from eipkeeper.engine import Outcome
    from eipkeeper.moving import MoveReport


@click.command("move")
@click.argument("address", type=ADDRESS)
@click.option(
    "--to",
    "instance",
    type=INSTANCE,
    required=True,
    help="The instance (id or Name) to move it to.",
)
@click.option("--yes", is_flag=True, help="Do not ask before taking away a dynamic public IP.")
@click.option(
    "--timeout",
    type=DURATION,
    default="300s",
    show_default=True,
    help="How long to wait for the switch.",
)
@pass_app
def move(app: App, address: str, instance: str, yes: bool, timeout: float) -> None:
    """Move ADDRESS to a healthy INSTANCE in one call; report what a client saw meanwhile."""
    from eipkeeper.cli.plans import make_engine, plan_data

    engine = make_engine(app, timeout=timeout)
    prepared = engine.prepare(MoveAddress(address, instance))
    plan = prepared.plan
    if plan.empty:
        render_object(
            {"changed": False, "note": "; ".join(plan.notes)},
            app.output,
            text=f"{'; '.join(plan.notes)}; nothing to do",
        )
        return
    action = plan.actions[0]
    for finding in plan.findings:
        click.echo(f"warning: {finding.message}", err=True)
    if any(f.kind == "dynamic-ip-lost" for f in plan.findings):
        app.confirm("Take that address away for good?", yes=yes)
    with progress(f"moving {action.describe()}", timeout) as bar:
        engine.on_tick = bar.tick
        outcome = engine.execute(prepared)
    report = move_report(app.config, outcome, every=engine.probe_every)
    if report.timeline is None:
        click.echo(
            "warning: the service has no check: the target's health cannot be confirmed "
            "and the switch was not measured",
            err=True,
        )
    data = report.to_data()
    if app.output == "json":
        click.echo(json.dumps({**data, "plan": plan_data(plan)}, indent=2))
    elif app.output == "tsv":
        click.echo("\t".join(cell(v) for v in data.values()))
    else:
        click.echo("\n".join(report.lines()))
    if report.timeline is not None and not report.timeline.steady:
        raise OperationError(
            f"{report.preview.address.public_ip} is on {report.preview.instance.label} in EC2 "
            f"but did not answer steadily from it within {timeout:g}s"
        )


def move_report(config: Config, outcome: Outcome, *, every: float) -> MoveReport:
    """The engine's outcome of a single claim or move, as the switch report people read."""
    from eipkeeper.controller.plan import Claim, Move
    from eipkeeper.health.runner import check_of
    from eipkeeper.moving import MovePreview, MoveReport

    seen = outcome.prepared.seen
    action = next(a for a in outcome.prepared.plan.actions if isinstance(a, Claim | Move))
    address = seen.address(action.allocation_id)
    target = seen.instance(action.instance_id)
    assert address is not None and target is not None
    preview = MovePreview(
        address=address,
        instance=target,
        old=seen.instance(address.instance_id),
        check=check_of(config, target, address=address),
    )
    association = outcome.report.associations.get(address.allocation_id, "")
    return MoveReport(preview, association, outcome.visible_after or 0.0, outcome.timeline, every)


COMMANDS = [move]
