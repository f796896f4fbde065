"""The sandbox's data plane, as pure decisions: who answers each public address, and when.

moto's control plane changes at once; EC2's data plane does not ("reported switch times range
from 5 s to 20 minutes"). A reconciler (`listeners.DataPlane`) polls moto's EC2 backend every
tenth of a second and applies what `step` decides here:

- a new association of an Elastic IP reaches the data plane only after `association_delay`
  seconds: until then the address is answered by its old holder, or by nobody if it had none;
- an instance answers only `boot_delay` seconds after it was launched or started (EC2
  instances take tens of seconds to boot); the instances already there when the data plane
  starts have booted;
- an address that loses its holder goes quiet at once, as does every address of an instance
  that stops running or is tagged `sandbox:answer=no`;
- an address the account gave up (an EIP released, a dynamic address lost at stop, terminate
  or association) is taken by the stranger, another customer of the cloud, once it has stayed
  given up for `reuse_after` seconds; the stranger never gives it back.

Everything here is a function of an `Observation` and a clock reading, so timing is tested on
a fake clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

ANSWER_TAG = "sandbox:answer"
"""`no` on an instance makes it stop answering (a failure to detect); anything else answers."""
QUEUE_TAG = "sandbox:queue"
"""A number on an instance sets its MTA queue length (see `mailqueue`)."""
BOOT_ATTRIBUTE = "eipkeeper_boot"
"""Set by `fixes` on moto's instance objects: how many times the instance was launched or
started. A new value means a new boot."""
STRANGER = "stranger"
"""The holder name of every address the stranger took (instance ids start with `i-`)."""


@dataclass(frozen=True)
class ControlPlaneView:
    """What the control plane says at one moment."""

    holders: Mapping[str, str] = field(default_factory=dict)
    """Public address -> the instance holding it (not terminated)."""
    elastic: frozenset[str] = frozenset()
    """Which addresses are Elastic IPs of the account (only their associations are delayed)."""
    answering: frozenset[str] = frozenset()
    """Instances that would answer once booted: running, not tagged `sandbox:answer=no`."""
    boots: Mapping[str, int] = field(default_factory=dict)
    """Instance -> its boot count (a launch or a start adds one)."""
    handed_out: frozenset[str] = frozenset()
    """Every public address the cloud handed to the account since the sandbox started."""
    queue_tags: Mapping[str, str] = field(default_factory=dict)
    """Instance -> the value of its `sandbox:queue` tag, where it has one."""

    @property
    def held(self) -> frozenset[str]:
        """Addresses the account holds now: its EIPs and its instances' public addresses."""
        return frozenset(self.holders) | self.elastic


@dataclass(frozen=True)
class Forwarding:
    """Where the data plane sends one address, and where it is about to send it."""

    holder: str | None
    pending: str | None = None
    since: float = 0.0


@dataclass(frozen=True)
class Boot:
    """The latest boot of an instance: its count and when the data plane first saw it."""

    count: int
    since: float


@dataclass(frozen=True)
class Timing:
    association_delay: float = 2.0
    boot_delay: float = 0.0
    reuse_after: float | None = None
    """None: no stranger takes given-up addresses."""


@dataclass(frozen=True)
class PlaneState:
    routes: Mapping[str, Forwarding] = field(default_factory=dict)
    boots: Mapping[str, Boot] = field(default_factory=dict)
    given_up: Mapping[str, float] = field(default_factory=dict)
    """Address -> when the account was first seen not holding it."""
    stranger: frozenset[str] = frozenset()
    """Addresses the stranger took, for good."""


@dataclass(frozen=True)
class Decision:
    """What the data plane should do after one step."""

    answers: Mapping[str, str]
    """Address -> who answers it: an instance id or STRANGER."""
    silent: frozenset[str]
    """Addresses the cloud knows of that nobody answers: dropped (or refused)."""
    booting: frozenset[str]
    """Instances still booting."""


def advance(
    routes: Mapping[str, Forwarding], observed: ControlPlaneView, *, now: float, delay: float
) -> dict[str, Forwarding]:
    """The routes after one look at the control plane at time NOW."""
    out: dict[str, Forwarding] = {}
    for address, want in observed.holders.items():
        route = routes.get(address, Forwarding(holder=None))
        if want == route.holder:
            out[address] = Forwarding(holder=want)
        elif address not in observed.elastic:
            out[address] = Forwarding(holder=want)  # a dynamic address comes with its instance
        elif route.pending != want:
            out[address] = replace(route, pending=want, since=now)
        elif now - route.since >= delay:
            out[address] = Forwarding(holder=want)
        else:
            out[address] = route
    return out


def answers(routes: Mapping[str, Forwarding], observed: ControlPlaneView) -> dict[str, str]:
    """Address -> the instance that answers it now (boot delay aside: see `step`)."""
    return {
        address: route.holder
        for address, route in routes.items()
        if route.holder is not None and route.holder in observed.answering
    }


def track_boots(
    boots: Mapping[str, Boot], observed: ControlPlaneView, *, now: float
) -> dict[str, Boot]:
    """A boot starts when an instance's boot count changes; instances gone are forgotten."""
    out: dict[str, Boot] = {}
    for instance, count in observed.boots.items():
        known = boots.get(instance)
        out[instance] = known if known is not None and known.count == count else Boot(count, now)
    return out


def booted_at_start(observed: ControlPlaneView) -> dict[str, Boot]:
    """The instances already there when the data plane starts: fresh, but booted."""
    return {instance: Boot(count, float("-inf")) for instance, count in observed.boots.items()}


def track_given_up(
    state: PlaneState, observed: ControlPlaneView, *, now: float, reuse_after: float | None
) -> tuple[dict[str, float], frozenset[str]]:
    """(addresses given up and since when, addresses the stranger holds after this step)."""
    held = observed.held
    given_up = {a: t for a, t in state.given_up.items() if a not in held}
    for address in observed.handed_out - held - state.stranger:
        given_up.setdefault(address, now)
    if reuse_after is None:
        return given_up, state.stranger
    taken = {a for a, t in given_up.items() if now - t >= reuse_after}
    return {a: t for a, t in given_up.items() if a not in taken}, state.stranger | taken


def step(
    state: PlaneState, observed: ControlPlaneView, *, now: float, timing: Timing
) -> tuple[PlaneState, Decision]:
    routes = advance(state.routes, observed, now=now, delay=timing.association_delay)
    boots = track_boots(state.boots, observed, now=now)
    booting = frozenset(
        instance
        for instance, boot in boots.items()
        if instance in observed.answering and now - boot.since < timing.boot_delay
    )
    ready = replace(observed, answering=observed.answering - booting)
    answered: dict[str, str] = answers(routes, ready)
    given_up, stranger = track_given_up(state, observed, now=now, reuse_after=timing.reuse_after)
    held = observed.held
    # The account's hold wins over the stranger's; `fixes` makes sure that cannot happen.
    answered.update({address: STRANGER for address in stranger if address not in held})
    known = held | observed.handed_out | stranger
    new_state = PlaneState(routes=routes, boots=boots, given_up=given_up, stranger=stranger)
    decision = Decision(answers=answered, silent=frozenset(known - set(answered)), booting=booting)
    return new_state, decision


def observe_moto(backend: Any, *, handed_out: frozenset[str] = frozenset()) -> ControlPlaneView:
    """Read moto's EC2 backend (untyped). Runs beside moto's request threads: snapshot first."""
    holders: dict[str, str] = {}
    answering: set[str] = set()
    boots: dict[str, int] = {}
    queue_tags: dict[str, str] = {}
    for reservation in list(backend.reservations.values()):
        for instance in list(reservation.instances):
            state = instance.state
            if state == "terminated":
                continue
            for nic in list(instance.nics.values()):
                if nic.public_ip:
                    holders[nic.public_ip] = instance.id
            tags = backend.tags.get(instance.id, {})
            if state == "running" and str(tags.get(ANSWER_TAG, "yes")).lower() != "no":
                answering.add(instance.id)
            boots[instance.id] = int(getattr(instance, BOOT_ATTRIBUTE, 1))
            if QUEUE_TAG in tags:
                queue_tags[instance.id] = str(tags[QUEUE_TAG])
    elastic = frozenset(eip.public_ip for eip in list(backend.addresses))
    return ControlPlaneView(
        holders=holders,
        elastic=elastic,
        answering=frozenset(answering),
        boots=boots,
        handed_out=handed_out,
        queue_tags=queue_tags,
    )
