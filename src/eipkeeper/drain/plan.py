"""A drain as the engine sees it: one `Drain` action planned from the phase on the instance's
tag, and the runner that the executor calls to do its steps (each phase tagged before the next
step relies on it: S8). A standby move inside a drain is the engine's move, checked and
watched as `move` is."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from eipkeeper.cloud.ec2 import LIVE_STATES
from eipkeeper.controller.hooks import Hooks
from eipkeeper.controller.intents import DrainInstance
from eipkeeper.controller.observation import Observation
from eipkeeper.controller.plan import Drain, Move, Plan
from eipkeeper.drain.runner import Drainer, Outcome, Preview
from eipkeeper.drain.standby import MovePreview, MoveReport
from eipkeeper.errors import NotFoundError, OperationError, UsageError
from eipkeeper.fleet import service_of
from eipkeeper.model import TAG_DRAIN, Instance

if TYPE_CHECKING:
    from eipkeeper.controller.engine import Engine, Prepared


def find_instance(engine: Engine, text: str) -> Instance:
    """INSTANCE by id or Name. A terminated one counts only when a drain left it so: that is
    the drain to resume or report, not some old namesake."""
    states = (*LIVE_STATES, "terminated")
    try:
        if text.startswith("i-"):
            found = engine.ec2.instances(instance_ids=[text], states=states)
        else:
            found = engine.ec2.instances(
                filters=[{"Name": "tag:Name", "Values": [text]}], states=states
            )
    except NotFoundError:
        found = []
    live = [i for i in found if i.state != "terminated"]
    candidates = live or [i for i in found if TAG_DRAIN in i.tags]
    if not candidates and found:
        raise OperationError(f"{found[0].label} is already terminated; nothing to drain")
    if not candidates:
        raise NotFoundError(f"no instance with id or Name {text}")
    if len(candidates) > 1:
        ids = ", ".join(i.instance_id for i in candidates)
        raise UsageError(f"several instances are named {text} ({ids}); name one by id")
    return candidates[0]


def drainer(engine: Engine, hooks: Hooks, *, force_queue: bool = False) -> Drainer:
    return Drainer(
        force_queue=force_queue,
        config=engine.config,
        ec2=engine.ec2,
        registry=engine.registry,
        tls=engine.tls,
        clock=engine.clock,
        sleep=hooks.sleep,
        confirm_timeout=hooks.timeout,
        move_timeout=hooks.timeout,
        on_step=hooks.on_step,
        waiting=hooks.waiting,
        move_address=lambda preview: _engine_move(engine, preview, hooks),
    )


def plan_drain(
    engine: Engine, intent: DrainInstance, seen: Observation, hooks: Hooks
) -> tuple[Plan, Preview]:
    instance = find_instance(engine, intent.instance)
    service = service_of(engine.config, instance)
    if service is None:
        raise UsageError(f"{instance.label} is in no configured service; there is nothing to drain")
    preview = drainer(engine, hooks).prepare(instance, service, then=intent.then)
    if preview.done:
        return Plan(actions=(), notes=(f"{instance.label} is already drained",)), preview
    units = preview.withdrawal.units if preview.withdrawal else ()
    withdraws = tuple(change for unit in units for change in unit)
    action = Drain(
        service=service.name,
        instance_id=instance.instance_id,
        steps=preview.steps,
        then=intent.then,
        withdraws=withdraws,
        public_ip=instance.public_ip,
        move_to=preview.move.instance.instance_id if preview.move else "",
        reason=f"asked for: drain {instance.label} then {intent.then}",
    )
    return Plan(actions=(action,), managed_records=_managed(engine, seen)), preview


def _managed(engine: Engine, seen: Observation) -> int:
    from eipkeeper.dns.ownership import is_marker

    if seen.zone is None:
        return 0
    return sum(1 for r in seen.zone.owned_by(engine.config.owner) if not is_marker(r.record))


def drain_runner(engine: Engine, prepared: Prepared, hooks: Hooks) -> Callable[[Drain], Outcome]:
    preview = prepared.drain
    assert isinstance(preview, Preview)

    intent = prepared.intent
    force = isinstance(intent, DrainInstance) and intent.force_queue

    def run(action: Drain) -> Outcome:
        return drainer(engine, hooks, force_queue=force).execute(preview, then=action.then)  # type: ignore[arg-type]

    return run


def _engine_move(engine: Engine, preview: MovePreview, hooks: Hooks) -> MoveReport:
    """The drain's standby move through the engine: planned, checked (S1, S4, S6) and watched
    as `move` is."""
    from eipkeeper.controller.engine import Prepared

    eip, target = preview.address, preview.instance
    move = Move(
        service=eip.service,
        allocation_id=eip.allocation_id,
        public_ip=eip.public_ip,
        from_instance=preview.old_id,
        instance_id=target.instance_id,
        reason=f"drain: {target.label} is a healthy standby",
        by_operator=True,
    )
    seen = engine.observe(DrainInstance(target.instance_id))
    plan = Plan(actions=(move,))
    from eipkeeper.controller import safety

    safety.check(engine.config, seen, plan)
    intent = DrainInstance(target.instance_id)
    outcome = engine.execute(Prepared(intent=intent, seen=seen, plan=plan), hooks)
    association = outcome.report.associations.get(eip.allocation_id, "")
    return MoveReport(
        preview, association, outcome.visible_after or 0.0, outcome.timeline, engine.probe_every
    )
