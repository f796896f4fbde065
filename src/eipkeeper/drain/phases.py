"""The drain's progress as kept on the instance's `eipkeeper:drain` tag: pure."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from eipkeeper.logs import get_logger
from eipkeeper.tagtime import parse_stamp, utc_stamp

log = get_logger(__name__)

Route = Literal["dns", "move", "direct"]
Step = Literal["withdraw", "confirm", "wait", "move", "act"]
PhaseName = Literal["started", "dns-out", "confirmed", "waited", "moved", "done"]

ROUTES: dict[Route, tuple[Step, ...]] = {
    "dns": ("withdraw", "confirm", "wait", "act"),
    "move": ("move", "act"),
    "direct": ("act",),
}
AFTER: dict[PhaseName, tuple[Step, ...]] = {
    "dns-out": ("confirm", "wait", "act"),
    "confirmed": ("wait", "act"),
    "waited": ("act",),
    "moved": ("act",),
    "done": (),
}
CONFIRM_ROUND = 5.0
"""Seconds per confirmation round: laggards are reported between rounds."""
CONFLICT_RETRIES = 3
"""A concurrent `run` may change the same RRset (S5): re-read and retry this many times."""


# -- the phase on the tag: pure ------------------------------------------------------------------


@dataclass(frozen=True)
class Phase:
    """The drain phase an instance reached, as its TAG_DRAIN tag holds it."""

    name: PhaseName
    ttl: int = 0
    """dns-out, confirmed: how long caches may keep what was removed (seconds)."""
    serial: int | None = None
    """dns-out: the zone serial to confirm (RFC 2136)."""
    changes: tuple[str, ...] = ()
    """dns-out: the change ids to confirm (Route 53)."""
    at: float = 0.0
    """confirmed: when every server served the removal (rounded up to the second)."""
    to: str = ""
    """moved: the standby that took the EIP."""
    then: str = ""

    def text(self) -> str:
        words: list[str] = [self.name]
        if self.name in ("dns-out", "confirmed"):
            if self.name == "confirmed":
                words.append(f"at={utc_stamp(self.at)}Z")
            words.append(f"ttl={self.ttl}")
        if self.serial is not None:
            words.append(f"serial={self.serial}")
        if self.changes:
            words.append("change=" + ",".join(self.changes))
        if self.to:
            words.append(f"to={self.to}")
        if self.then:
            words.append(f"then={self.then}")
        return " ".join(words)


def parse_phase(text: str) -> Phase | None:
    """The phase in a TAG_DRAIN value; None for no drain. What cannot be read counts as
    `started`, which redoes every step: each is idempotent, and the full wait is the safe side."""
    words = text.split()
    if not words:
        return None
    name, fields = words[0], dict(w.partition("=")[::2] for w in words[1:])
    try:
        if name in ("started", "waited"):
            return Phase(name)  # type: ignore[arg-type]
        if name == "dns-out":
            serial = int(fields["serial"]) if "serial" in fields else None
            changes = tuple(c for c in fields.get("change", "").split(",") if c)
            return Phase("dns-out", ttl=int(fields["ttl"]), serial=serial, changes=changes)
        if name == "confirmed":
            at = parse_stamp(fields["at"])
            if at is None:
                raise ValueError(fields["at"])
            return Phase("confirmed", ttl=int(fields["ttl"]), at=at)
        if name == "moved":
            return Phase("moved", to=fields.get("to", ""))
        if name == "done":
            return Phase("done", then=fields.get("then", ""))
    except (KeyError, ValueError):
        pass
    return Phase("started")


def steps_after(phase: Phase | None, route: Route) -> tuple[Step, ...]:
    """What is left to do: the whole route from the start, else what follows the phase."""
    if phase is None or phase.name == "started":
        return ROUTES[route]
    return AFTER[phase.name]


def wait_left(phase: Phase, *, margin: float, now: float) -> float:
    """Seconds until caches have forgotten the removal: TTL plus margin after confirmation."""
    return max(0.0, phase.at + phase.ttl + margin - now)
