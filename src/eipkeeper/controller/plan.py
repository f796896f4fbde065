"""A plan is a value: ordered actions with their reasons, findings, a summary and a checksum.

As in octoDNS, `apply --checksum` runs only the plan that was reviewed: the checksum covers
every action and its parameters (not the wording of reasons), in order.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

from eipkeeper.dns.records import Change, Record

ApplyPhase = Literal["claim", "dns-upsert", "dns-delete", "launch", "ptr", "release", "drain"]


@dataclass(frozen=True)
class Bind:
    """Tag a pool EIP with the hostname it serves (untagged pool members, in config order)."""

    service: str
    allocation_id: str
    public_ip: str
    hostname: str
    reason: str
    phase: ApplyPhase = "claim"

    def describe(self) -> str:
        return f"bind {self.public_ip} ({self.allocation_id}) to {self.hostname}"


@dataclass(frozen=True)
class Claim:
    """Associate a free EIP with a healthy instance: AllowReassociation=false (S6)."""

    service: str
    allocation_id: str
    public_ip: str
    instance_id: str
    reason: str
    phase: ApplyPhase = "claim"
    by_operator: bool = False
    """`associate`: asked for by name, not chosen by the planner."""

    def describe(self) -> str:
        return f"claim {self.public_ip} for {self.instance_id}"


@dataclass(frozen=True)
class Move:
    """Move an EIP from a failed holder to a healthy standby: AllowReassociation=true (S6)."""

    service: str
    allocation_id: str
    public_ip: str
    from_instance: str
    instance_id: str
    reason: str
    phase: ApplyPhase = "claim"
    by_operator: bool = False
    """`move`: a deliberate move asked for by name, allowed whatever the service's `failover`."""

    def describe(self) -> str:
        return f"move {self.public_ip} from {self.from_instance} to {self.instance_id}"


@dataclass(frozen=True)
class Launch:
    """Launch a replacement from the service's launch template when a holder failed and no
    standby is free (replace_failed); it takes the EIP once its check passes."""

    service: str
    launch_template: str
    hostname: str
    token: str
    """EC2 ClientToken: a rerun after a crash launches nothing twice."""
    reason: str
    burst: bool = False
    """A burst instance at peak load (it claims a reserved EIP) rather than a replacement."""
    stamp: str = ""
    """Burst: the reserved EIP that carries the cooldown stamp, set before the launch."""
    successor_of: str = ""
    """`replace`: the instance this one takes over from (a planned upgrade)."""
    successor_name: str = ""
    """`replace`: the successor's Name, saying whose successor it is (unique)."""
    instance_type: str = ""
    """`replace --instance-type`: overrides the launch template's type."""
    phase: ApplyPhase = "launch"

    def describe(self) -> str:
        if self.successor_of:
            kind = f" ({self.instance_type})" if self.instance_type else ""
            return f"launch a successor{kind} for {self.successor_of} from {self.launch_template}"
        if self.burst:
            return f"launch a burst instance from {self.launch_template} for {self.hostname}"
        return f"launch a replacement for {self.hostname} from {self.launch_template}"


@dataclass(frozen=True)
class Retire:
    """Scale in: take the newest burst instance off its reserved EIP (which stays allocated
    and published: MX lists it permanently), then terminate it."""

    service: str
    instance_id: str
    allocation_id: str
    stamp: str
    reason: str
    phase: ApplyPhase = "dns-delete"

    def describe(self) -> str:
        return f"retire burst instance {self.instance_id}"


@dataclass(frozen=True)
class DnsUnit:
    """Changes applied atomically: an RRset and its ownership record (S4, S5)."""

    service: str
    changes: tuple[Change, ...]
    reason: str
    removed_addresses: tuple[str, ...] = ()
    """Addresses this unit takes out of DNS: their EIPs are marked leaving, then left (S3)."""
    phase: ApplyPhase = "dns-upsert"

    def describe(self) -> str:
        main = [c for c in self.changes if not c.record.name.startswith("_eipkeeper.")]
        return "; ".join(_change_text(c) for c in main or self.changes)


@dataclass(frozen=True)
class SettleLeaving:
    """Finish an EIP's exit from DNS after a crash (S8): stamp when it left, or clear the mark
    when it is in DNS again and no removal is planned."""

    allocation_id: str
    public_ip: str
    left: bool
    reason: str
    service: str = ""
    phase: ApplyPhase = "dns-delete"

    def describe(self) -> str:
        verb = "mark as left DNS" if self.left else "clear the leaving mark on"
        return f"{verb} {self.public_ip}"


@dataclass(frozen=True)
class Disassociate:
    """Take an EIP off its instance; it stays allocated, so S1 holds for records naming it."""

    service: str
    allocation_id: str
    public_ip: str
    from_instance: str
    reason: str
    phase: ApplyPhase = "claim"

    def describe(self) -> str:
        return f"disassociate {self.public_ip} from {self.from_instance}"


@dataclass(frozen=True)
class SetReverse:
    """Keep an EIP's reverse DNS equal to its hostname (`ptr = true`): after the DNS
    upserts, since EC2 checks that the forward record points at the address first."""

    service: str
    allocation_id: str
    public_ip: str
    hostname: str
    reason: str
    phase: ApplyPhase = "ptr"

    def describe(self) -> str:
        return f"set the reverse DNS of {self.public_ip} to {self.hostname}"


@dataclass(frozen=True)
class Release:
    """Give an EIP back to AWS: only once S2 and S3 allow it (the safety check says)."""

    service: str
    allocation_id: str
    public_ip: str
    reason: str
    phase: ApplyPhase = "release"

    def describe(self) -> str:
        return f"release {self.public_ip} ({self.allocation_id})"


DrainKind = Literal[
    "mark", "await-served", "await-ttl", "await-steady", "await-queue", "stop", "terminate"
]


@dataclass(frozen=True)
class DrainStep:
    """One small step of a drain, run in plan order and fenced on its own: mark the phase
    reached on the instance's tag (S8: before the next step relies on it), await the removal
    served on every authoritative server, await the TTL plus the margin, await the moved
    address answering, await the MTA's queue, stop or terminate (S2: after DNS let go)."""

    service: str
    instance_id: str
    step: DrainKind
    reason: str
    reached: str = ""
    """mark: the phase name written to the tag."""
    ttl: int = 0
    """dns-out, confirmed, await-ttl: how long caches may keep what was removed."""
    serial: int | None = None
    """dns-out, await-served: the zone serial to confirm, when the run did not change it."""
    change_ids: tuple[str, ...] = ()
    """await-served: the change ids to confirm (Route 53), from the tag of a resumed drain."""
    absent: tuple[Record, ...] = ()
    """await-served, resumed from the tag: the values the withdrawal took out, which no server
    may serve any more (the tag's serial alone can be fooled: FACTS.md, EPOCH serials)."""
    confirmed_at: float | None = None
    """await-ttl: when a resumed drain's removal was confirmed (else this run's confirmation)."""
    margin: float = 0.0
    to: str = ""
    """moved: the standby that took the EIP."""
    then: str = ""
    force: bool = False
    """await-queue: `--force-queue`, go on with mail queued after the timeout."""
    allocation_id: str = ""
    label: str = ""
    """What the step's messages name."""
    phase: ApplyPhase = "drain"

    def describe(self) -> str:
        described = {
            "mark": f"mark {self.instance_id} as drain phase {self.reached}",
            "await-served": "confirm the removal on every authoritative server",
            "await-ttl": f"wait the TTL ({self.ttl}s) plus the drain margin ({self.margin:g}s)",
            "await-steady": f"wait until {self.label} and answers steadily",
            "await-queue": f"wait until the mail queue on {self.label} is empty",
            "stop": f"stop {self.instance_id}",
            "terminate": f"terminate {self.instance_id}",
        }
        return described[self.step]


def _change_text(change: Change) -> str:
    return change.text()


Action = (
    Bind
    | Claim
    | Move
    | Launch
    | Retire
    | DnsUnit
    | SettleLeaving
    | Disassociate
    | SetReverse
    | Release
    | DrainStep
)


APPLY_ORDER: tuple[tuple[ApplyPhase, tuple[type, ...]], ...] = (
    ("launch", (Launch,)),
    ("claim", (Bind, Claim, Move, Disassociate)),
    ("dns-upsert", (DnsUnit,)),
    ("dns-delete", (DnsUnit,)),
    ("dns-delete", (Retire,)),
    ("dns-delete", (SettleLeaving,)),
    ("ptr", (SetReverse,)),
    ("release", (Release,)),
    ("drain", (DnsUnit, Move, Disassociate, DrainStep)),
)
"""The order of SPEC section 6, written once: the executor runs `Plan.ordered()` and nothing
else decides. Addresses are claimed before DNS names them; DNS creates and updates before
deletes (each batch confirmed on every server); retirements and the settling of leaving marks
after the deletes; reverse DNS after the forward records it checks; releases last but a
drain, whose steps run in the order its planner wrote them. Within an entry, plan order."""


@dataclass(frozen=True)
class Finding:
    """Something the plan cannot or will not fix, said instead (e.g. `unbacked-mx`)."""

    kind: str
    severity: Literal["info", "warning", "critical"]
    subject: str
    message: str


@dataclass(frozen=True)
class Plan:
    actions: tuple[Action, ...]
    findings: tuple[Finding, ...] = ()
    managed_records: int = 0
    """Managed RRsets in the zone before the plan (the base of S7's percentage)."""
    notes: tuple[str, ...] = field(default=())
    revisit_in: float | None = None
    """Seconds until a decision this plan could not yet take falls due (a failing holder
    still within its switch grace); a controller plans again then."""

    @property
    def empty(self) -> bool:
        return not self.actions

    def ordered(self) -> tuple[Action, ...]:
        """The actions in APPLY_ORDER."""
        placed = tuple(
            action
            for phase, kinds in APPLY_ORDER
            for action in self.actions
            if action.phase == phase and isinstance(action, kinds)
        )
        if len(placed) != len(self.actions):
            lost = [a.describe() for a in self.actions if a not in placed]
            raise ValueError(f"actions with no place in APPLY_ORDER: {lost}")
        return placed

    def to_data(self) -> list[dict[str, Any]]:
        return [action_data(action) for action in self.ordered()]

    @property
    def checksum(self) -> str:
        # Stable fields only: wording may change without making it another plan. A launch's
        # ClientToken is part of the plan: it names the intent (S9).
        body = [{k: v for k, v in a.items() if k not in UNSTABLE} for a in self.to_data()]
        digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
        return digest[:16]

    @property
    def summary(self) -> str:
        """One line: the changes, then what the plan leaves alone and why (a config value
        refused by S4 must not read as "agrees with the config"), then other findings."""
        said = findings_text(self.findings)
        if self.empty:
            if not said:
                return "no changes: the fleet and the zone agree with the config"
            return f"no changes; {said}"
        kinds = Counter(a["kind"] for a in self.to_data())
        counted = ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items()))
        head = f"{len(self.actions)} changes ({counted}); checksum {self.checksum}"
        return f"{head}; {said}" if said else head


LEFT_ALONE = frozenset({"foreign-owner"})
"""Finding kinds that are a refusal: something the config wants that the plan leaves alone."""
_REFUSAL = re.compile(r"^refused by (S\d): (.*?)(?: \[[^\]]*\])?$", re.DOTALL)


def left_alone_text(finding: Finding) -> str:
    """FINDING as a short clause naming the rule: `MX example.com is marked by nobody, not
    mail-prod (S4)`."""
    match = _REFUSAL.match(finding.message)
    if match:
        return f"{match[2]} ({match[1]})"
    return finding.message if "(S4)" in finding.message else f"{finding.message} (S4)"


def findings_text(findings: tuple[Finding, ...]) -> str:
    """What the summary says about FINDINGS: every refusal in full, the rest counted."""
    parts = []
    refused = [f for f in findings if f.kind in LEFT_ALONE]
    if refused:
        things = "thing" if len(refused) == 1 else "things"
        clauses = "; ".join(left_alone_text(f) for f in refused)
        parts.append(f"{len(refused)} {things} left alone: {clauses}")
    rest = [f for f in findings if f.kind not in LEFT_ALONE]
    for severity in ("critical", "warning", "info"):
        same = [f for f in rest if f.severity == severity]
        if same:
            noun = severity if len(same) == 1 else f"{severity}s"
            named = ", ".join(f"{f.kind} {f.subject}" for f in same)
            parts.append(f"{len(same)} {noun}: {named}")
    return "; ".join(parts)


UNSTABLE = frozenset({"reason"})
"""Fields of an action's data that the checksum leaves out."""


def intent_token(prefix: str, *state: str) -> str:
    """An EC2 ClientToken (at most 64 ASCII characters) for one launch intent (S9): a
    readable PREFIX, then a digest of the observed STATE the intent was decided on. Never the
    clock: a round that cannot yet see its own launch (EC2's Describe lags) decides the same
    intent again and sends the same token, which EC2 answers with the first launch."""
    digest = hashlib.sha256("|".join((prefix, *state)).encode()).hexdigest()[:16]
    return f"{prefix[:47]}-{digest}"


def _changes_data(changes: tuple[Change, ...]) -> list[dict[str, Any]]:
    return [
        {
            "change": c.kind,
            "name": c.record.name,
            "type": c.record.type,
            "old": list(c.old.values) if c.old else None,
            "new": list(c.new.values) if c.new else None,
            "ttl": c.new.ttl if c.new else None,
        }
        for c in changes
    ]


def action_data(action: Action) -> dict[str, Any]:
    """The JSON form of an action: snake_case keys, DNS changes spelled out."""
    if isinstance(action, DnsUnit):
        return {
            "kind": "dns",
            "phase": action.phase,
            "service": action.service,
            "changes": _changes_data(action.changes),
            "removed_addresses": list(action.removed_addresses),
            "reason": action.reason,
        }
    kind = type(action).__name__.lower()
    fields = {k: v for k, v in vars(action).items() if k not in ("phase",)}
    if isinstance(action, DrainStep):
        fields["change_ids"] = list(action.change_ids)
        fields["absent"] = [str(record) for record in action.absent]
    return {"kind": kind, "phase": action.phase, **fields}
