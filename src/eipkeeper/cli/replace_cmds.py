"""`replace INSTANCE`: a planned upgrade, round after round through the engine until done."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import click

from eipkeeper.cli.app import App, pass_app
from eipkeeper.cli.move_cmds import move_report
from eipkeeper.cli.params import DURATION, INSTANCE, TEXT
from eipkeeper.cli.render import render_object
from eipkeeper.controller.intents import DrainInstance, ReplaceInstance
from eipkeeper.errors import Interrupted, OperationError

if TYPE_CHECKING:
    from eipkeeper.model import Instance

POLL = 2.0
"""Seconds between rounds while the successor boots."""


@click.command("replace")
@click.argument("instance", type=INSTANCE)
@click.option(
    "--instance-type", type=TEXT, default=None, help="The successor's type (else the template's)."
)
@click.option(
    "--launch-template", type=TEXT, default=None, help="Launch the successor from this template."
)
@click.option("--yes", is_flag=True, help="Do not ask before starting.")
@click.option(
    "--timeout",
    type=DURATION,
    default="900s",
    show_default=True,
    help="How long the whole replacement may take.",
)
@pass_app
def replace(
    app: App,
    instance: str,
    instance_type: str | None,
    launch_template: str | None,
    yes: bool,
    timeout: float,
) -> None:
    """Upgrade INSTANCE with no mail deferred: launch a successor, wait for its check, let it
    take mail on a reserved MX address that MX already lists, move INSTANCE's EIP onto it,
    give the reserved address back and drain INSTANCE (it keeps running). Without MX, a
    plain move with the gap reported. Killed at any point, the same command, naming either
    instance, goes on where it stopped."""
    from eipkeeper.cli.plans import make_engine, step_hooks
    from eipkeeper.controller.plan import Move

    intent = ReplaceInstance(instance, instance_type or "", launch_template or "")
    engine = make_engine(app)
    hooks = step_hooks(timeout=timeout)
    started = time.monotonic()
    asked = False
    gap: float | None = None
    done: list[str] = []
    while True:
        prepared = engine.prepare(intent).checked()
        stage = prepared.stage
        assert stage is not None
        if stage.name == "done":
            break
        if prepared.plan.empty:
            click.echo(f"  {stage.text}", err=True)
            if time.monotonic() - started > timeout:
                raise OperationError(
                    f"replace {instance}: {stage.text} for {timeout:g}s; run it again to go on"
                )
            _wait(done, stage.text, instance)
            continue
        if not asked:
            app.confirm(f"Replace {instance} with a successor?", yes=yes)
            asked = True
        outcome = engine.execute(prepared, hooks)
        done += outcome.report.done
        moved = any(isinstance(a, Move) for a in prepared.plan.actions)
        if moved and outcome.timeline is not None:
            report = move_report(app.config, outcome, every=engine.probe_every)
            click.echo("\n".join(report.lines()), err=True)
            gap = outcome.timeline.gap
    drained = _drain_old(engine, hooks, stage.old) if stage.old is not None else ""
    successor = stage.successor
    render_object(
        {
            "instance": instance,
            "successor_id": successor.instance_id if successor else "",
            "done": stage.text,
            "gap_seconds": gap,
            "changed": asked,
            "old_drained": drained,
        },
        app.output,
        text=f"replaced {instance}: {stage.text}"
        + (f" (switch gap {gap:.2f}s)" if gap is not None else "")
        + (f"; {drained}" if drained else ""),
    )


def _wait(done: list[str], waiting: str, instance: str) -> None:
    """The pause between rounds; Ctrl-C here says what the replacement did so far (exit 130)."""
    try:
        time.sleep(POLL)
    except KeyboardInterrupt:
        rest = f"{waiting}, and the rest (`eipkeeper replace {instance}` goes on)"
        raise Interrupted(done, [rest]) from None


def _drain_old(engine: Any, hooks: Any, old: Instance) -> str:
    """The old holder leaves service as `drain --then nothing` would take it out (its MTA
    queue waited for, `drain_ready`); it keeps running for the operator to stop or terminate.
    A rerun finds it drained already."""
    from eipkeeper.controller.drain_planner import drain_preview

    intent = DrainInstance(old.instance_id, "nothing")
    prepared = engine.prepare(intent).checked()
    preview = drain_preview(engine.config, prepared.seen, intent)
    if not preview.done:
        click.echo(f"  draining {old.label} (then nothing)", err=True)
        engine.execute(prepared, hooks)
    return (
        f"{old.label} is drained and keeps running: "
        f"`eipkeeper drain {old.instance_id} --then terminate` when it is no longer needed"
    )


COMMANDS = [replace]
