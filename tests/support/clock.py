"""The tests' one fake clock: time that moves only when the code under test sleeps or waits,
or when the test says so; acts scheduled at a fake time run in order as it passes."""

from __future__ import annotations

import heapq
import threading
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class FakeClock:
    now: float = 1_800_000_000.0
    slept: float = 0.0
    """Seconds the code under test slept through (sleep and advance)."""
    _acts: list[tuple[float, int, Callable[[], None]]] = field(default_factory=list)

    def __call__(self) -> float:
        return self.now

    def time(self) -> float:
        return self.now

    def monotonic(self) -> float:
        return self.now

    def at(self, when: float, act: Callable[[], None]) -> None:
        """Run ACT once the clock reaches WHEN."""
        heapq.heappush(self._acts, (when, len(self._acts), act))

    def advance(self, seconds: float) -> None:
        until = self.now + seconds
        while self._acts and self._acts[0][0] <= until:
            when, _, act = heapq.heappop(self._acts)
            self.now = max(self.now, when)
            act()
        self.now = until
        self.slept += seconds

    sleep = advance

    def wait(self, event: threading.Event, timeout: float) -> bool:
        """`event.wait(timeout)` on this clock: scheduled acts may set EVENT meanwhile."""
        until = self.now + timeout
        while not event.is_set():
            if not self._acts or self._acts[0][0] > until:
                self.now = max(self.now, until)
                return False
            when, _, act = heapq.heappop(self._acts)
            self.now = max(self.now, when)
            act()
        return True
