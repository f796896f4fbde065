"""Hysteresis: one bad probe does not make an instance unhealthy, nor one good probe healthy.

An instance turns unhealthy after `fail_after` consecutive failed probes and healthy again
after `pass_after` consecutive passes. It starts `unknown` (undecided: not a target for an
address, not a failed holder either); a first pass makes it healthy, and `fail_after` failures
in a row make it unhealthy, from `unknown` as from `healthy` (S6: judged fairly). Waiting for
`pass_after` passes from `unknown` would, each time the controller starts, leave no standby for
`pass_after x interval`.

Pure functions over frozen values, so every rule is tested on a fake clock.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from eipkeeper.health.probes import ProbeResult

State = Literal["unknown", "healthy", "unhealthy"]


@dataclass(frozen=True)
class InstanceHealth:
    state: State = "unknown"
    passes: int = 0
    """Consecutive passed probes, up to the latest."""
    failures: int = 0
    """Consecutive failed probes, up to the latest."""
    first_failure_at: float | None = None
    """When the first failed probe of the current failure streak started; None while passing.
    Failover is timed from here ("seconds from the first failed probe")."""
    since: float | None = None
    """When the state last changed."""
    last: ProbeResult | None = None
    last_at: float | None = None

    @property
    def healthy(self) -> bool:
        return self.state == "healthy"


def advance(
    health: InstanceHealth,
    result: ProbeResult,
    *,
    at: float,
    fail_after: int,
    pass_after: int,
) -> InstanceHealth:
    """HEALTH after RESULT, of a probe that started at AT."""
    if result.ok:
        passes, failures, first_failure = health.passes + 1, 0, None
        turns = health.state == "unknown" or (health.state == "unhealthy" and passes >= pass_after)
        state: State = "healthy" if turns else health.state
    else:
        passes, failures = 0, health.failures + 1
        first_failure = health.first_failure_at if health.failures else at
        # Failed only after FAIL_AFTER failures in a row, from `unknown` too (S6, judged
        # fairly): a holder probed once while its address is still switching is not failed.
        turns = health.state != "unhealthy" and failures >= fail_after
        state = "unhealthy" if turns else health.state
    return replace(
        health,
        state=state,
        passes=passes,
        failures=failures,
        first_failure_at=first_failure,
        since=at if state != health.state else health.since,
        last=result,
        last_at=at,
    )
