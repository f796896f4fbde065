"""fail_after / pass_after, the first result, and the time of the first failed probe."""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import given
from hypothesis import strategies as st

from eipkeeper.health.hysteresis import InstanceHealth, advance
from eipkeeper.health.probes import ProbeResult

PASS = ProbeResult(ok=True, detail="220 ok")
FAIL = ProbeResult(ok=False, detail="connection refused")


def run(
    results: Sequence[bool], *, fail_after: int = 3, pass_after: int = 2, start: float = 100.0
) -> list[InstanceHealth]:
    """The health after each result, probes one second apart from START."""
    health, seen = InstanceHealth(), []
    for index, ok in enumerate(results):
        health = advance(
            health,
            PASS if ok else FAIL,
            at=start + index,
            fail_after=fail_after,
            pass_after=pass_after,
        )
        seen.append(health)
    return seen


def test_a_never_probed_instance_is_not_healthy() -> None:
    assert InstanceHealth().state == "unknown" and not InstanceHealth().healthy


def test_a_first_pass_decides_and_a_first_failure_waits_for_its_streak() -> None:
    """S6, judged fairly: an instance first probed while its address still switches is not
    failed on that one probe; it stays undecided until fail_after failures in a row."""
    assert run([True])[-1].state == "healthy"
    assert [h.state for h in run([False, False, False], fail_after=3)] == [
        "unknown",
        "unknown",
        "unhealthy",
    ]
    assert run([False, False, True], fail_after=3)[-1].state == "healthy"


def test_healthy_turns_unhealthy_only_after_fail_after_failures_in_a_row() -> None:
    states = [h.state for h in run([True, False, False, True, False, False, False])]
    assert states == [
        "healthy",
        "healthy",
        "healthy",
        "healthy",  # a pass in between starts the count again
        "healthy",
        "healthy",
        "unhealthy",
    ]


def test_first_failure_is_the_start_of_the_streak_that_counted() -> None:
    seen = run([True, False, True, False, False, False])
    assert seen[1].first_failure_at == 101.0
    assert seen[2].first_failure_at is None, "a pass ends the streak"
    last = seen[-1]
    assert last.state == "unhealthy"
    assert last.first_failure_at == 103.0
    assert last.since == 105.0, "it turned at the third failure"
    assert last.since - last.first_failure_at == 2.0, "interval x (fail_after - 1)"


def test_unhealthy_turns_healthy_after_pass_after_passes_in_a_row() -> None:
    results = [False, False, False, True, False, True, True]
    states = [h.state for h in run(results, fail_after=3, pass_after=2)]
    assert states == [
        "unknown",
        "unknown",
        "unhealthy",
        "unhealthy",
        "unhealthy",
        "unhealthy",
        "healthy",
    ]


def test_a_persisting_failure_keeps_its_first_failure_time() -> None:
    seen = run([True, *[False] * 10], fail_after=3)
    assert {h.first_failure_at for h in seen[1:]} == {101.0}
    assert seen[-1].failures == 10 and seen[-1].passes == 0


@given(
    results=st.lists(st.booleans(), min_size=1, max_size=40),
    fail_after=st.integers(1, 5),
    pass_after=st.integers(1, 5),
)
def test_a_change_needs_its_whole_streak(
    results: list[bool], fail_after: int, pass_after: int
) -> None:
    seen = run(results, fail_after=fail_after, pass_after=pass_after)
    for index in range(1, len(seen)):
        before, after = seen[index - 1], seen[index]
        if before.state == after.state:
            continue
        needed = fail_after if after.state == "unhealthy" else pass_after
        if before.state == "unknown" and after.state == "healthy":
            needed = 1  # undecided: the first pass decides
        streak = results[index - needed + 1 : index + 1] if index + 1 >= needed else []
        assert len(streak) == needed
        assert all(ok == (after.state == "healthy") for ok in streak)
        assert after.since == 100.0 + index
