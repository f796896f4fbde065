"""Apply a checked plan in the order of SPEC.md section 6 (`plan.APPLY_ORDER`), verifying
each step and fencing each write.

Claims and moves are read back until EC2 shows them (an operator's, watched until the new
holder answers); DNS batches are confirmed on every authoritative server, EIPs leaving DNS
marked before and stamped after (S3, S8); a drain's small steps run in its planner's order
(controller/drain_steps.py). A failed compare-and-swap stops the apply: the next round
re-reads and re-plans (S5).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from eipkeeper.cloud.ec2 import Ec2
from eipkeeper.config import Config
from eipkeeper.controller.drain_steps import DrainProgress, DrainSteps
from eipkeeper.controller.hooks import Hooks
from eipkeeper.controller.observation import Observation
from eipkeeper.controller.plan import (
    Action,
    Bind,
    Claim,
    Disassociate,
    DnsUnit,
    DrainStep,
    Launch,
    Move,
    Plan,
    Release,
    Retire,
    SetReverse,
    SettleLeaving,
)
from eipkeeper.dns.ownership import Registry
from eipkeeper.dns.provider import ApplyResult
from eipkeeper.errors import (
    ConflictError,
    Interrupted,
    NotFoundError,
    OperationError,
    TransientError,
)
from eipkeeper.health.switch import SwitchTimeline
from eipkeeper.logs import get_logger
from eipkeeper.model import (
    TAG_ASSOCIATED_AT,
    TAG_BURST,
    TAG_BURST_AT,
    TAG_BURST_LAUNCH,
    TAG_DRAIN,
    TAG_HOSTNAME,
    TAG_LEAVING_DNS,
    TAG_LEFT_DNS_AT,
    TAG_OWNER,
    TAG_REPLACES,
    TAG_SUCCESSOR_OF,
    Address,
    Instance,
)
from eipkeeper.tagtime import utc_stamp

log = get_logger(__name__)


@dataclass(frozen=True)
class Watched:
    """What a client of an address saw while an operator's claim or move went through."""

    timeline: SwitchTimeline
    visible_after: float
    """Seconds from the AssociateAddress call until DescribeAddresses showed it."""
    last_probe: str
    """The watched address's last answer or error."""


CLAIM_READBACK = 15.0
"""Seconds a refused claim is read back for (EC2's Describe lags seconds, at worst minutes)."""

Watch = Callable[[Claim | Move, Callable[[], None]], Watched | None]
"""Probes an address around ASSOCIATE (the call and its wait) until the new holder answers
steadily (the engine's, with the service's check); None when there is no check."""


@dataclass
class ApplyReport:
    done: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    moves: list[tuple[Move, float]] = field(default_factory=list)
    """Each failover move with the time.monotonic() of its AssociateAddress call."""
    associations: dict[str, str] = field(default_factory=dict)
    """Allocation id -> the association id of each claim or move."""
    switches: dict[str, Watched] = field(default_factory=dict)
    """Allocation id -> what a client saw, for each watched claim or move."""
    drained: DrainProgress = field(default_factory=DrainProgress)
    """What the steps of a drain did (phases reached, when confirmed, how long waited)."""

    def record(self, kind: str, text: str) -> None:
        self.done.append(text)
        self.counts[kind] = self.counts.get(kind, 0) + 1


def not_done(plan: Plan, report: ApplyReport) -> list[str]:
    """The plan's steps that REPORT does not show done (a launch is recorded with its id)."""
    return [
        text
        for text in (a.describe() for a in plan.ordered())
        if not any(d == text or d.startswith(text + ": ") for d in report.done)
    ]


def _count_nothing(done: int, total: int) -> None:
    pass


@dataclass
class Executor:
    config: Config
    ec2: Ec2
    registry: Registry | None
    clock: Callable[[], float] = time.time
    hooks: Hooks = field(default_factory=Hooks)
    watch: Watch | None = None
    """The engine's watch of an operator's claim or move (None: not watched)."""
    _unseen: dict[str, str] = field(default_factory=dict)
    """Allocation id -> instance id of each association made and not yet seen."""

    def on_step(self, text: str) -> None:
        self.hooks.on_step(text)

    def fence(self) -> None:
        self.hooks.fence()

    def apply(self, plan: Plan, seen: Observation) -> ApplyReport:
        """Every action in `Plan.ordered()` (APPLY_ORDER), consecutive DNS units of a phase as
        one batch. A stop request ends the apply between two steps; Ctrl-C ends it at once,
        saying what was done and what not."""
        report = ApplyReport()
        try:
            self._apply(plan, seen, report)
        except KeyboardInterrupt:
            raise Interrupted(report.done, not_done(plan, report)) from None
        return report

    def _apply(self, plan: Plan, seen: Observation, report: ApplyReport) -> None:
        drain = DrainSteps(
            self.config,
            self.ec2,
            self.registry,
            self.clock,
            self.hooks,
            report.drained,
            steady=lambda allocation_id: _timeline(report, allocation_id),
        )
        for batch in _batches(plan.ordered()):
            if self.hooks.stopping:
                return
            first = batch[0]
            if not isinstance(first, Bind | Claim | Move):
                self._see_associations()
            if isinstance(first, DnsUnit):
                units = [u for u in batch if isinstance(u, DnsUnit)]
                self._dns(units, seen, report, drain=drain)
            elif isinstance(first, DrainStep):
                drain.run(first)
                report.record("drain", first.describe())
            else:
                self._one(first, seen, report)
        self._see_associations()

    def _see_associations(self) -> None:
        """Wait until DescribeAddresses shows every association made (EC2 lags), all in one
        wait before the next kind of step: one poll reads them all, so a thousand claims wait
        out the lag once, not a thousand times (S9)."""
        unseen, self._unseen = self._unseen, {}
        if self.hooks.wait_visible and unseen:
            self.ec2.wait_for_associations(
                unseen, timeout=self.hooks.timeout, on_tick=self.hooks.on_tick
            )

    def _one(self, action: Action, seen: Observation, report: ApplyReport) -> None:
        if isinstance(action, Launch):
            self._launch(action, report)
        elif isinstance(action, Bind | Claim | Move):
            self._ec2_action(action, seen, report)
        elif isinstance(action, Disassociate):
            self._disassociate(action, seen, report)
        elif isinstance(action, Retire):
            self._retire(action, seen, report)
        elif isinstance(action, SettleLeaving):
            self._settle(action, report)
        elif isinstance(action, SetReverse):
            self._set_reverse(action, report)
        elif isinstance(action, Release):
            self._release(action, seen, report)

    # -- EC2 --------------------------------------------------------------------------------

    def _launch(self, action: Launch, report: ApplyReport) -> None:
        self.on_step(action.describe())
        service = self.config.service(action.service)
        selected = {**service.select.tags, TAG_OWNER: self.config.owner}
        tags = dict(selected)
        self.fence()
        if action.successor_of:
            name = action.successor_name or f"{action.service}-successor"
            tags |= {"Name": name, TAG_SUCCESSOR_OF: action.successor_of}
        elif action.burst:
            # The cooldown starts before the launch: a crash in between errs on waiting (S8).
            # S9: the token too, so a round that sees the stamp but not yet the instance
            # counts this launch as live (one CreateTags: both show together).
            memory = {TAG_BURST_AT: utc_stamp(self.clock()), TAG_BURST_LAUNCH: action.token}
            self.ec2.tag(action.stamp, memory)
            tags |= {"Name": f"{action.service}-burst", TAG_BURST: action.hostname}
        else:
            tags |= {"Name": f"{action.service}-replacement", TAG_REPLACES: action.hostname}
        instance_id = self.ec2.launch(
            template=action.launch_template,
            tags=tags,
            token=action.token,
            instance_type=action.instance_type,
            interface_tags=selected,  # `iam-policy --guard` knows its interfaces by these
        )
        log.info("instance.launched", instance_id=instance_id, replaces=action.hostname)
        report.record("launch", f"{action.describe()}: {instance_id}")

    def _ec2_action(self, action: Action, seen: Observation, report: ApplyReport) -> None:
        assert isinstance(action, Bind | Claim | Move)
        self.on_step(action.describe())
        self.fence()
        if isinstance(action, Bind):
            self.ec2.tag(action.allocation_id, {TAG_HOSTNAME: action.hostname})
            report.record("bind", action.describe())
            return
        address = seen.address(action.allocation_id)
        target = seen.instance(action.instance_id)
        if address is None or target is None:
            raise NotFoundError(f"{action.describe()}: the address or instance is gone")
        if self.watch is not None and action.by_operator and self.hooks.wait_visible:
            # Watched: the wait belongs to the switch the watch measures.
            watched = lambda: self._associate(action, address, target, report, wait=True)  # noqa: E731
            switch = self.watch(action, watched)
            if switch is not None:
                report.switches[action.allocation_id] = switch
        else:
            self._associate(action, address, target, report)
        kind = "move" if isinstance(action, Move) else "claim"
        log.info(f"eip.{kind}", public_ip=action.public_ip, instance_id=action.instance_id)
        report.record(kind, action.describe())

    def _associate(
        self,
        action: Claim | Move,
        address: Address,
        target: Instance,
        report: ApplyReport,
        *,
        wait: bool = False,
    ) -> None:
        """The call, its tag and its wait. S6: a claim never takes an address from anyone; a
        move is the deliberate failover."""
        called_at = time.monotonic()
        try:
            association = self.ec2.associate(
                address, target, allow_reassociation=isinstance(action, Move)
            )
        except ConflictError:
            if isinstance(action, Move) or action.by_operator:
                raise  # an operator's `associate` is told at once, as EC2 said
            association = self._claimed_already(action)
        report.associations[action.allocation_id] = association
        # The switch grace starts now, for every process and replica (S6).
        self.ec2.tag(action.allocation_id, {TAG_ASSOCIATED_AT: utc_stamp(self.clock())})
        self.hooks.on_associated(action.instance_id, action.public_ip)
        if isinstance(action, Move):
            report.moves.append((action, called_at))
        self._unseen[action.allocation_id] = action.instance_id
        if wait:
            self._see_associations()

    def _claimed_already(self, action: Claim) -> str:
        """EC2 refused a claim (AllowReassociation=false) of an address the observation showed
        free: Describe lagged (S9), perhaps behind this very claim made by a killed run (S8).
        Read it back until Describe shows its holder: the target means done; anyone else is
        for the next round to see."""
        try:
            shown = self.ec2.wait_for_association(
                action.allocation_id, action.instance_id, timeout=CLAIM_READBACK
            )
        except OperationError:
            raise TransientError(
                f"{action.describe()}: EC2 says {action.public_ip} is already associated, not "
                f"with {action.instance_id} as far as it shows; the next round sees with whom"
            ) from None
        return shown.association_id

    def _address(self, seen: Observation, allocation_id: str, what: str) -> Address:
        address = seen.address(allocation_id)
        if address is None:
            raise NotFoundError(f"{what}: the address is gone")
        return address

    def _disassociate(self, action: Disassociate, seen: Observation, report: ApplyReport) -> None:
        self.on_step(action.describe())
        self.fence()
        self.ec2.disassociate(self._address(seen, action.allocation_id, action.describe()))
        log.info("eip.disassociate", public_ip=action.public_ip, instance_id=action.from_instance)
        report.record("disassociate", action.describe())

    def _set_reverse(self, action: SetReverse, report: ApplyReport) -> None:
        self.on_step(action.describe())
        self.fence()
        self.ec2.set_reverse_name(action.allocation_id, action.hostname)
        log.info("eip.ptr", public_ip=action.public_ip, hostname=action.hostname)
        report.record("ptr", action.describe())

    def _release(self, action: Release, seen: Observation, report: ApplyReport) -> None:
        self.on_step(action.describe())
        self.fence()
        if seen.reverse.get(action.allocation_id):
            # EC2 refuses to release an address whose PTR is set (InvalidAddress.PtrSet).
            self.ec2.reset_reverse_name(action.allocation_id)
        self.ec2.release(self._address(seen, action.allocation_id, action.describe()))
        log.info("eip.release", public_ip=action.public_ip, allocation_id=action.allocation_id)
        report.record("release", action.describe())

    def _retire(self, action: Retire, seen: Observation, report: ApplyReport) -> None:
        """Off its reserved EIP, then gone. The EIP stays allocated and in MX; the instance's
        own address after the disassociate is a new dynamic one that no record names (S2)."""
        self.on_step(action.describe())
        self.fence()
        if action.stamp:  # none when no reserved address is left to keep the cooldown on
            self.ec2.tag(
                action.stamp, {TAG_BURST_AT: utc_stamp(self.clock()), TAG_BURST_LAUNCH: ""}
            )
        self.ec2.tag(action.instance_id, {TAG_DRAIN: "retiring"})
        address = next((a for a in seen.addresses if a.allocation_id == action.allocation_id), None)
        if address is not None:
            self.ec2.disassociate(address)
        self.ec2.terminate(action.instance_id)
        log.info("instance.retired", instance_id=action.instance_id, reason=action.reason)
        report.record("retire", action.describe())

    # -- DNS --------------------------------------------------------------------------------

    def _dns(
        self, units: list[DnsUnit], seen: Observation, report: ApplyReport, *, drain: DrainSteps
    ) -> None:
        """One batch of units: EIPs leaving DNS marked before (S8), applied, confirmed on every
        authoritative server, then stamped as left (S3). A drain's withdrawal is confirmed by
        the drain's own step, after its phase records what to confirm."""
        if self.registry is None:
            raise OperationError("the plan changes DNS but the config has no [dns]")
        kind = units[0].phase
        leaving = self._eips(seen, {ip for u in units for ip in u.removed_addresses})
        if leaving:
            self.fence()
        for allocation_id in leaving:
            self.ec2.tag(allocation_id, {TAG_LEAVING_DNS: utc_stamp(self.clock())})
        if kind != "drain":
            for unit in units:
                self.on_step(unit.describe())
        self.fence()
        provider = self.registry.provider
        before = provider.on_progress
        with self.hooks.counting("DNS changes accepted") as counter:
            provider.on_progress = counter.count
            try:
                result = provider.apply([u.changes for u in units])
            finally:  # the registry's provider outlives this bar: no count reaches a closed one
                provider.on_progress = before
        for unit in units:
            log.info("dns.applied", change=unit.describe(), phase=kind)
            report.record(kind, unit.describe())
        if kind == "drain":
            drain.withdrawn(result, leaving, [u.describe() for u in units])
            return
        self._confirm(result, leaving)

    def _confirm(self, result: ApplyResult, leaving: list[str]) -> None:
        assert self.registry is not None
        timeout = self.hooks.timeout
        propagation = self.registry.provider.confirm(result, timeout=timeout)
        if propagation.problem:
            raise OperationError(
                f"DNS change applied but cannot be confirmed: {propagation.problem}"
            )
        if not propagation.complete:
            raise OperationError(
                f"DNS change applied but not yet served within {timeout:g}s "
                f"({propagation.explain()}); the next round checks again"
            )
        confirmed = propagation.confirmed_at or self.clock()
        if leaving:
            self.fence()
        for allocation_id in leaving:
            self.ec2.tag(allocation_id, {TAG_LEFT_DNS_AT: utc_stamp(confirmed)})
            self.ec2.untag(allocation_id, [TAG_LEAVING_DNS])

    @staticmethod
    def _eips(seen: Observation, ips: set[str]) -> list[str]:
        return [a.allocation_id for a in seen.addresses if a.public_ip in ips]

    def _settle(self, action: SettleLeaving, report: ApplyReport) -> None:
        self.on_step(action.describe())
        self.fence()
        if action.left:
            self.ec2.tag(action.allocation_id, {TAG_LEFT_DNS_AT: utc_stamp(self.clock())})
        self.ec2.untag(action.allocation_id, [TAG_LEAVING_DNS])
        report.record("settle", action.describe())


def _timeline(report: ApplyReport, allocation_id: str) -> SwitchTimeline | None:
    switch = report.switches.get(allocation_id)
    return switch.timeline if switch is not None else None


def _batches(actions: tuple[Action, ...]) -> list[list[Action]]:
    """ACTIONS one by one, but consecutive DNS units of one phase together (one apply)."""
    batches: list[list[Action]] = []
    for action in actions:
        last = batches[-1][-1] if batches else None
        same = isinstance(last, DnsUnit) and isinstance(action, DnsUnit)
        if same and last is not None and last.phase == action.phase:
            batches[-1].append(action)
        else:
            batches.append([action])
    return batches
