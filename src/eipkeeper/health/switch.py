"""The switch of an address from one instance to another, as a client probing it saw it.

Pure functions over the samples an `AddressWatch` took, so the timeline (last answer from the
old instance, first from the new, the gap with no answer at all, flapping) is tested on
hand-made samples.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from eipkeeper.health.probes import ProbeResult
from eipkeeper.model import Instance

STEADY_PROBES = 10
"""Consecutive answers from the new instance that make a switch steady (half a second at the
default 20 probes a second): enough to see a data plane that still alternates."""

Who = Literal["old", "new", "other", "anonymous", "none"]


@dataclass(frozen=True)
class Sample:
    at: float
    """When the probe started (the watch's clock)."""
    result: ProbeResult


def instance_names(instance: Instance) -> frozenset[str]:
    """What an answer from INSTANCE may call it: its id or its Name tag."""
    names = {instance.instance_id.lower()}
    if instance.name:
        names.add(instance.name.lower())
    return frozenset(names)


def is_from(answered_by: str, names: frozenset[str]) -> bool:
    """Whether an answer naming ANSWERED_BY (`i-0abc`, `mx-a`, `mx-a.example.com`) is from the
    instance called NAMES."""
    said = answered_by.lower().rstrip(".")
    return bool(said) and (said in names or said.split(".", 1)[0] in names)


def classify(sample: Sample, *, old: frozenset[str], new: frozenset[str]) -> Who:
    if not sample.result.ok:
        return "none"
    said = sample.result.answered_by
    if not said:
        return "anonymous"
    if is_from(said, new):
        return "new"
    if is_from(said, old):
        return "old"
    return "other"


def steady_index(whos: Sequence[Who], *, wanted: Who, steady: int) -> int | None:
    """Where the first run of STEADY consecutive WANTED answers starts, if any."""
    run = 0
    for index, who in enumerate(whos):
        run = run + 1 if who == wanted else 0
        if run >= steady:
            return index - steady + 1
    return None


@dataclass(frozen=True)
class SwitchTimeline:
    """Times are seconds after the AssociateAddress call (negative: before it)."""

    identified: bool
    """Whether the answers named who answered; without that, old and new look alike and
    only the gap and steadiness are known."""
    probes: int
    answered: int
    last_old_at: float | None
    first_new_at: float | None
    steady_at: float | None
    """When the run of answers that made the switch steady began; None: never steady."""
    gap: float
    """Seconds with no answer at all, from the first probe until steady (or the last probe)."""
    flaps: int
    """Times the answers went back from the new instance to the old one."""
    others: tuple[str, ...]
    """Answers from neither instance."""

    @property
    def steady(self) -> bool:
        return self.steady_at is not None


def analyse(
    samples: Iterable[Sample],
    *,
    call_at: float,
    old: frozenset[str],
    new: frozenset[str],
    visible_at: float | None = None,
    steady: int = STEADY_PROBES,
) -> SwitchTimeline:
    """The timeline of SAMPLES around a call made at CALL_AT (same clock).

    When answers name nobody (tcp, spamd, http checks), steadiness counts answers to probes
    started once the association was visible (VISIBLE_AT), the best a client can tell.
    """
    ordered = sorted(samples, key=lambda s: s.at)
    whos = [classify(s, old=old, new=new) for s in ordered]
    identified = any(w in ("old", "new", "other") for w in whos)
    if identified:
        start = steady_index(whos, wanted="new", steady=steady)
    else:
        after = visible_at if visible_at is not None else call_at
        masked: list[Who] = [
            "new" if w == "anonymous" and s.at >= after else "none"
            for s, w in zip(ordered, whos, strict=True)
        ]
        start = steady_index(masked, wanted="new", steady=steady)
    end = start if start is not None else len(ordered)

    def since_call(index: int | None) -> float | None:
        return None if index is None else round(ordered[index].at - call_at, 3)

    olds = [i for i, w in enumerate(whos) if w == "old"]
    news = [i for i, w in enumerate(whos) if w == "new"]
    return SwitchTimeline(
        identified=identified,
        probes=len(ordered),
        answered=sum(1 for w in whos if w != "none"),
        last_old_at=since_call(olds[-1] if olds else None),
        first_new_at=since_call(news[0] if news else None),
        steady_at=since_call(start),
        gap=round(_silence(ordered, whos, end=end), 3),
        flaps=_returns(whos),
        others=tuple(
            sorted(
                {s.result.answered_by for s, w in zip(ordered, whos, strict=True) if w == "other"}
            )
        ),
    )


def _silence(ordered: Sequence[Sample], whos: Sequence[Who], *, end: int) -> float:
    """Total time of the runs of unanswered probes before index END: each run lasts from its
    first probe to the next answered one (or to the last probe, if none answered after it)."""
    total = 0.0
    run_start: float | None = None
    for index in range(len(ordered)):
        if whos[index] == "none" and index < end:
            run_start = ordered[index].at if run_start is None else run_start
        elif run_start is not None:
            total += ordered[index].at - run_start
            run_start = None
    if run_start is not None and ordered:
        total += ordered[-1].at - run_start
    return total


def _returns(whos: Sequence[Who]) -> int:
    """How often the answers went from the new instance back to the old one."""
    last: Who | None = None
    count = 0
    for who in whos:
        if who not in ("old", "new"):
            continue
        if last == "new" and who == "old":
            count += 1
        last = who
    return count
