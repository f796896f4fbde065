"""The tests' one wait helper: poll until something holds, with a generous deadline for a
machine under load (a deadline to give up by, never a timing assertion)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
DEADLINE = 30.0


def eventually(
    probe: Callable[[], T | None], *, what: str, deadline: float = DEADLINE, every: float = 0.05
) -> T:
    """PROBE's first truthy answer, polled until DEADLINE seconds have passed."""
    end = time.monotonic() + deadline
    while True:
        answer = probe()
        if answer:
            return answer
        if time.monotonic() > end:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(every)
