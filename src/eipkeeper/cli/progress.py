"""Long waits: a progress bar on a terminal, plain progress lines otherwise (SPEC.md section 4)."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # rich is imported only to draw a bar on a terminal
    from rich.progress import Progress, ProgressColumn, TaskID


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


def _bar_of(count: ProgressColumn) -> Progress:
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        count,
        console=Console(stderr=True),
        transient=True,
    )


@contextmanager
def progress(description: str, total: float) -> Iterator[ProgressReporter]:
    reporter = ProgressReporter(description, total)
    if not sys.stderr.isatty():
        yield reporter
        return
    from rich.progress import TimeElapsedColumn

    with _bar_of(TimeElapsedColumn()) as bar:
        reporter._bar = bar
        reporter._task = bar.add_task(description, total=total)  # type: ignore[assignment]
        started = time.monotonic()
        yield reporter
        bar.update(reporter._task, completed=min(time.monotonic() - started, total))  # type: ignore[arg-type]


class CountReporter:
    """Report a count of TOTAL done (a long DNS apply's changes, message by message)."""

    def __init__(self, description: str, *, terminal: bool) -> None:
        self.description = description
        self._terminal = terminal
        self._bar: Progress | None = None
        self._task: TaskID | None = None

    def count(self, done: int, total: int) -> None:
        if not self._terminal:
            print(f"  {self.description}: {done} of {total}", file=sys.stderr, flush=True)
            return
        if self._bar is None:  # drawn at the first count: an apply of one message tells none
            from rich.progress import MofNCompleteColumn

            self._bar = _bar_of(MofNCompleteColumn())
            self._bar.start()
            self._task = self._bar.add_task(self.description, total=total)
        assert self._task is not None
        self._bar.update(self._task, completed=done, total=total)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()


@contextmanager
def counting(description: str) -> Iterator[CountReporter]:
    """A bar on a terminal (drawn at the first count), plain lines otherwise."""
    reporter = CountReporter(description, terminal=sys.stderr.isatty())
    try:
        yield reporter
    finally:
        reporter.close()
