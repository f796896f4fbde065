"""The safety check on a whole plan, before anything is applied (SPEC.md section 3).

S4 and S5 are enforced where changes are made (ownership records, prerequisites); this module
checks what can be judged on the plan: S1 (managed A records only hold held addresses), S6
(claims and moves only to healthy instances, moves only where failover is on), and S7 (the
blast radius). A refusal names the rule and the objects. `--force` lifts S7 alone.
"""

from __future__ import annotations

from eipkeeper.config import Config
from eipkeeper.controller.observation import Observation
from eipkeeper.controller.plan import Claim, DnsUnit, Move, Plan
from eipkeeper.dns.ownership import is_marker
from eipkeeper.errors import SafetyRefusal


def check(config: Config, seen: Observation, plan: Plan, *, force: bool = False) -> None:
    check_s1(config, seen, plan)
    check_s6(config, seen, plan)
    if not force:
        check_s7(config, plan)


def check_s1(config: Config, seen: Observation, plan: Plan) -> None:
    held = seen.held_addresses(config)
    stray: list[str] = []
    for action in plan.actions:
        if not isinstance(action, DnsUnit):
            continue
        for change in action.changes:
            new = change.new
            if new is None or new.type not in ("A", "AAAA") or is_marker(new):
                continue
            stray += [f"{new.name} -> {v}" for v in new.values if v not in held]
    if stray:
        raise SafetyRefusal("S1", "a managed record would point at an address not held", stray)


def check_s6(config: Config, seen: Observation, plan: Plan) -> None:
    for action in plan.actions:
        if not isinstance(action, Claim | Move):
            continue
        target = seen.instance(action.instance_id)
        if target is None or not seen.healthy(target):
            raise SafetyRefusal(
                "S6", f"{action.describe()}: the target is not healthy", [action.instance_id]
            )
        if isinstance(action, Move) and not config.service(action.service).failover:
            raise SafetyRefusal(
                "S6",
                f"{action.describe()}: service {action.service} has failover = false",
                [action.allocation_id],
            )


def changed_records(plan: Plan) -> list[str]:
    """Existing managed RRsets the plan updates or deletes (ownership records not counted)."""
    touched = []
    for action in plan.actions:
        if isinstance(action, DnsUnit):
            for change in action.changes:
                if change.old is not None and not is_marker(change.old):
                    touched.append(f"{change.kind} {change.old.type} {change.old.name}")
    return touched


def check_s7(config: Config, plan: Plan) -> None:
    existing = plan.managed_records
    if existing < 10:
        return
    touched = changed_records(plan)
    percent = 100.0 * len(touched) / existing
    if percent > config.safety.max_change_percent:
        raise SafetyRefusal(
            "S7",
            f"the plan changes {len(touched)} of {existing} managed records ({percent:.0f}%, "
            f"more than max_change_percent = {config.safety.max_change_percent:g}); "
            "review it and pass --force if it is meant",
            touched[:10] + ([f"... {len(touched) - 10} more"] if len(touched) > 10 else []),
        )
