"""`drain INSTANCE`: the orderly shutdown (S2), resumable after a crash (S8)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import click

from eipkeeper.cli.app import App, pass_app
from eipkeeper.cli.params import DURATION, INSTANCE
from eipkeeper.cli.progress import progress
from eipkeeper.cli.render import cell
from eipkeeper.controller.intents import DrainInstance
from eipkeeper.tagtime import utc_stamp

if TYPE_CHECKING:  # imported in the command: `drain --help` does not pay for boto3
    from eipkeeper.drain.runner import DrainOutcome, Preview
    from eipkeeper.model import Then


def plan_lines(preview: Preview, *, then: Then, margin: float) -> list[str]:
    """What the drain is about to do, step by step, for the question asked before it."""
    lines = []
    if preview.phase is not None and preview.phase.name == "done":
        lines.append(f"drained before (then {preview.phase.then or 'nothing'}), out of DNS since")
    elif preview.phase is not None:
        lines.append(f"resuming a drain left at phase {preview.phase.name}")
    ttl = preview.withdrawal.ttl if preview.withdrawal else 0
    ttl = ttl or (preview.phase.ttl if preview.phase else 0)
    for step in preview.steps:
        if step == "withdraw" and preview.withdrawal is not None:
            lines += list(preview.withdrawal.changed) or ["nothing left in DNS to change"]
        elif step == "confirm":
            lines.append("confirm the removal on every authoritative server")
        elif step == "wait":
            lines.append(f"wait the TTL ({ttl}s) plus the drain margin ({margin:g}s)")
        elif step == "move" and preview.eip is not None and preview.standby is not None:
            eip, to = preview.eip, preview.standby
            lines.append(f"move {eip.public_ip} ({eip.hostname}) to the standby {to.label}")
        elif step == "act":
            if preview.eip is not None and preview.route != "move":
                lines.append(f"disassociate {preview.eip.public_ip} (it stays allocated)")
            ready = preview.service.drain_ready
            if ready is not None and then != "nothing":
                lines.append(
                    f"wait until the mail queue is empty ({ready.kind} check, at most "
                    f"{ready.timeout:g}s)"
                )
            lines.append({"terminate": "terminate", "stop": "stop", "nothing": "leave"}[then])
            lines[-1] += f" {preview.instance.label}" + (" running" if then == "nothing" else "")
    return lines


def outcome_data(out: DrainOutcome, *, then: Then) -> dict[str, Any]:
    preview = out.preview
    return {
        "instance_id": preview.instance.instance_id,
        "name": preview.instance.name,
        "service": preview.service.name,
        "public_ip": preview.instance.public_ip,
        "route": preview.route,
        "then": then,
        "resumed_from": preview.phase.name if preview.phase else None,
        "phases": list(out.phases),
        "records_changed": list(out.changed),
        "confirmed_at": utc_stamp(out.confirmed_at) + "Z" if out.confirmed_at else None,
        "ttl": out.ttl or None,
        "margin": out.margin,
        "waited_seconds": round(out.waited, 1) if out.waited is not None else None,
        "moved_to": out.moved_to or None,
        "gap_seconds": out.gap,
        "disassociated": out.disassociated or None,
        "action": out.action or None,
        "changed": True,
    }


def outcome_lines(data: dict[str, Any], label: str) -> list[str]:
    lines = [f"drained {label}, service {data['service']}"]
    rows = [
        ("resumed from", data["resumed_from"]),
        ("phases", ", ".join(data["phases"])),
        *(("DNS", change) for change in data["records_changed"]),
        ("confirmed", data["confirmed_at"] and f"{data['confirmed_at']} on every server"),
        ("waited", data["waited_seconds"] is not None and _waited(data)),
        ("moved to", data["moved_to"]),
        ("switch gap", data["gap_seconds"] is not None and f"{data['gap_seconds']:.2f}s"),
        ("disassociated", data["disassociated"] and f"{data['disassociated']} (still allocated)"),
        ("action", data["action"]),
    ]
    return lines + [f"  {key:<14}{value}" for key, value in rows if value]


def _waited(data: dict[str, Any]) -> str:
    return (
        f"{data['waited_seconds']:g}s since confirmed "
        f"(TTL {data['ttl']}s + margin {data['margin']:g}s)"
    )


def _show(app: App, data: dict[str, Any], lines: list[str]) -> None:
    if app.output == "json":
        click.echo(json.dumps(data, indent=2))
    elif app.output == "tsv":
        click.echo("\t".join(cell(v) for v in data.values()))
    else:
        click.echo("\n".join(lines))


@click.command("drain")
@click.argument("instance", type=INSTANCE)
@click.option(
    "--then",
    "then",
    type=click.Choice(["terminate", "stop", "nothing"]),
    default="nothing",
    show_default=True,
    help="What to do with INSTANCE once nothing points at it any more.",
)
@click.option("--yes", is_flag=True, help="Do not ask before starting.")
@click.option(
    "--force-queue",
    is_flag=True,
    help="Stop or terminate even while the service's drain_ready says mail is queued.",
)
@click.option(
    "--timeout",
    type=DURATION,
    default="300s",
    show_default=True,
    help="How long to wait for every DNS server to serve the removal, or for a moved EIP.",
)
@pass_app
def drain(
    app: App, instance: str, then: Then, yes: bool, force_queue: bool, timeout: float
) -> None:
    """Take INSTANCE out of service in order: DNS first, confirmed and waited out, then act.

    An elastic instance's EIP moves to a healthy standby when there is one; otherwise its
    hostname leaves the MX set (when_unbacked = "withdraw") before its EIP is disassociated.
    Killed at any point, the same command finishes the job; `run` never puts a draining
    instance back in DNS.
    """
    from eipkeeper.cli.plans import make_engine, plan_data, step_hooks, step_line
    from eipkeeper.controller.drain_planner import drain_preview
    from eipkeeper.drain.runner import DrainOutcome, drain_outcome

    engine = make_engine(app)
    intent = DrainInstance(instance, then, force_queue)
    prepared = engine.prepare(intent)
    for note in prepared.plan.notes:
        step_line(note)  # the standbys passed over (S6)
    prepared.checked()
    # The same pure decision the plan came from, for the words said before it runs.
    preview = drain_preview(app.config, prepared.seen, intent)
    target, service = preview.instance, preview.service
    if preview.done:
        data = {**outcome_data(DrainOutcome(preview), then=then), "changed": False}
        how = f" (then {preview.phase.then})" if preview.phase and preview.phase.then else ""
        _show(app, data, [f"{target.label} is already drained{how}; nothing to do"])
        return
    margin = app.config.safety.drain_margin
    click.echo(f"drain {target.label}, service {service.name}:", err=True)
    for line in plan_lines(preview, then=then, margin=margin):
        click.echo(f"  {line}", err=True)
    app.confirm(f"Drain {target.label}?", yes=yes)
    hooks = step_hooks(timeout=timeout, waiting=progress)
    report = engine.execute(prepared, hooks).report
    out = drain_outcome(preview, prepared.plan, report, margin=margin, then=then)
    data = outcome_data(out, then=then)
    if app.output == "json":
        data = {**data, "plan": plan_data(prepared.plan)}
    _show(app, data, outcome_lines(data, target.label))


COMMANDS = [drain]
