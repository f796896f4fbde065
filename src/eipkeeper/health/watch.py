"""`AddressWatch`: one address probed many times a second while something changes under it.

Probes start on a fixed cadence (every 50 ms by default) whether or not the previous one has
finished, so a probe hanging until its timeout does not blind the watch; each sample is filed
under the time its probe started. `move`, `associate` and the failover benchmark use it.
"""

from __future__ import annotations

import asyncio
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from types import TracebackType

from eipkeeper.config import CheckConfig
from eipkeeper.health.probes import probe
from eipkeeper.health.switch import Sample
from eipkeeper.health.tls import TlsContexts

DEFAULT_EVERY = 0.05
TICK = 0.25
"""How often `wait_for` reports progress while it waits."""


class AddressWatch:
    def __init__(
        self,
        *,
        host: str,
        check: CheckConfig,
        tls: TlsContexts,
        every: float = DEFAULT_EVERY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.host = host
        self.check = check
        self.every = every
        self._tls = tls
        self._clock = clock
        self._samples: list[Sample] = []
        self._changed = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def samples(self) -> list[Sample]:
        """Every finished probe so far, in the order the probes started."""
        with self._changed:
            return sorted(self._samples, key=lambda s: s.at)

    def wait_for(
        self,
        done: Callable[[Sequence[Sample]], bool],
        *,
        timeout: float,
        on_tick: Callable[[float], None] = lambda elapsed: None,
    ) -> bool:
        """Block until DONE(samples) holds or TIMEOUT seconds pass; False on timeout."""
        started = time.monotonic()
        while True:
            elapsed = time.monotonic() - started
            if done(self.samples()):
                return True
            if elapsed >= timeout:
                return False
            on_tick(elapsed)
            with self._changed:
                self._changed.wait(timeout=min(TICK, timeout - elapsed))

    def start(self) -> None:
        tls = self._tls.for_check(self.check)  # a bad CA file fails here, not in the thread
        self._thread = threading.Thread(
            target=lambda: asyncio.run(self._run(tls)), name="address-watch", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop starting probes and wait for those in flight (at most a check timeout)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._thread = None

    def __enter__(self) -> AddressWatch:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    async def _run(self, tls: ssl.SSLContext | None) -> None:
        flying: set[asyncio.Task[None]] = set()
        due = time.monotonic()
        while not self._stop.is_set():
            task = asyncio.create_task(self._one(tls))
            flying.add(task)
            task.add_done_callback(flying.discard)
            due += self.every
            await asyncio.sleep(max(0.0, due - time.monotonic()))
        if flying:
            await asyncio.gather(*flying)

    async def _one(self, tls: ssl.SSLContext | None) -> None:
        at = self._clock()
        result = await probe(self.host, self.check, tls=tls)
        with self._changed:
            self._samples.append(Sample(at=at, result=result))
            self._changed.notify_all()
