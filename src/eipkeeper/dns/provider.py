"""The provider interface: read a zone, apply changes by compare-and-swap, confirm they are served.

As in octoDNS, the public methods live here and a provider fills in a few hooks: how to read,
how to split changes into atomic batches, how to send them, how to confirm. The base checks
what every provider must respect (names in the zone, one change per RRset, atomic units kept
whole) and turns a failure part-way through into an error that says what was applied.

Partial failure: each batch (an RFC 2136 message, a Route 53 change batch) is atomic, a change
set as a whole is not. When batch k fails, batches before it stay applied, k and the rest are
not; the error raised is an `ApplyInterrupted` that is also the usual ConflictError,
OperationError or TransientError, with `applied` and `not_applied`. Every change carries its
own compare-and-swap, so the caller re-reads the zone and re-plans; nothing is overwritten.
A batch whose answer was lost (a timeout after sending) is reported as not applied although
the server may have applied it: only the re-read can tell, and the compare-and-swap of the
next attempt makes either case safe.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import ClassVar, Generic, Protocol, TypeVar

from eipkeeper.dns.records import Change, Zone, in_zone
from eipkeeper.errors import (
    ConflictError,
    EipkeeperError,
    OperationError,
    PermissionDeniedError,
    TransientError,
)
from eipkeeper.logs import get_logger

log = get_logger(__name__)

Unit = tuple[Change, ...]
"""Changes that must land together (an RRset and its ownership record): never split."""
Clock = Callable[[], float]
Sleep = Callable[[float], None]


class Batch(Protocol):
    """What a provider applies atomically: an UPDATE message, a Route 53 change batch."""

    @property
    def changes(self) -> list[Change]: ...


BatchT = TypeVar("BatchT", bound=Batch)


@dataclass(frozen=True)
class ApplyResult:
    """What `apply` did: every change, the batches it took, and how to confirm them."""

    provider: str
    applied: tuple[Change, ...]
    batches: int
    serial: int | None = None
    """rfc2136: the zone's SOA serial on the primary after the last batch."""
    serial_before: int | None = None
    """rfc2136: the primary's serial before the first batch (the update must move it)."""
    serials_before: tuple[tuple[str, int], ...] = ()
    """rfc2136: (verify server, its serial) before the update, for those that answered."""
    change_ids: tuple[str, ...] = ()
    """route53: the ids of the change batches, for GetChange."""
    finished_at: float = 0.0
    """Wall-clock time (time.time()) when the last batch was accepted."""


@dataclass(frozen=True)
class ServerCheck:
    """One authoritative server (or one Route 53 change) during confirmation."""

    server: str
    confirmed_at: float | None = None
    """Wall-clock time when it first served the change; None when it never did."""
    serial: int | None = None
    """The last SOA serial it served (rfc2136)."""
    error: str = ""
    """Why it is not confirmed: its last error, its serial and the primary's, or what it
    still serves."""


@dataclass(frozen=True)
class Propagation:
    """Which servers serve a change. The S2 TTL clock starts at `confirmed_at`, not before."""

    serial: int | None
    servers: tuple[ServerCheck, ...] = field(default=())
    problem: str = ""
    """Why no server can ever confirm (a serial that went backwards): waiting is no use."""

    @property
    def complete(self) -> bool:
        return not self.problem and all(s.confirmed_at is not None for s in self.servers)

    def explain(self) -> str:
        """What stands in the way, server by server, for an error message."""
        if self.problem:
            return self.problem
        return "; ".join(f"{s.server}: {s.error}" for s in self.servers if s.confirmed_at is None)

    @property
    def lagging(self) -> tuple[str, ...]:
        return tuple(s.server for s in self.servers if s.confirmed_at is None)

    @property
    def confirmed_at(self) -> float | None:
        """When the last server confirmed; None while any lags."""
        if not self.complete:
            return None
        return max((s.confirmed_at or 0.0 for s in self.servers), default=0.0)


class ApplyInterrupted(EipkeeperError):
    """Mixed into the error raised when a batch fails: says what was and was not applied."""

    applied: tuple[Change, ...] = ()
    not_applied: tuple[Change, ...] = ()
    batches_applied: int = 0


class ApplyConflict(ApplyInterrupted, ConflictError):
    """A prerequisite failed (S5): re-read and re-plan."""


class ApplyTransient(ApplyInterrupted, TransientError):
    """The server did not answer or was busy: try again next round (after re-reading)."""


class ApplyDenied(ApplyInterrupted, PermissionDeniedError):
    """The credentials may not change this zone."""


class ApplyFailed(ApplyInterrupted, OperationError):
    """Any other failure of a batch."""


def _in_zone(change: Change, zone: Zone) -> bool:
    """CHANGE is what ZONE holds now: its new RRset is there (values and TTL), or it is gone."""
    found = zone.get(change.record.name, change.record.type)
    if change.new is None:
        return found is None
    return found is not None and (found.values, found.ttl) == (change.new.values, change.new.ttl)


def interrupted(
    error: EipkeeperError, *, applied: Sequence[Change], not_applied: Sequence[Change], batches: int
) -> ApplyInterrupted:
    """ERROR as an ApplyInterrupted of the same kind, its message saying what stayed applied."""
    kind: type[ApplyInterrupted] = ApplyFailed
    for base, wrapped in (
        (ConflictError, ApplyConflict),
        (TransientError, ApplyTransient),
        (PermissionDeniedError, ApplyDenied),
    ):
        if isinstance(error, base):
            kind = wrapped
            break
    total = len(applied) + len(not_applied)
    if applied:
        note = (
            f"; {len(applied)} of {total} changes were applied before it "
            f"({batches} batches), the other {len(not_applied)} were not: re-read and re-plan"
        )
    else:
        note = f"; none of the {total} changes was applied"
    result = kind(error.message + note)
    result.applied = tuple(applied)
    result.not_applied = tuple(not_applied)
    result.batches_applied = batches
    return result


class Provider(ABC, Generic[BatchT]):
    """A DNS zone that can be read, changed by compare-and-swap, and checked for propagation."""

    kind: ClassVar[str]
    """The `[dns] provider` value that selects this class."""

    def __init__(self, zone: str, *, clock: Clock = time.time, sleep: Sleep = time.sleep) -> None:
        self.zone = zone.lower().rstrip(".")
        self.clock = clock
        self.sleep = sleep
        self.on_progress: Callable[[int, int], None] = lambda sent, total: None
        """Told (changes accepted so far, all changes) after each batch of a long apply."""

    # -- the public face ----------------------------------------------------------------------

    def read_zone(self) -> Zone:
        started = time.perf_counter()
        zone = self._read()
        log.info(
            "dns.read",
            provider=self.kind,
            zone=self.zone,
            records=len(zone),
            serial=zone.serial,
            seconds=round(time.perf_counter() - started, 3),
        )
        return zone

    def apply(self, changes: Iterable[Change | Unit]) -> ApplyResult:
        """Apply CHANGES in order, each a compare-and-swap; a tuple is an atomic unit.

        Raises an ApplyInterrupted (ConflictError, TransientError, ...) when a batch fails.
        """
        units = [(c,) if isinstance(c, Change) else tuple(c) for c in changes]
        self._check(units)
        if not units:
            return ApplyResult(provider=self.kind, applied=(), batches=0, finished_at=self.clock())
        batches = self._batches(units)
        done: list[int] = []
        total = sum(len(b.changes) for b in batches)

        def accepted(index: int) -> None:
            done.append(index)
            if len(batches) > 1:
                self.on_progress(sum(len(batches[i].changes) for i in done), total)

        try:
            serial_before, serials_before = self._before()
            serial, change_ids = self._send(batches, accepted)
        except EipkeeperError as error:
            sent = [c for i in done for c in batches[i].changes]
            rest = [c for i in range(len(batches)) if i not in done for c in batches[i].changes]
            if isinstance(error, TransientError) and rest:
                error, landed = self._reread(error, rest)
                sent += landed
                rest = [c for c in rest if c not in landed]
            log.warning(
                "dns.apply.interrupted",
                provider=self.kind,
                zone=self.zone,
                batches_applied=len(done),
                batches=len(batches),
                error=error.message,
            )
            raise interrupted(error, applied=sent, not_applied=rest, batches=len(done)) from error
        applied = tuple(c for batch in batches for c in batch.changes)
        log.info(
            "dns.apply",
            provider=self.kind,
            zone=self.zone,
            changes=len(applied),
            batches=len(batches),
            serial=serial if serial is not None else "",
        )
        return ApplyResult(
            provider=self.kind,
            applied=applied,
            batches=len(batches),
            serial=serial,
            change_ids=change_ids,
            finished_at=self.clock(),
            serial_before=serial_before,
            serials_before=serials_before,
        )

    def batches(self, changes: Iterable[Change | Unit]) -> list[list[Change]]:
        """How `apply` would split CHANGES into atomic batches (for reports and benchmarks)."""
        units = [(c,) if isinstance(c, Change) else tuple(c) for c in changes]
        self._check(units)
        return [list(batch.changes) for batch in self._batches(units)] if units else []

    def confirm(self, result: ApplyResult, *, timeout: float = 60.0) -> Propagation:
        """Wait until every authoritative server serves RESULT, or TIMEOUT seconds pass."""
        propagation = self._confirm(result, timeout=timeout)
        log.info(
            "dns.confirm",
            provider=self.kind,
            zone=self.zone,
            complete=propagation.complete,
            lagging=",".join(propagation.lagging),
        )
        return propagation

    def _reread(
        self, error: TransientError, unknown: list[Change]
    ) -> tuple[EipkeeperError, list[Change]]:
        """After a timeout or a lost connection a message's outcome is unknown (the server
        may commit it after the client gave up): the zone, read again, tells which of UNKNOWN
        are in it (S8, S9). Returns the error to raise, saying so, and the changes found."""
        try:
            zone = self._read()
        except EipkeeperError as again:
            return TransientError(
                f"{error.message}; the outcome of {len(unknown)} changes is unknown (reading "
                f"the zone again failed too: {again.message}): the next round reads it first"
            ), []
        landed = [c for c in unknown if _in_zone(c, zone)]
        return TransientError(
            f"{error.message}; read again, the zone holds {len(landed)} of the "
            f"{len(unknown)} changes whose answer did not come"
        ), landed

    # -- hooks ----------------------------------------------------------------------------------

    @abstractmethod
    def _read(self) -> Zone: ...

    @abstractmethod
    def _batches(self, units: list[Unit]) -> list[BatchT]:
        """Pack UNITS, in order, into batches the provider applies atomically."""

    @abstractmethod
    def _send(
        self, batches: list[BatchT], applied: Callable[[int], None]
    ) -> tuple[int | None, tuple[str, ...]]:
        """Send BATCHES in order, calling APPLIED(index) after each accepted one.

        Returns (serial after the last batch, change ids); raises an EipkeeperError.
        """

    def _before(self) -> tuple[int | None, tuple[tuple[str, int], ...]]:
        """Serials read before sending, that the update must move past (rfc2136): the
        primary's, and each verify server's that answered."""
        return None, ()

    @abstractmethod
    def _confirm(self, result: ApplyResult, *, timeout: float) -> Propagation: ...

    # -- shared checks ------------------------------------------------------------------------

    def _check(self, units: list[Unit]) -> None:
        seen: set[tuple[str, str]] = set()
        for unit in units:
            if not unit:
                raise ValueError("an empty atomic unit")
            for change in unit:
                if not in_zone(change.record.name, self.zone):
                    raise OperationError(f"{change.record.name} is not in zone {self.zone}")
                if change.key in seen:
                    # Prerequisites of one message are all checked before any update in it, so
                    # two changes of one RRset cannot be chained; the planner must merge them.
                    raise ValueError(f"two changes of {change.key[1]} {change.key[0]} in one apply")
                seen.add(change.key)
