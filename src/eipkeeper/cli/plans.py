"""The engine as the commands use it, and the one way a plan is shown.

Every mutating command builds an engine here, states its intent, and shows the plan with
`show_plan` (table, tsv or json: the same shape for `plan`, `apply`, `move` and `drain`).
"""

from __future__ import annotations

import json
from typing import Any

import click

from eipkeeper.cli.app import App
from eipkeeper.cli.progress import counting
from eipkeeper.cli.render import Column, render_rows
from eipkeeper.controller.engine import Engine
from eipkeeper.controller.hooks import Hooks
from eipkeeper.controller.observation import HealthSource
from eipkeeper.controller.plan import DnsUnit, Plan
from eipkeeper.controller.reading import health_source

PLAN_COLUMNS = [
    Column("phase"),
    Column("kind"),
    Column("service"),
    Column("change"),
    Column("reason"),
]
FINDING_COLUMNS = [Column("severity"), Column("kind"), Column("subject"), Column("message")]


def health_line(text: str) -> None:
    click.echo(f"  health: {text}", err=True)


def step_line(text: str) -> None:
    click.echo(f"  {text}", err=True)


def make_engine(app: App, *, health: HealthSource | None = None) -> Engine:
    """The engine of a one-shot command: the services' checks probed here (or HEALTH)."""
    if health is None:
        health = health_source(app.config, on_probe_again=health_line)
    return Engine(config=app.config, ec2=app.ec2, registry=app.registry, health=health)


def step_hooks(*, quiet: bool = False, **more: Any) -> Hooks:
    """Hooks that print each step and a long DNS apply's progress on stderr (unless QUIET),
    with MORE (a timeout, a bar)."""
    if quiet:
        return Hooks(on_step=lambda text: None, **more)
    return Hooks(**{"on_step": step_line, "counting": counting, **more})


def plan_rows(plan: Plan) -> list[dict[str, str]]:
    """One row per action, then one per finding (phase `finding`, its severity in the
    service column), so that tsv carries the findings too."""
    rows = [
        {
            "phase": action.phase,
            "kind": "dns" if isinstance(action, DnsUnit) else type(action).__name__.lower(),
            "service": action.service,
            "change": action.describe(),
            "reason": action.reason,
        }
        for action in sorted(plan.ordered(), key=lambda a: a.service)
    ]
    rows += [
        {
            "phase": "finding",
            "kind": f.kind,
            "service": f.severity,
            "change": f.subject,
            "reason": f.message,
        }
        for f in plan.findings
    ]
    return rows


def plan_data(plan: Plan) -> dict[str, Any]:
    return {
        "summary": plan.summary,
        "checksum": plan.checksum,
        "actions": plan.to_data(),
        "findings": [vars(f) for f in plan.findings],
        "notes": list(plan.notes),
    }


def show_plan(app: App, plan: Plan, *, err: bool = False) -> None:
    """PLAN in the output format: on stdout for `plan`; on stderr (ERR) where the command's
    own result follows on stdout."""
    if app.output == "json":
        if not err:
            click.echo(json.dumps(plan_data(plan), indent=2))
        return
    if app.output == "tsv":
        for row in plan_rows(plan):
            click.echo("\t".join(row[c.key] for c in PLAN_COLUMNS), err=err)
        click.echo(plan.summary, err=True)
        return
    if plan.actions:
        render_rows(
            [r for r in plan_rows(plan) if r["phase"] != "finding"],
            PLAN_COLUMNS,
            "table",
            title="plan",
            err=err,
        )
    if plan.findings:
        render_rows(
            [vars(f) for f in plan.findings], FINDING_COLUMNS, "table", title="findings", err=err
        )
    click.echo(plan.summary, err=err)
