"""The engine: every change to the cloud or DNS goes observe -> plan -> safety check -> execute.

Reading this module tells the whole program, as octoDNS's `Manager.sync` does:

1. **Observe** (`observe`): one read of the world: the account's EIPs, the services'
   instances (and any instance the intent names), the zone, the health of each instance
   (judged fairly: S6), the burst load.
2. **Plan** (`Engine.prepare`): a pure function of the config, the observation and the intent
   (`controller.planner` for a reconcile, `controller.intent_planner` for the address
   commands, `controller.drain_planner` for a drain, `controller.replace_planner` for a round
   of `replace`).
3. **Check** (`Engine.checked`: `controller.safety.check`): S1 to S7 on the whole plan.
   Nothing has changed yet; a refused plan comes back with its refusal (exit 4). `--force`
   lifts S7 alone.
4. **Execute** (`Engine.execute`: `controller.executor.Executor`): in `plan.APPLY_ORDER`,
   verifying and fencing each step, an operator's claim or move watched until the new holder
   answers, progress kept in tags (S8) so that a rerun after a crash finishes the job.

The engine is built once (config, clients, health source, clock); what one run tells and asks
of its caller is a `Hooks` value. The commands (`plan`, `apply`, `run`, `move`, `associate`,
`disassociate`, `release`, `drain`, `replace`) only parse, state an intent, call the engine
and render what it returns. `addresses` and `instances` only read: `Engine.survey`, the same
read narrowed to what a listing shows, with one round of health probes and no plan.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from eipkeeper.cloud.cloudwatch import CloudWatch
from eipkeeper.cloud.ec2 import Ec2
from eipkeeper.config import Config
from eipkeeper.controller import planner, safety
from eipkeeper.controller.drain_planner import plan_drain
from eipkeeper.controller.executor import ApplyReport, Executor, Watched
from eipkeeper.controller.hooks import Hooks
from eipkeeper.controller.intent_planner import plan_address_intent
from eipkeeper.controller.intents import (
    AssociateAddress,
    DisassociateAddress,
    DrainInstance,
    Intent,
    MoveAddress,
    Reconcile,
    ReleaseAddress,
    ReplaceInstance,
)
from eipkeeper.controller.observation import (
    HealthSource,
    Observation,
    ReputationSource,
    RunningIsHealthy,
)
from eipkeeper.controller.plan import Claim, Move, Plan
from eipkeeper.controller.reading import ListingKind, observe, survey
from eipkeeper.controller.replace_planner import Stage, plan_replace
from eipkeeper.dns.ownership import Registry
from eipkeeper.errors import Interrupted, OperationError, SafetyRefusal
from eipkeeper.health.runner import check_of
from eipkeeper.health.switch import SwitchTimeline, analyse, instance_names
from eipkeeper.health.tls import TlsContexts
from eipkeeper.health.watch import DEFAULT_EVERY, AddressWatch

NO_HOOKS = Hooks()

# -- the engine ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Prepared:
    """An intent planned and checked: what `execute` will do, from which observation."""

    intent: Intent
    seen: Observation
    plan: Plan
    refusal: SafetyRefusal | None = None
    """Why the safety check refuses the plan (exit 4); `execute` raises it."""
    stage: Stage | None = None
    """`replace`: where this round found the replacement."""

    def checked(self) -> Prepared:
        """This, unless the safety check refused it: then the refusal (exit 4), before a
        command asks or says anything more."""
        if self.refusal is not None:
            raise self.refusal
        return self


@dataclass(frozen=True)
class Outcome:
    prepared: Prepared
    report: ApplyReport
    timeline: SwitchTimeline | None = None
    """`move`/`associate` with a check: what a client of the address saw."""
    visible_after: float | None = None
    """Seconds from the AssociateAddress call until DescribeAddresses showed it."""
    last_probe: str = ""
    """The watched address's last answer or error."""


@dataclass(frozen=True)
class Engine:
    """Built once per process from the config, the clients, the health source and the clock;
    what a run tells and asks of its caller is a `Hooks` value given to `execute` or `run`."""

    config: Config
    ec2: Ec2
    registry: Registry | None
    health: HealthSource = field(default_factory=RunningIsHealthy)
    clock: Callable[[], float] = time.time
    probe_every: float = DEFAULT_EVERY
    reputation: ReputationSource | None = None
    """Blocklist verdicts kept between rounds (`run`); None: looked up afresh each time."""

    @property
    def tls(self) -> TlsContexts:
        return TlsContexts(relative=self.config.relative)

    def observe(self, intent: Intent = Reconcile()) -> Observation:  # noqa: B008 - frozen value
        bursts = any(s.burst and s.burst.metric for s in self.config.services)
        return observe(
            config=self.config,
            ec2=self.ec2,
            registry=self.registry,
            health=self.health,
            now=self.clock(),
            cloudwatch=CloudWatch(self.ec2.session) if bursts else None,
            named=intent.instance_texts,
            holders=_names_addresses(intent),
            reputation=self.reputation,
            terminated=isinstance(intent, DrainInstance),
        )

    def survey(self, listing: ListingKind) -> Observation:
        """The read of `addresses` or `instances`: the world once, one round of probes."""
        return survey(
            config=self.config,
            ec2=self.ec2,
            registry=self.registry,
            health=self.health,
            now=self.clock(),
            listing=listing,
        )

    # -- 2. plan, 3. check -----------------------------------------------------------------

    def prepare(self, intent: Intent, *, force: bool = False) -> Prepared:
        """Observe, plan and run the safety check; nothing has changed yet. A refused plan
        comes back with its refusal (`plan` shows it; `execute` raises it)."""
        seen = self.observe(intent)
        try:
            plan, stage = self._plan(intent, seen)
        except SafetyRefusal as refusal:  # a planner that cannot plan without breaking a rule
            return Prepared(intent, seen, Plan(actions=()), refusal=refusal)
        return self.checked(intent, seen, plan, force=force, stage=stage)

    def _plan(self, intent: Intent, seen: Observation) -> tuple[Plan, Stage | None]:
        stage = None
        if isinstance(intent, Reconcile):
            plan = planner.plan(self.config, seen)
        elif isinstance(intent, DrainInstance):
            plan = plan_drain(self.config, seen, intent)
        elif isinstance(intent, ReplaceInstance):
            plan, stage = plan_replace(self.config, seen, intent)
        else:
            plan = plan_address_intent(self.config, seen, intent)
        return plan, stage

    def checked(
        self,
        intent: Intent,
        seen: Observation,
        plan: Plan,
        *,
        force: bool = False,
        stage: Stage | None = None,
    ) -> Prepared:
        """PLAN through the one safety check (S1 to S7; --force lifts S7 alone)."""
        try:
            hold_spf = isinstance(intent, Reconcile) and intent.unattended
            safety.check(self.config, seen, plan, force=force, hold_spf=hold_spf)
        except SafetyRefusal as refusal:
            return Prepared(intent, seen, plan, refusal=refusal, stage=stage)
        return Prepared(intent, seen, plan, stage=stage)

    # -- 4. execute ------------------------------------------------------------------------

    def execute(self, prepared: Prepared, hooks: Hooks = NO_HOOKS) -> Outcome:
        """Do PREPARED's plan, unless it was refused. An operator's claim or move of an
        address with a check is watched from before the call until the new holder answers
        steadily (the client-seen switch)."""
        if prepared.refusal is not None:
            raise prepared.refusal
        executor = Executor(
            config=self.config,
            ec2=self.ec2,
            registry=self.registry,
            clock=self.clock,
            hooks=hooks,
            watch=lambda action, associate: self._watch(prepared.seen, action, associate, hooks),
        )
        started = time.monotonic()
        report = executor.apply(prepared.plan, prepared.seen)
        switch = next(iter(report.switches.values()), None) if len(report.switches) == 1 else None
        if switch is None:
            return Outcome(prepared, report, visible_after=time.monotonic() - started)
        return Outcome(prepared, report, switch.timeline, switch.visible_after, switch.last_probe)

    def run(
        self,
        intent: Intent,
        hooks: Hooks = NO_HOOKS,
        *,
        force: bool = False,
        checksum: str = "",
    ) -> Outcome:
        """prepare + execute in one go (`apply --yes`, scripts)."""
        prepared = self.prepare(intent, force=force)
        if checksum and checksum != prepared.plan.checksum:
            raise OperationError(
                f"the plan changed since it was reviewed (checksum {checksum}, now "
                f"{prepared.plan.checksum}); run `eipkeeper plan` again"
            )
        return self.execute(prepared, hooks)

    # -- the one associate-and-watch ---------------------------------------------------------

    def _watch(
        self,
        seen: Observation,
        action: Claim | Move,
        associate: Callable[[], None],
        hooks: Hooks,
    ) -> Watched | None:
        """Probe the address from before ASSOCIATE (the call and its wait) until the new
        holder answers steadily; the timeline says what a client saw (last old answer, first
        new, the gap, any flapping). None, and no probe, when the service has no check."""
        target, address = seen.instance(action.instance_id), seen.address(action.allocation_id)
        check = check_of(self.config, target, address=address) if target and address else None
        if target is None or check is None:
            associate()
            return None
        olds, new = _old_names(seen, action), instance_names(target)
        with AddressWatch(
            host=action.public_ip, check=check, tls=self.tls, every=self.probe_every
        ) as watch:
            if isinstance(action, Move):
                # One finished probe first, so the timeline shows who answered before the call.
                watch.wait_for(bool, timeout=check.timeout + 1.0)
            call_at = time.monotonic()
            associate()
            visible_at = time.monotonic()

            def timeline() -> SwitchTimeline:
                samples = watch.samples()
                return analyse(samples, call_at=call_at, old=olds, new=new, visible_at=visible_at)

            _until_steady(watch, timeline, action, hooks, since=call_at, visible_at=visible_at)
        samples = watch.samples()
        last = samples[-1].result.detail if samples else "no probe finished"
        return Watched(timeline(), visible_at - call_at, last)


def _until_steady(
    watch: AddressWatch,
    timeline: Callable[[], SwitchTimeline],
    action: Claim | Move,
    hooks: Hooks,
    *,
    since: float,
    visible_at: float,
) -> None:
    try:
        watch.wait_for(
            lambda samples: timeline().steady,
            timeout=max(0.0, hooks.timeout - (visible_at - since)),
            on_tick=lambda elapsed: hooks.on_tick(time.monotonic() - since),
        )
    except KeyboardInterrupt:
        # The address has moved: say so, not a bare "interrupted".
        raise Interrupted([action.describe()], ["watching the switch to its end"]) from None


def _old_names(seen: Observation, action: Claim | Move) -> frozenset[str]:
    """How the holder before a move names itself in its answers."""
    if not isinstance(action, Move):
        return frozenset()
    old = seen.instance(action.from_instance)
    names = frozenset({action.from_instance.lower()})
    return names | instance_names(old) if old is not None else names


def _names_addresses(intent: Intent) -> bool:
    """Intents about one address: its holder is read too, so the report can name it."""
    return isinstance(intent, MoveAddress | AssociateAddress | DisassociateAddress | ReleaseAddress)
