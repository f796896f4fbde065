"""The SPEC's safety rules, read from the real world after every step of the model test, and
at the moment eipkeeper makes each AWS call (through the proxy's watcher).

A violation is kept, not raised here: the state machine decides (known-today list) and the
soak counts them.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from eipkeeper.dns.markers import marker_name, parse_claim
from eipkeeper.model import TAG_DRAIN, TAG_LEFT_DNS_AT, TAG_REPLACES
from tests.model.s9 import S9Watch
from tests.model.world import LAG, OWNER, QUARANTINE, Rrset, Snapshot, World

BURST_ABOVE = 500.0
MAX_CHANGE_PERCENT = 30.0
LOAD_MEMORY = 180.0
"""Seconds a load value may still weigh in the metric eipkeeper reads (its period and more)."""
STABLE = 3.0
"""A holder healthy and associated for this long is one no check may fairly fail."""
MUTATING = frozenset(
    {
        "AssociateAddress",
        "DisassociateAddress",
        "ReleaseAddress",
        "AllocateAddress",
        "CreateTags",
        "DeleteTags",
        "RunInstances",
        "TerminateInstances",
        "StopInstances",
        "StartInstances",
        "ModifyAddressAttribute",
        "ResetAddressAttribute",
    }
)
CONTROLLER = frozenset({"apply", "run"})


@dataclass(frozen=True)
class Violation:
    rule: str
    detail: str
    step: int
    command: str


@dataclass
class Window:
    opened: float
    cause: str
    rounds: int = 0


def managed_values(zone: dict[tuple[str, str], Rrset], *, foreign: set[str]) -> dict[str, set[str]]:
    """Name -> the A/AAAA values this owner manages there, as its ownership records say.
    FOREIGN: values the test itself added by hand (an owner-less share of the set)."""
    out: dict[str, set[str]] = {}
    for (name, rdtype), rrset in zone.items():
        if rdtype not in ("A", "AAAA"):
            continue
        marker = zone.get((marker_name(name, rdtype), "TXT"))
        if marker is None:
            continue
        for text in marker.values:
            claim = parse_claim(text)
            if claim is None or claim.owner != OWNER:
                continue
            values = set(rrset.values) if claim.values is None else set(claim.values)
            out[name] = (values & set(rrset.values)) - foreign
    return out


def _form_list(form: dict[str, list[str]], prefix: str) -> list[str]:
    return [v[0] for k, v in sorted(form.items()) if k.startswith(prefix)]


@dataclass
class Checker:
    world: World
    step: int = 0
    command: str = ""
    """The eipkeeper command running now ("" while the cloud acts on its own)."""
    violations: list[Violation] = field(default_factory=list)
    planted: dict[tuple[str, str], Rrset] = field(default_factory=dict)
    """Records of nobody or of another owner: byte-identical for ever (S4)."""
    kept_values: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    """Values added by hand to an RRset eipkeeper shares: never deleted by it (S4, S5)."""
    kept_by: dict[str, str] = field(default_factory=dict)
    """Kept value -> the rule its loss breaks: S4 (added by hand between commands) or S5
    (added while a command was between its read and its write)."""
    windows: dict[str, Window] = field(default_factory=dict)
    closed_windows: list[float] = field(default_factory=list)
    oob_since_round: list[str] = field(default_factory=list)
    ever_published: set[str] = field(default_factory=set)
    failure_epoch: int = 0
    controller_moved_at: dict[str, tuple[int, str]] = field(default_factory=dict)
    changed_at: dict[str, float] = field(default_factory=dict)
    """Instance -> when its health or its address last changed (the test's doing or a move)."""
    load: float = 10.0
    loads: list[tuple[float, float]] = field(default_factory=list)
    """(when, value) of every load the test put."""
    seen_calls: int = 0
    step_started: float = 0.0
    """When the current step began (wall clock, as the checks' `now`)."""
    s9: S9Watch = field(init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.s9 = S9Watch(self.flag)

    def flag(self, rule: str, detail: str) -> None:
        with self._lock:
            self.violations.append(Violation(rule, detail, self.step, self.command))

    # -- what the machine tells the checker ------------------------------------------------

    def behind_the_back(self, what: str, *, failure: bool = True) -> None:
        """The cloud changed without eipkeeper: a window opens for S1, and a failure allows
        one more move."""
        self.oob_since_round.append(what)
        if failure:
            self.failure_epoch += 1

    def round_done(self) -> None:
        self.s9.round_done(self.step_started)
        self.oob_since_round.clear()
        for window in self.windows.values():
            window.rounds += 1

    def deliberate(self) -> None:
        """An operator's move, drain or association: the next controller move is a new one."""
        self.failure_epoch += 1

    @property
    def foreign(self) -> set[str]:
        return {v for values in self.kept_values.values() for v in values}

    # -- at the moment of each AWS call (the proxy's thread) -------------------------------

    def on_call(self, action: str, form: dict[str, list[str]]) -> None:
        self.seen_calls += 1
        try:
            if self.command == "plan" and action in MUTATING:
                self.flag("plan-wrote", f"plan called {action}")
            if action == "ReleaseAddress":
                self._release(form)
            elif action in ("TerminateInstances", "StopInstances"):
                self._shutdown(action, _form_list(form, "InstanceId."))
            elif action == "AssociateAddress":
                self._associate(form)
            elif action == "RunInstances":
                self.s9.launched(form)
                self._launch(form)
        except Exception as exc:  # a watcher must never break the proxy
            self.flag("checker-error", f"{action}: {type(exc).__name__}: {exc}")

    def _published(self) -> dict[str, set[str]]:
        return managed_values(self.world.zone(), foreign=self.foreign)

    def _release(self, form: dict[str, list[str]]) -> None:
        ec2 = self.world.client("ec2")
        allocation = form.get("AllocationId", [""])[0]
        found = [
            a
            for a in ec2.describe_addresses()["Addresses"]
            if a["AllocationId"] == allocation or a["PublicIp"] == form.get("PublicIp", [""])[0]
        ]
        if not found:
            return
        address = found[0]
        ip = address["PublicIp"]
        zone = self.world.zone()
        names = [
            n for n, values in managed_values(zone, foreign=self.foreign).items() if ip in values
        ]
        spf = [
            n
            for (n, t), r in zone.items()
            if t == "TXT" and any(f"ip4:{ip}" in v for v in r.values)
        ]
        if names or spf:
            self.flag("S2", f"ReleaseAddress {ip} while {names + spf} refer to it")
        tags = {t["Key"]: t["Value"] for t in address.get("Tags", [])}
        left = tags.get(TAG_LEFT_DNS_AT, "")
        if left:
            age = time.time() - datetime.fromisoformat(left).timestamp()
            if age < QUARANTINE:
                self.flag("S3", f"ReleaseAddress {ip} {age:.1f}s after it left DNS")
        elif ip in self.ever_published:
            self.flag("S3", f"ReleaseAddress {ip}: it was in DNS and has no {TAG_LEFT_DNS_AT} tag")

    def _shutdown(self, action: str, instance_ids: list[str]) -> None:
        snapshot = self.world.snapshot()
        published = managed_values(snapshot.zone, foreign=self.foreign)
        eips = {a["PublicIp"] for a in snapshot.addresses}
        for instance_id in instance_ids:
            item = snapshot.instance(instance_id)
            ip = (item or {}).get("PublicIpAddress", "")
            names = [n for n, values in published.items() if ip and ip in values]
            if names and ip not in eips:
                self.flag("S2", f"{action} {instance_id} while {names} name its address {ip}")

    def _associate(self, form: dict[str, list[str]]) -> None:
        snapshot = self.world.snapshot()
        allocation = form.get("AllocationId", [""])[0]
        target = form.get("InstanceId", [""])[0]
        if not target:
            eni = form.get("NetworkInterfaceId", [""])[0]
            for candidate in snapshot.instances:
                nics = candidate.get("NetworkInterfaces", [])
                if any(n["NetworkInterfaceId"] == eni for n in nics):
                    target = candidate["InstanceId"]
        address = next((a for a in snapshot.addresses if a["AllocationId"] == allocation), None)
        item = snapshot.instance(target)
        if address is None or item is None:
            return
        now = time.time()
        ip, holder = address["PublicIp"], address.get("InstanceId", "")
        allow = form.get("AllowReassociation", [""])[0].lower()
        # Judged on what eipkeeper could see: EC2's Describe may show the address held for
        # up to the lag after it was freed (S9), and a move of a held address passes true.
        seen_free = now - self.s9.holder_changed.get(allocation, 0.0) > LAG[1] + 1.0
        if not holder and allow != "false" and seen_free:
            self.flag("S6", f"claim of free {ip} without AllowReassociation=false ({allow!r})")
        eips = {a["PublicIp"] for a in snapshot.addresses}
        own = item.get("PublicIpAddress", "")
        names = [n for n, vs in self._published_from(snapshot).items() if own and own in vs]
        if own and own not in eips and names:
            self.flag("S1", f"{ip} onto {target}, whose own address {own} {names} name")
        tags = snapshot.tags(item)
        healthy = item["State"]["Name"] == "running" and tags.get("sandbox:answer") != "no"
        if self.command in (*CONTROLLER, "move", "drain") and not healthy:
            self.flag("S6", f"{self.command}: {ip} onto {target}, which cannot pass its check")
        if self.command in (*CONTROLLER, "drain") and snapshot.role(item) != "mx":
            self.flag("S6", f"{self.command}: {ip} onto {target} of another service")
        others = [
            a["PublicIp"]
            for a in snapshot.pool()
            if a.get("InstanceId") == target and a["AllocationId"] != allocation
        ]
        if others:
            self.flag("two-holders", f"{ip} onto {target}, which holds {others}")
        if self.command in CONTROLLER and holder and holder != target:
            self._fairly_judged(snapshot, ip, holder, now=now)
            # A retried call (after a throttle, a 5xx or a dropped connection) is the same move.
            last = self.controller_moved_at.get(allocation)
            if last is not None and last[0] == self.failure_epoch and last[1] != target:
                self.flag("moved-twice", f"{ip} moved again ({holder} -> {target}), no new failure")
            self.controller_moved_at[allocation] = (self.failure_epoch, target)
        self.changed_at[target] = now
        if holder:
            self.changed_at[holder] = now

    def _fairly_judged(self, snapshot: Snapshot, ip: str, holder: str, *, now: float) -> None:
        """S6: the controller takes an EIP from a holder only once it failed; one that runs,
        answers, and has not changed for STABLE seconds has not. A holder with a drain under
        way is leaving: a drain killed before its move is finished by the controller (SPEC
        section 4, `drain`), so taking its EIP is the operator's order, not a judgement."""
        item = snapshot.instance(holder)
        if item is None or item["State"]["Name"] != "running":
            return
        if TAG_DRAIN in snapshot.tags(item):
            return
        answers = snapshot.tags(item).get("sandbox:answer") != "no"
        if answers and now - self.changed_at.get(holder, 0.0) > STABLE:
            self.flag("moved-healthy", f"{self.command}: {ip} taken from healthy {holder}")

    def _published_from(self, snapshot: Snapshot) -> dict[str, set[str]]:
        return managed_values(snapshot.zone, foreign=self.foreign)

    def _launch(self, form: dict[str, list[str]]) -> None:
        keys = {k: v[0] for k, v in form.items() if k.startswith("TagSpecification.")}
        replaces = ""
        for key, value in keys.items():
            if key.endswith(".Key") and value == TAG_REPLACES:
                replaces = keys.get(key[:-4] + ".Value", "")
        snapshot = self.world.snapshot()
        now = time.time()
        if not replaces:
            # CloudWatch averages over the metric's period: a peak put a minute ago still counts.
            recent = [v for at, v in self.loads if now - at < LOAD_MEMORY] + [self.load]
            if max(recent) <= BURST_ABOVE:
                self.flag("launch", f"a burst launched while the load was {max(recent):g}")
            return
        address = next(
            (a for a in snapshot.pool() if snapshot.tags(a).get("eipkeeper:hostname") == replaces),
            None,
        )
        if address is None:
            return
        holder = snapshot.instance(address.get("InstanceId", ""))
        if holder is None:
            return
        tags = snapshot.tags(holder)
        stable = now - self.changed_at.get(holder["InstanceId"], 0.0) > STABLE
        if holder["State"]["Name"] == "running" and tags.get("sandbox:answer") != "no" and stable:
            self.flag("launch", f"replacement for {replaces} while its holder is healthy")

    # -- after every step ------------------------------------------------------------------

    def check(
        self, before: Snapshot | None, after: Snapshot, *, command: str, forced: bool = False
    ) -> None:
        now = time.time()
        published = managed_values(after.zone, foreign=self.foreign)
        eips = {a["PublicIp"] for a in after.addresses}
        dynamic = {
            i.get("PublicIpAddress", "")
            for i in after.instances
            if i["State"]["Name"] == "running" and after.role(i) == "scan"
        }
        held = eips | dynamic
        dangling = {v for values in published.values() for v in values} - held
        self.ever_published |= {v for values in published.values() for v in values} & eips
        for value in sorted(dangling):
            window = self.windows.get(value)
            names = sorted(n for n, vs in published.items() if value in vs)
            if window is None:
                if self.oob_since_round:
                    self.windows[value] = Window(now, "; ".join(self.oob_since_round))
                else:
                    self.flag("S1", f"{names} -> {value}, not held, nothing done behind the back")
                    self.windows[value] = Window(now, "eipkeeper")
            elif window.rounds > 0 and window.cause != "eipkeeper":
                self.flag(
                    "S1", f"{names} -> {value} still published after a round ({window.cause})"
                )
                window.cause = "eipkeeper"
        for value in list(self.windows):
            if value not in dangling:
                self.closed_windows.append(now - self.windows.pop(value).opened)
        self._others_kept(after)
        self._one_holder_each(after)
        self.s9.check(after, now, before=before)
        if before is not None and command in CONTROLLER and not forced:
            self._blast_radius(before, after)

    def _others_kept(self, after: Snapshot) -> None:
        """S4 and S5: records of nobody or another owner byte-identical; values others added
        to a shared set still there."""
        for key, rrset in self.planted.items():
            if after.zone.get(key) != rrset:
                self.flag("S4", f"{key} was {rrset}, now {after.zone.get(key)}")
        for key, values in self.kept_values.items():
            present = set(after.zone[key].values) if key in after.zone else set()
            for lost in sorted(values - present):
                self.flag(self.kept_by.get(lost, "S4"), f"{key} lost {lost!r}, a value of others")
                values.intersection_update(present)  # said once; the rest must stay

    def _one_holder_each(self, after: Snapshot) -> None:
        holders: dict[str, list[str]] = {}
        for address in after.pool():
            if address.get("InstanceId"):
                holders.setdefault(address["InstanceId"], []).append(address["PublicIp"])
        for instance_id, ips in holders.items():
            if len(ips) > 1:
                self.flag("two-holders", f"{instance_id} holds {ips}")

    def _blast_radius(self, before: Snapshot, after: Snapshot) -> None:
        old = managed_values(before.zone, foreign=self.foreign)
        new = managed_values(after.zone, foreign=self.foreign)
        if len(old) >= 10:
            changed = sum(1 for name, values in old.items() if new.get(name) != values)
            if changed * 100 > MAX_CHANGE_PERCENT * len(old):
                self.flag("S7", f"{changed} of {len(old)} managed records changed without --force")

    def summary(self) -> dict[str, Any]:
        return {
            "s1_windows": len(self.closed_windows) + len(self.windows),
            "s1_window_max_s": round(max(self.closed_windows, default=0.0), 2),
            "calls_watched": self.seen_calls,
        }
