"""What `run` says about a round, on the `eipkeeper.run` logger (shown without -v).

One line per round that changed something (what was done, why, how long) or failed; before
it, one line per failover (which address, from which instance to which) and per burst or
replacement instance launched or retired, so an operator can grep for them by name.
A round that changed nothing says nothing.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from eipkeeper.controller.executor import ApplyReport
from eipkeeper.controller.plan import Finding, Launch, Plan, Retire
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
    _tell_failovers(report, failing_since)
    _tell_instances(plan, report)
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


def _tell_failovers(report: ApplyReport, failing_since: dict[str, float]) -> None:
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


def _tell_instances(plan: Plan, report: ApplyReport) -> None:
    """One line per burst or replacement instance launched, and per burst retired (if done)."""
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


def tell_alive(tally: Counter[str], *, leader: bool | None, minutes: float) -> None:
    """The periodic line that tells a quiet controller from a stuck one (TALLY: outcomes)."""
    log.info(
        "run.alive",
        rounds=sum(tally[k] for k in ("ok", "retry", "error", "refused", "fenced")),
        changed=tally["changed"],
        failed=tally["retry"] + tally["error"],
        refused=tally["refused"],
        **({"leader": leader} if leader is not None else {}),
        since=f"{minutes:g}m ago",
    )


@dataclass
class SaidOnce:
    """What `run` says once while it lasts, not every round: the holders a switch grace keeps
    from being judged, and the SPF changes held back past RFC 7208's limits."""

    switching: tuple[Finding, ...] = ()
    """What the last plan said of holders held by their switch grace."""
    said_switching: frozenset[str] = frozenset()
    """The hostnames `run.judging_later` last named."""
    said_spf_held: frozenset[str] = frozenset()

    def planned(self, plan: Plan) -> None:
        """A round's plan: remembers its holds, and says SPF changes newly held back."""
        self.switching = tuple(f for f in plan.findings if f.kind == "switching")
        self._spf_held(plan)
        if not self.switching:
            self.said_switching = frozenset()  # a later hold is news again

    def judging_later(self, delay: float) -> None:
        subjects = frozenset(f.subject for f in self.switching)
        if subjects and subjects != self.said_switching:
            why = "; ".join(f.message for f in self.switching)
            log.info("run.judging_later", seconds=round(delay, 1), why=why)
        self.said_switching = subjects

    def _spf_held(self, plan: Plan) -> None:
        """An SPF change past RFC 7208's limits is held back alone (the round went on)."""
        held = frozenset(
            f"{f.subject}: {f.message}" for f in plan.findings if f.kind == "spf-lookups"
        )
        for text in sorted(held - self.said_spf_held):
            name, _, why = text.partition(": ")
            log.warning("spf.held", rule="RFC 7208", name=name, why=why)
        self.said_spf_held = held
