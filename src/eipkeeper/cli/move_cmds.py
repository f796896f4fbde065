"""`move ADDRESS --to INSTANCE`: the deliberate move of an EIP, with the switch measured.

Parse, state the intent, let the engine plan, check (S1, S4, S6) and execute, render."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import click

from eipkeeper.cli.app import App, pass_app
from eipkeeper.cli.params import ADDRESS, DURATION, INSTANCE
from eipkeeper.cli.progress import progress
from eipkeeper.cli.render import cell, render_object
from eipkeeper.controller.intents import MoveAddress
from eipkeeper.errors import OperationError

if TYPE_CHECKING:  # imported in the command: `move --help` does not pay for boto3
    from eipkeeper.config import CheckConfig, Config
    from eipkeeper.controller.engine import Outcome
    from eipkeeper.health.switch import SwitchTimeline
    from eipkeeper.model import Address, Instance


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
    from eipkeeper.cli.plans import make_engine, plan_data, step_hooks

    engine = make_engine(app)
    prepared = engine.prepare(MoveAddress(address, instance)).checked()
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
        outcome = engine.execute(prepared, step_hooks(timeout=timeout, on_tick=bar.tick))
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
            f"{report.address.public_ip} is on {report.instance.label} in EC2 "
            f"but did not answer steadily from it within {timeout:g}s"
        )


@dataclass(frozen=True)
class SwitchReport:
    """What a client of the address saw while it moved: the engine's outcome of a single
    claim or move, as people and scripts read it."""

    address: Address
    instance: Instance
    """Where the address went."""
    old: Instance | None
    check: CheckConfig | None
    association_id: str
    visible_after: float
    timeline: SwitchTimeline | None
    """None when the service has no check: nothing was probed."""
    every: float

    @property
    def old_id(self) -> str:
        return self.address.instance_id or self.address.network_interface_id

    @property
    def old_label(self) -> str:
        return self.old.label if self.old is not None else self.old_id

    def to_data(self) -> dict[str, Any]:
        eip, line = self.address, self.timeline
        return {
            "public_ip": eip.public_ip,
            "allocation_id": eip.allocation_id,
            "hostname": eip.hostname,
            "old_instance_id": self.old_id,
            "new_instance_id": self.instance.instance_id,
            "association_id": self.association_id,
            "changed": True,
            "check": self.check.kind if self.check else None,
            "visible_after": round(self.visible_after, 3),
            "probe_interval": self.every,
            "probes": line.probes if line else 0,
            "answered": line.answered if line else 0,
            "identified": line.identified if line else False,
            "last_old_answer_after": line.last_old_at if line else None,
            "first_new_answer_after": line.first_new_at if line else None,
            "steady_after": line.steady_at if line else None,
            "gap_seconds": line.gap if line else None,
            "flaps": line.flaps if line else None,
            "other_answers": list(line.others) if line else [],
            "steady": line.steady if line else None,
        }

    def lines(self) -> list[str]:
        """The report for people: the timeline, times in seconds after the call."""
        eip, new, line = self.address, self.instance, self.timeline
        bound = f" ({eip.hostname})" if eip.hostname else ""
        out = [
            f"moved {eip.public_ip}{bound} from {self.old_label} to {new.label} "
            "in one AssociateAddress call",
            f"  visible in EC2      {_at(self.visible_after)}",
        ]
        if line is None:
            return [*out, "  the service has no check: the switch was not measured"]
        if line.identified:
            out.append(f"  last answer, old    {_at(line.last_old_at)}  {self.old_label}")
            out.append(f"  first answer, new   {_at(line.first_new_at)}  {new.label}")
        else:
            out.append("  answers do not name who answered: old and new look alike")
        out.append(
            f"  gap with no answer  {line.gap:7.2f}s  (probed every {self.every * 1000:.0f}ms: "
            f"{line.probes} probes, {line.answered} answered)"
        )
        out.append(f"  flapping            {_flaps(line):>7}")
        if line.others:
            out.append(f"  answers from others  {', '.join(line.others)}")
        if not line.steady:
            out.append(f"  {new.label} did not answer steadily before the timeout")
        return out


def _at(seconds: float | None) -> str:
    return "  never" if seconds is None else f"{seconds:+7.2f}s"


def _flaps(line: SwitchTimeline) -> str:
    if not line.identified:
        return "unknown"
    return "none" if line.flaps == 0 else f"{line.flaps} time(s) back to the old instance"


def move_report(config: Config, outcome: Outcome, *, every: float) -> SwitchReport:
    """The engine's outcome of a single claim or move, as the switch report people read."""
    from eipkeeper.controller.plan import Claim, Move
    from eipkeeper.health.runner import check_of

    seen = outcome.prepared.seen
    action = next(a for a in outcome.prepared.plan.actions if isinstance(a, Claim | Move))
    address = seen.address(action.allocation_id)
    target = seen.instance(action.instance_id)
    assert address is not None and target is not None
    return SwitchReport(
        address=address,
        instance=target,
        old=seen.instance(address.instance_id),
        check=check_of(config, target, address=address),
        association_id=outcome.report.associations.get(address.allocation_id, ""),
        visible_after=outcome.visible_after or 0.0,
        timeline=outcome.timeline,
        every=every,
    )


COMMANDS = [move]
