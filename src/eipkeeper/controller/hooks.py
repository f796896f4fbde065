"""What one run of the engine tells its caller and asks of it, as one value.

The engine is built once from the config, the clients, the health source and the clock; what
differs between one command and the next (progress lines, a lease's fence, a stop request, a
progress bar, how long to wait) is a `Hooks` passed to `Engine.execute` or `Engine.run`."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Protocol


class Ticker(Protocol):
    def tick(self, elapsed: float) -> None: ...


class _Silent:
    def tick(self, elapsed: float) -> None:
        pass

    def count(self, done: int, total: int) -> None:
        pass


class Counter(Protocol):
    def count(self, done: int, total: int) -> None: ...


@contextmanager
def no_bar(description: str, total: float) -> Iterator[Ticker]:
    yield _Silent()


@contextmanager
def no_count(description: str) -> Iterator[Counter]:
    yield _Silent()


def _say_nothing(text: str) -> None:
    pass


def _tick_nothing(elapsed: float) -> None:
    pass


def _tell_nobody(instance_id: str, public_ip: str) -> None:
    pass


def _unfenced() -> None:
    pass


@dataclass(frozen=True)
class Hooks:
    on_step: Callable[[str], None] = _say_nothing
    """Each step, in words, before it is taken (the CLI prints it on stderr)."""
    on_tick: Callable[[float], None] = _tick_nothing
    """Progress while waiting for an association to show and answer."""
    on_associated: Callable[[str, str], None] = _tell_nobody
    """Told (instance id, address) right after each AssociateAddress call: health probes
    must follow the address at once, since the instance's dynamic address is gone."""
    fence: Callable[[], None] = _unfenced
    """Called before each mutating step; raises (LeaseLost) when this replica may no longer
    write (`run --lease-table`, controller/lease.py)."""
    stop: threading.Event | None = None
    """Set by SIGTERM: the apply ends after the step in progress (every step is idempotent)."""
    waiting: Callable[[str, float], AbstractContextManager[Ticker]] = no_bar
    """A progress bar for long waits (a drain's TTL or mail-queue wait)."""
    counting: Callable[[str], AbstractContextManager[Counter]] = no_count
    """Progress of a long DNS apply, told (changes accepted, all changes) after each message:
    the CLI draws a bar on a terminal and prints plain lines otherwise."""
    timeout: float = 300.0
    """Longest wait for an association to show and answer, or DNS to confirm."""
    wait_visible: bool = True
    """Wait until DescribeAddresses shows each association (`associate --no-wait`: not)."""
    sleep: Callable[[float], None] = time.sleep
    """How a wait passes time (tests give a fake clock's)."""

    @property
    def stopping(self) -> bool:
        return self.stop is not None and self.stop.is_set()
