"""The engine: every change to the cloud or DNS goes observe -> plan -> safety check -> execute.

Reading this module tells the whole program, as octoDNS's `Manager.sync` does:

1. **Observe** (`observe`): one read of the world: the account's EIPs, the services'
   instances (and any instance the intent names), the zone, the health of each instance
   (judged fairly: S6), the burst load.
2. **Plan** (`Engine.prepare`): a pure function of the config, the observation and the intent
   (`controller.planner` for a reconcile, `controller.intent_planner` for the address commands;
   a drain reads its phase tag and probes standbys first, then becomes one `Drain` action).
3. **Check** (`controller.safety.check`): S1 to S7 on the whole plan. Nothing has changed yet,
   so a refusal (exit 4) leaves the world as it was. `--force` lifts S7 alone.
4. **Execute** (`controller.executor.Executor`): in the order of SPEC section 6, verifying each
   step, progress kept in tags (S8) so that a rerun after a crash finishes the job.

The commands (`plan`, `apply`, `run`, `move`, `associate`, `disassociate`, `release`,
`drain`) only parse, state an intent, call the engine and render what it returns.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from eipkeeper.cloud.cloudwatch import CloudWatch
from eipkeeper.cloud.ec2 import LIVE_STATES, Ec2
from eipkeeper.config import CheckConfig, Config
from eipkeeper.controller import planner, safety
from eipkeeper.controller.executor import Executor, Report
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
    service_filters,
)
from eipkeeper.controller.plan import Claim, Move, Plan
from eipkeeper.controller.replace_planner import Stage, plan_replace
from eipkeeper.dns.ownership import Registry
from eipkeeper.errors import Interrupted, NotFoundError, OperationError, SafetyRefusal
from eipkeeper.fleet import service_of
from eipkeeper.health.runner import check_of
from eipkeeper.health.switch import SwitchTimeline, analyse, instance_names
from eipkeeper.health.tls import TlsContexts
from eipkeeper.health.watch import DEFAULT_EVERY, AddressWatch
from eipkeeper.model import TAG_ASSOCIATED_AT, Address, Instance
from eipkeeper.reputation import Reputation
from eipkeeper.tagtime import parse_stamp

NO_HOOKS = Hooks()

# -- 1. observe ----------------------------------------------------------------------------------


def observe(
    *,
    config: Config,
    ec2: Ec2,
    registry: Registry | None,
    health: HealthSource,
    now: float,
    cloudwatch: CloudWatch | None = None,
    named: Sequence[str] = (),
    holders: bool = False,
    reputation: ReputationSource | None = None,
) -> Observation:
    """One read: DescribeAddresses, one paginated DescribeInstances for every service, one
    zone read, the load metrics; plus the instances NAMED (ids or Name tags) and the holders
    of EIPs outside the services, so that a command resolves and reports without more calls."""
    addresses = tuple(ec2.addresses())
    candidates = ec2.instances(filters=service_filters(config)) if config.services else []
    instances = {i.instance_id: i for i in candidates if service_of(config, i) is not None}
    if named:
        for extra in _named_instances(ec2, named):
            instances.setdefault(extra.instance_id, extra)
    if holders:
        others = sorted({a.instance_id for a in addresses if a.instance_id} - set(instances))
        for holder in _by_ids(ec2, others) if others else []:
            instances.setdefault(holder.instance_id, holder)
    zone = registry.read() if registry is not None else None
    load: dict[str, float | None] = {}
    for service in config.services:
        metric = service.burst.metric if service.burst else None
        if metric is not None and cloudwatch is not None:
            load[service.name] = cloudwatch.recent(metric, now=now)
    found = tuple(instances.values())
    published = (
        {v for r in zone.zone.records if r.type in ("A", "AAAA") for v in r.values}
        if zone is not None
        else set()
    )
    judged = _judged(config, addresses, found, published, now=now)
    verdicts = dict(health.health(found, judged=judged))
    # FCrDNS is judged from the PTR EC2 serves for the address (and the zone's A records).
    ptr_pools = {s.name for s in config.services if s.ptr or (s.reputation and s.reputation.fcrdns)}
    reverse = ec2.reverse_names(
        [a.allocation_id for a in addresses if a.service in ptr_pools and a.owner == config.owner]
    )
    return Observation(
        addresses=addresses,
        instances=found,
        zone=zone,
        health=verdicts,
        health_detail=_details(health),
        reverse=reverse,
        now=now,
        load=load,
        reputation=_reputations(config, addresses, reputation, now=now),
    )


def _reputations(
    config: Config,
    addresses: Sequence[Address],
    source: ReputationSource | None,
    *,
    now: float,
) -> Mapping[str, Reputation]:
    """Blocklist verdicts of this owner's pool EIPs in services with `reputation`."""
    checked = {s.name for s in config.services if s.reputation is not None}
    pairs = [
        (a.public_ip, a.service)
        for a in addresses
        if a.service in checked and a.owner == config.owner and a.public_ip
    ]
    if not pairs:
        return {}
    if source is None:
        from eipkeeper.dns.dnsbl import ReputationWatch

        source = ReputationWatch(config=config)
    return source.reputations(pairs, now=now)


def _judged(
    config: Config,
    addresses: Sequence[Address],
    instances: Sequence[Instance],
    published: set[str],
    *,
    now: float,
) -> frozenset[str]:
    """The instances whose failure would change something, so that a one-shot command probes
    them until decided: EIP holders outside their switch grace (inside it they cannot be
    judged failed: S6), and instances whose address DNS names."""
    grace = {s.name: s.check.switch_grace for s in config.services if s.check}
    judged = {i.instance_id for i in instances if i.public_ip in published}
    switching = set()
    for address in addresses:
        if not address.instance_id:
            continue
        at = parse_stamp(address.tags.get(TAG_ASSOCIATED_AT, ""))
        if at is not None and now - at < grace.get(address.service, 0.0):
            switching.add(address.instance_id)
        else:
            judged.add(address.instance_id)
    return frozenset(judged - switching)


def _details(health: HealthSource) -> dict[str, str]:
    statuses = getattr(health, "statuses", None)
    if statuses is None:
        return {}
    return {key: state.last.detail for key, state in statuses().items() if state.last is not None}


def _by_ids(ec2: Ec2, ids: Sequence[str]) -> list[Instance]:
    try:
        return ec2.instances(instance_ids=list(ids), states=LIVE_STATES)
    except NotFoundError:
        return []  # gone meanwhile: reports name it by id


def _named_instances(ec2: Ec2, texts: Sequence[str]) -> list[Instance]:
    ids = [t for t in texts if t.startswith("i-")]
    names = [t for t in texts if not t.startswith("i-")]
    found = _by_ids(ec2, ids) if ids else []
    if names:
        found += ec2.instances(filters=[{"Name": "tag:Name", "Values": names}])
    return found


def health_source(config: Config, **monitor_options: Any) -> HealthSource:
    """The services' checks (probed here, or by `run`'s monitor); the running state where
    no service has a check."""
    if any(service.check for service in config.services):
        from eipkeeper.health.monitor import HealthMonitor

        return HealthMonitor(config=config, **monitor_options)
    return RunningIsHealthy()


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
    drain: object | None = None
    """A drain's preview (`eipkeeper.drain.Preview`), which its runner executes."""

    def checked(self) -> Prepared:
        """This, unless the safety check refused it: then the refusal (exit 4), before a
        command asks or says anything more."""
        if self.refusal is not None:
            raise self.refusal
        return self


@dataclass(frozen=True)
class Outcome:
    prepared: Prepared
    report: Report
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
        )

    # -- 2. plan, 3. check -----------------------------------------------------------------

    def prepare(self, intent: Intent, *, force: bool = False, hooks: Hooks = NO_HOOKS) -> Prepared:
        """Observe, plan and run the safety check; nothing has changed yet. A refused plan
        comes back with its refusal (`plan` shows it; `execute` raises it). HOOKS: a drain
        says here which standby it passed over."""
        seen = self.observe(intent)
        drain, stage = None, None
        if isinstance(intent, Reconcile):
            plan = planner.plan(self.config, seen)
        elif isinstance(intent, DrainInstance):
            plan, drain = self._plan_drain(intent, seen, hooks)
        elif isinstance(intent, ReplaceInstance):
            plan, stage = plan_replace(self.config, seen, intent)
        else:
            plan = plan_address_intent(self.config, seen, intent)
        try:
            safety.check(self.config, seen, plan, force=force)
            refusal = None
        except SafetyRefusal as refused:
            refusal = refused
        return Prepared(intent, seen, plan, refusal=refusal, stage=stage, drain=drain)

    def _plan_drain(
        self, intent: DrainInstance, seen: Observation, hooks: Hooks
    ) -> tuple[Plan, object]:
        from eipkeeper.drain.plan import plan_drain

        return plan_drain(self, intent, seen, hooks)

    # -- 4. execute ------------------------------------------------------------------------

    def executor(self, hooks: Hooks, prepared: Prepared | None = None) -> Executor:
        run_drain = None
        if prepared is not None and prepared.drain is not None:
            from eipkeeper.drain.plan import drain_runner

            run_drain = drain_runner(self, prepared, hooks)
        return Executor(
            config=self.config,
            ec2=self.ec2,
            registry=self.registry,
            clock=self.clock,
            hooks=hooks,
            run_drain=run_drain,
        )

    def execute(self, prepared: Prepared, hooks: Hooks = NO_HOOKS) -> Outcome:
        """Do PREPARED's plan, unless it was refused. A single claim or move of an address
        with a check is watched from before the call until the new holder answers steadily
        (the client-seen switch)."""
        if prepared.refusal is not None:
            raise prepared.refusal
        plan, seen = prepared.plan, prepared.seen
        asked = [a for a in plan.actions if isinstance(a, Claim | Move) and a.by_operator]
        single = asked[0] if len(asked) == 1 else None
        if hooks.wait_visible and single is not None:
            check = self._check_for(single, seen)
            if check is not None:
                return self._watched(prepared, single, check, hooks)
        started = time.monotonic()
        report = self.executor(hooks, prepared).apply(plan, seen)
        return Outcome(prepared, report, visible_after=time.monotonic() - started)

    def run(
        self,
        intent: Intent,
        hooks: Hooks = NO_HOOKS,
        *,
        force: bool = False,
        checksum: str = "",
    ) -> Outcome:
        """prepare + execute in one go (`apply --yes`, scripts)."""
        prepared = self.prepare(intent, force=force, hooks=hooks)
        if checksum and checksum != prepared.plan.checksum:
            raise OperationError(
                f"the plan changed since it was reviewed (checksum {checksum}, now "
                f"{prepared.plan.checksum}); run `eipkeeper plan` again"
            )
        return self.execute(prepared, hooks)

    # -- the one associate-and-wait ----------------------------------------------------------

    def _check_for(self, action: Claim | Move, seen: Observation) -> CheckConfig | None:
        target = seen.instance(action.instance_id)
        address = seen.address(action.allocation_id)
        if target is None or address is None:
            return None
        return check_of(self.config, target, address=address)

    def _watched(
        self, prepared: Prepared, action: Claim | Move, check: CheckConfig, hooks: Hooks
    ) -> Outcome:
        """Probe the address from before the AssociateAddress call until the new holder
        answers steadily; the timeline says what a client saw (last old answer, first new,
        the gap, any flapping)."""
        seen = prepared.seen
        target = seen.instance(action.instance_id)
        assert target is not None
        old = seen.instance(action.from_instance) if isinstance(action, Move) else None
        olds: frozenset[str] = frozenset()
        if isinstance(action, Move):
            olds = frozenset({action.from_instance.lower()})
        if old is not None:
            olds |= instance_names(old)
        with AddressWatch(
            host=action.public_ip, check=check, tls=self.tls, every=self.probe_every
        ) as watch:
            if isinstance(action, Move):
                # One finished probe first, so the timeline shows who answered before the call.
                watch.wait_for(bool, timeout=check.timeout + 1.0)
            call_at = time.monotonic()
            report = self.executor(hooks, prepared).apply(prepared.plan, seen)
            visible_at = time.monotonic()

            def timeline() -> SwitchTimeline:
                return analyse(
                    watch.samples(),
                    call_at=call_at,
                    old=olds,
                    new=instance_names(target),
                    visible_at=visible_at,
                )

            try:
                watch.wait_for(
                    lambda samples: timeline().steady,
                    timeout=max(0.0, hooks.timeout - (visible_at - call_at)),
                    on_tick=lambda elapsed: hooks.on_tick(time.monotonic() - call_at),
                )
            except KeyboardInterrupt:
                # The address has moved: say so, not a bare "interrupted".
                raise Interrupted(report.done, ["watching the switch to its end"]) from None
        samples = watch.samples()
        last = samples[-1].result.detail if samples else "no probe finished"
        return Outcome(prepared, report, timeline(), visible_at - call_at, last)


def _names_addresses(intent: Intent) -> bool:
    """Intents about one address: its holder is read too, so the report can name it."""
    return isinstance(intent, MoveAddress | AssociateAddress | DisassociateAddress | ReleaseAddress)
