"""What `run` says about a round, on the `eipkeeper.run` logger (shown without -v).

One line per round that changed something (what was done, why, how long) or failed; before
it, one line per failover (which address, from which instance to which) and per burst or
replacement instance launched or retired, so an operator can grep for them by name.
A round that changed nothing says nothing.
"""

from __future__ import annotations

from eipkeeper.controller.executor import ApplyReport
from eipkeeper.controller.plan import Launch, Plan, Retire
from eipkeeper.logs import get_logger

log = get_logger("eipkeeper.run")
MAX_LISTED = 8
"""Steps named in one round line; a larger round says how many more there were."""


def listed(items: list[str]) -> str:
    shown = "; ".join(items[:MAX_LISTED])
    if len(items) > MAX_LISTED:
        shown += f"; and {len(items) - MAX_LISTED} more"
    return shown


def _done_entry(report: ApplyReport, describe: str) -> str | None:
    """The executor's record of an action (`describe` or `describe: detail`), if it was done."""
    for text in report.done:
        if text == describe or text.startswith(describe + ": "):
            return text
    return None


def tell_applied(
    plan: Plan,
    report: ApplyReport,
    *,
    seconds: float,
    trigger: str,
    failing_since: dict[str, float],
) -> None:
    """The named lines for failovers and instances, then the round line."""
    for move, called_at in report.moves:
        failed_at = failing_since.get(move.from_instance)
        log.info(
            "failover",
            public_ip=move.public_ip,
            from_instance=move.from_instance,
            to_instance=move.instance_id,
            service=move.service,
            why=move.reason,
            **({"since_first_failed_probe": f"{called_at - failed_at:.1f}s"} if failed_at else {}),
        )
    for action in plan.actions:
        if isinstance(action, Launch):
            entry = _done_entry(report, action.describe())
            if entry is None:
                continue
            instance_id = entry.rsplit(": ", 1)[1] if ": " in entry else ""
            log.info(
                "burst.launched" if action.burst else "replacement.launched",
                service=action.service,
                instance_id=instance_id,
                hostname=action.hostname,
                launch_template=action.launch_template,
                why=action.reason,
            )
        elif isinstance(action, Retire) and _done_entry(report, action.describe()):
            log.info(
                "burst.retired",
                service=action.service,
                instance_id=action.instance_id,
                why=action.reason,
            )
    if not report.done:
        return
    reasons = list(dict.fromkeys(a.reason for a in plan.ordered() if a.reason))
    log.info(
        "round.changed",
        seconds=round(seconds, 2),
        trigger=trigger,
        changes=len(report.done),
        done=listed(report.done),
        why=listed(reasons),
    )


def tell_failed(
    event: str, *, seconds: float, trigger: str, error: str, attempted: list[str], **fields: object
) -> None:
    log.warning(
        event,
        seconds=round(seconds, 2),
        trigger=trigger,
        error=error,
        **({"attempted": listed(attempted)} if attempted else {}),
        **fields,
    )
