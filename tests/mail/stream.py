"""A steady sender: messages handed to Postfix at a fixed rate for as long as a scenario runs.

Each message has its own Message-ID (`<scenario.N.random@sender.invalid>`), which is what the
sandbox's mailboxes and Postfix's log are matched on. The schedule is kept on the clock and each
`sendmail` runs in a small pool of threads, so that a slow submission on a loaded machine does
not make the rate drop.
"""

from __future__ import annotations

import itertools
import secrets
import subprocess
import threading
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from types import TracebackType

from tests.mail.postfix import Postfix


@dataclass(frozen=True)
class Submitted:
    message_id: str
    recipient: str
    at: float
    """time.time() when sendmail returned."""


class Stream:
    """RATES: domain -> messages per second."""

    def __init__(self, postfix: Postfix, *, scenario: str, rates: Mapping[str, float]) -> None:
        self.postfix = postfix
        self.scenario = scenario
        self.rates = dict(rates)
        self.submitted: list[Submitted] = []
        self.errors: list[str] = []
        self.started = 0.0
        self.seconds = 0.0
        """How long the stream ran, from start to stop (monotonic)."""
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="sendmail")
        self._lock = threading.Lock()

    def __enter__(self) -> Stream:
        self.started = time.monotonic()
        for domain, rate in self.rates.items():
            thread = threading.Thread(
                target=self._send, args=(domain, rate), name=f"stream-{domain}", daemon=True
            )
            thread.start()
            self._threads.append(thread)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def stop(self) -> None:
        if not self._stop.is_set():
            self.seconds = time.monotonic() - self.started
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)
        self._threads = []
        self._pool.shutdown(wait=True)

    def _send(self, domain: str, rate: float) -> None:
        period = 1.0 / rate
        due = time.monotonic()
        for n in itertools.count():
            if self._stop.wait(max(0.0, due - time.monotonic())):
                return
            due += period
            label = domain.split(".", maxsplit=1)[0]
            message_id = f"<{self.scenario}.{label}.{n}.{secrets.token_hex(4)}@sender.invalid>"
            recipient = f"user{n % 7}@{domain}"
            self._pool.submit(self._submit, message_id, recipient)

    def _submit(self, message_id: str, recipient: str) -> None:
        try:
            self.postfix.submit(recipient=recipient, message_id=message_id)
        except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
            with self._lock:
                self.errors.append(str(exc))
            return
        with self._lock:
            self.submitted.append(Submitted(message_id, recipient, time.time()))

    def ids(self, domain: str | None = None) -> list[str]:
        return [
            s.message_id
            for s in self.submitted
            if domain is None or s.recipient.endswith("@" + domain)
        ]
