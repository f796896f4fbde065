"""Long waits: a progress bar on a terminal, plain progress lines otherwise (SPEC.md section 4)."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # rich is imported only to draw a bar on a terminal
    from rich.progress import Progress


class ProgressReporter:
    """Report elapsed seconds of a wait bounded by TOTAL seconds."""

    def __init__(self, description: str, total: float, *, plain_every: float = 5.0) -> None:
        self.description = description
        self.total = total
        self._plain_every = plain_every
        self._last_plain = -plain_every
        self._bar: Progress | None = None
        self._task = None

    def tick(self, elapsed: float) -> None:
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, completed=min(elapsed, self.total))
        elif elapsed - self._last_plain >= self._plain_every:
            self._last_plain = elapsed
            print(
                f"{self.description}: {elapsed:.0f}s of at most {self.total:.0f}s",
                file=sys.stderr,
                flush=True,
            )


@contextmanager
def progress(description: str, total: float) -> Iterator[ProgressReporter]:
    reporter = ProgressReporter(description, total)
    if not sys.stderr.isatty():
        yield reporter
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        reporter._bar = bar
        reporter._task = bar.add_task(description, total=total)  # type: ignore[assignment]
        started = time.monotonic()
        yield reporter
        bar.update(reporter._task, completed=min(time.monotonic() - started, total))  # type: ignore[arg-type]
