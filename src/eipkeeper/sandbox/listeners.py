"""The data plane's sockets: what `dataplane.step` decides, applied to 127.0.0.0/8.

One thread runs an asyncio loop. Every `interval` it reads moto's backend, steps the pure model
and then, per public address:

- its holder answers: an aiosmtpd server on the SMTP port greeting as the holder, and the
  readiness endpoint on the queue port (instances only);
- nobody answers: a `BlackHole` on both ports, so connections time out as on EC2
  (`unanswered="drop"`), or no socket at all, so they are refused (`"refuse"`, quick tests);
- it moved to another instance: the listener stays and new connections greet as the new
  holder; open sessions of the old one are cut, as its packets stop arriving.

It also serves the mailboxes as JSON on 127.0.0.1 (`mail_url`) and logs, at info level, every
address that changes hands, instances booting, the stranger taking an address and, once a
second, how much mail each holder accepted.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Literal

from eipkeeper.errors import OperationError
from eipkeeper.logs import get_logger
from eipkeeper.sandbox import httpd
from eipkeeper.sandbox.blackhole import BlackHole
from eipkeeper.sandbox.dataplane import (
    STRANGER,
    ControlPlaneView,
    Decision,
    PlaneState,
    Timing,
    booted_at_start,
    step,
)
from eipkeeper.sandbox.mailqueue import SimulatedQueue
from eipkeeper.sandbox.smtp import Mailboxes, Message, SmtpSession

log = get_logger(__name__)

Unanswered = Literal["drop", "refuse"]
QUEUE_PATH = "/queue-empty"
MAIL_HOST = "127.0.0.1"
_MAIL_LOG_EVERY = 1.0


@dataclass
class _Served:
    holder: str
    smtp: asyncio.Server
    http: asyncio.Server | None
    sessions: set[SmtpSession] = field(default_factory=set)

    def hang_up(self, *, keep: str | None = None) -> None:
        for session in list(self.sessions):
            if session.holder != keep:
                session.hang_up()
                self.sessions.discard(session)

    def close(self) -> None:
        self.smtp.close()
        if self.http is not None:
            self.http.close()
        self.hang_up()


class DataPlane:
    """Runs the listeners in a thread of its own with its own event loop."""

    def __init__(
        self,
        *,
        observe: Callable[[], ControlPlaneView],
        port: int,
        association_delay: float,
        boot_delay: float = 0.0,
        reuse_after: float | None = None,
        unanswered: Unanswered = "refuse",
        queue_port: int | None = 8025,
        queue_drain_rate: float = 10.0,
        mail_port: int | None = 0,
        stranger_took: Callable[[frozenset[str]], None] = lambda addresses: None,
        interval: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._observe = observe
        self._port = port
        self._timing = Timing(
            association_delay=association_delay, boot_delay=boot_delay, reuse_after=reuse_after
        )
        self._unanswered = unanswered
        self._queue_port = queue_port
        self._drain_rate = queue_drain_rate
        self._mail_port = mail_port
        self._stranger_took = stranger_took
        self._interval = interval
        self._clock = clock
        self.mailboxes = Mailboxes()
        self._state: PlaneState | None = None
        self._decision = Decision(answers={}, silent=frozenset(), booting=frozenset())
        self._served: dict[str, _Served] = {}
        self._holes: dict[str, list[BlackHole]] = {}
        self._retry_at: dict[str, float] = {}
        self._queues: dict[str, SimulatedQueue] = {}
        self._queue_lock = threading.Lock()
        self._mail_server: asyncio.Server | None = None
        self._mail_logged: dict[str, int] = {}
        self._mail_logged_at = 0.0
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._failure: BaseException | None = None

    # -- what the sandbox and tests read ------------------------------------------------------

    @property
    def port(self) -> int:
        return self._port

    @property
    def queue_port(self) -> int | None:
        return self._queue_port

    @property
    def mail_url(self) -> str:
        """The JSON mailboxes: `{"instances": {id: [message]}, "stranger": [message]}`."""
        if self._mail_server is None:
            raise OperationError("the data plane serves no mail endpoint")
        port = self._mail_server.sockets[0].getsockname()[1]
        return f"http://{MAIL_HOST}:{port}/mail"

    def answers(self) -> dict[str, str]:
        """Address -> the account's instance that answers it now (the stranger's are not here)."""
        return {a: s.holder for a, s in list(self._served.items()) if s.holder != STRANGER}

    def stranger_addresses(self) -> frozenset[str]:
        """Addresses the stranger answers now."""
        return frozenset(a for a, s in list(self._served.items()) if s.holder == STRANGER)

    def dropping(self) -> frozenset[str]:
        """Addresses whose connections are dropped now."""
        return frozenset(self._holes)

    def queue_length(self, instance_id: str) -> int:
        with self._queue_lock:
            queue = self._queues.get(instance_id, SimulatedQueue())
            return queue.length_at(self._clock(), rate=self._drain_rate)

    @property
    def timing(self) -> Timing:
        return self._timing

    @property
    def unanswered(self) -> Unanswered:
        return self._unanswered

    def configure(
        self, *, timing: Timing | None = None, unanswered: Unanswered | None = None
    ) -> None:
        """Change the data plane's timing or its unanswered mode while it runs (a slower
        switch, the stranger arriving); the next tick applies it. Addresses the stranger took
        stay its own."""
        if timing is not None:
            self._timing = timing
        if unanswered is not None:
            self._unanswered = unanswered

    # -- life cycle ------------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(
            target=lambda: asyncio.run(self._run()), name="sandbox-dataplane", daemon=True
        )
        self._thread.start()
        self._ready.wait()
        if self._failure is not None:
            self.stop()
            raise self._failure

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            with contextlib.suppress(RuntimeError):  # the loop may have ended already
                self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join()
        self._thread = None

    async def _run(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        try:
            if self._mail_port is not None:
                self._mail_server = await self._serve_mail(self._mail_port)
            await self._tick()
        except BaseException as exc:  # handed to start(), in the caller's thread
            self._failure = exc
            self._ready.set()
            return
        self._ready.set()
        try:
            while not self._stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), self._interval)
                await self._tick()
        finally:
            await self._close_all()

    async def _close_all(self) -> None:
        for address in list(self._served):
            self._close(address, quiet=True)
        for address in list(self._holes):
            self._unhole(address)
        if self._mail_server is not None:
            self._mail_server.close()
        # Let closed sessions end on their own: asyncio.run would cancel them, and asyncio
        # 3.11 reports a cancelled connection callback as an error.
        pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        if pending:
            await asyncio.wait(pending, timeout=1.0)

    # -- one look at the control plane ------------------------------------------------------

    async def _tick(self) -> None:
        try:
            observed = self._observe()
        except RuntimeError:
            return  # moto changed a dict under us; the next tick reads it again
        now = self._clock()
        if self._state is None:  # the instances already there have booted
            self._state = PlaneState(boots=booted_at_start(observed))
        before = self._decision
        self._state, decision = step(self._state, observed, now=now, timing=self._timing)
        self._decision = decision
        self._update_queues(observed, now=now)
        self._log_changes(before, decision)
        for address, listener in list(self._served.items()):
            holder = decision.answers.get(address)
            old = listener.holder
            # Between an instance and the stranger nothing is shared: a new listener.
            if holder is None or (holder != old and STRANGER in (holder, old)):
                self._close(address)
        for address, holder in decision.answers.items():
            served = self._served.get(address)
            if served is None:
                self._unhole(address)
                await self._open(address, holder, now=now)
            elif served.holder != holder:
                log.info("sandbox.address_switched", address=address, old=served.holder, new=holder)
                served.holder = holder
                served.hang_up(keep=holder)  # the old instance no longer gets packets
        dropped = decision.silent if self._unanswered == "drop" else frozenset()
        for address in dropped - set(self._holes) - set(self._served):
            self._hole(address, now=now)
        for address in set(self._holes) - dropped:
            self._unhole(address)
        self._log_mail(now=now)

    def _update_queues(self, observed: ControlPlaneView, *, now: float) -> None:
        with self._queue_lock:
            for instance, tag in observed.queue_tags.items():
                queue = self._queues.get(instance, SimulatedQueue())
                self._queues[instance] = queue.with_tag(tag, now=now)

    def _log_changes(self, before: Decision, after: Decision) -> None:
        for instance in sorted(after.booting - before.booting):
            log.info("sandbox.booting", instance_id=instance, answers_in=self._timing.boot_delay)
        for instance in sorted(before.booting - after.booting):
            log.info("sandbox.booted", instance_id=instance)
        taken = {a for a, h in after.answers.items() if h == STRANGER}
        new = taken - {a for a, h in before.answers.items() if h == STRANGER}
        if new:
            self._stranger_took(frozenset(new))
        for address in sorted(new):
            log.info("sandbox.stranger_took", address=address)

    def _log_mail(self, *, now: float) -> None:
        if now - self._mail_logged_at < _MAIL_LOG_EVERY:
            return
        self._mail_logged_at = now
        counts = self.mailboxes.counts()
        for holder, total in sorted(counts.items()):
            new = total - self._mail_logged.get(holder, 0)
            if new:
                log.info("sandbox.mail_accepted", holder=holder, new=new, total=total)
        self._mail_logged = counts

    # -- sockets -----------------------------------------------------------------------------

    def _accepted(self, message: Message) -> None:
        self.mailboxes.add(message)
        if message.holder != STRANGER:
            now = self._clock()
            with self._queue_lock:
                queue = self._queues.get(message.holder, SimulatedQueue())
                self._queues[message.holder] = queue.plus_one(now=now, rate=self._drain_rate)

    async def _open(self, address: str, holder: str, *, now: float) -> None:
        if self._retry_at.get(address, 0.0) > now:
            return
        loop = asyncio.get_running_loop()
        served: _Served | None = None

        def session() -> SmtpSession:
            assert served is not None
            return SmtpSession(
                holder=served.holder,
                address=address,
                accepted=self._accepted,
                on_open=served.sessions.add,
                on_close=served.sessions.discard,
                loop=loop,
            )

        try:
            smtp = await loop.create_server(session, host=address, port=self._port)
        except OSError as exc:
            self._listen_failed(address, self._port, exc, now=now)
            return
        http: asyncio.Server | None = None
        if holder != STRANGER and self._queue_port is not None:
            try:
                http = await asyncio.start_server(
                    partial(self._serve_readiness, address), host=address, port=self._queue_port
                )
            except OSError as exc:  # SMTP still answers; the readiness check will fail
                self._listen_failed(address, self._queue_port, exc, now=now)
        self._retry_at.pop(address, None)
        served = _Served(holder=holder, smtp=smtp, http=http)
        self._served[address] = served
        if holder != STRANGER:  # the stranger's arrival is logged as `sandbox.stranger_took`
            log.info("sandbox.answering", address=address, port=self._port, instance_id=holder)

    def _listen_failed(self, address: str, port: int, exc: OSError, *, now: float) -> None:
        # Another process may hold this address:port; say so once a second, not per tick.
        self._retry_at[address] = now + 1.0
        log.warning("sandbox.listen_failed", address=address, port=port, error=str(exc))

    def _close(self, address: str, *, quiet: bool = False) -> None:
        served = self._served.pop(address)
        served.close()
        if not quiet:
            log.info("sandbox.silent", address=address, holder=served.holder)

    def _hole(self, address: str, *, now: float) -> None:
        if self._retry_at.get(address, 0.0) > now:
            return
        holes: list[BlackHole] = []
        for port in (self._port, self._queue_port):
            if port is None:
                continue
            try:
                holes.append(BlackHole(address, port))
            except OSError as exc:
                self._listen_failed(address, port, exc, now=now)
        if holes:
            self._holes[address] = holes

    def _unhole(self, address: str) -> None:
        for hole in self._holes.pop(address, []):
            hole.close()

    # -- HTTP ----------------------------------------------------------------------------------

    async def _serve_readiness(
        self, address: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        def route(path: str, query: dict[str, list[str]]) -> httpd.Reply:
            served = self._served.get(address)
            if served is None or path != QUEUE_PATH:
                return httpd.Reply.text(404, "not found")
            queued = self.queue_length(served.holder)
            if queued == 0:
                return httpd.Reply.text(200, f"queue empty on {served.holder}")
            return httpd.Reply.text(503, f"{queued} messages queued on {served.holder}")

        await httpd.serve(reader, writer, route)

    async def _serve_mail(self, port: int) -> asyncio.Server:
        def route(path: str, query: dict[str, list[str]]) -> httpd.Reply:
            since = float(query["since"][0]) if "since" in query else None
            if path == "/mail":
                return httpd.Reply.json(200, self.mailboxes.as_json(since=since))
            if path == "/mail/summary":
                return httpd.Reply.json(200, self.mailboxes.counts())
            if path == "/queues":
                with self._queue_lock:
                    instances = list(self._queues)
                return httpd.Reply.json(200, {i: self.queue_length(i) for i in instances})
            return httpd.Reply.text(404, "try /mail, /mail/summary or /queues")

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await httpd.serve(reader, writer, route)

        try:
            return await asyncio.start_server(handle, host=MAIL_HOST, port=port)
        except OSError as exc:
            raise OperationError(
                f"cannot serve the mailboxes on {MAIL_HOST}:{port}: {exc.strerror}"
            ) from None
