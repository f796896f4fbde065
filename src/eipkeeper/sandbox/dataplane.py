"""The sandbox's data plane: every running instance answers SMTP on its current public address.

moto's control plane changes at once; EC2's data plane does not ("reported switch times range
from 5 s to 20 minutes"). A reconciler thread polls moto's EC2 backend every `interval` seconds
and keeps one listener per public address. A new association of an Elastic IP reaches the data
plane only after `association_delay` seconds: until then the address is answered by its old
holder, or by nobody if it had none. An address that loses its holder goes quiet at once, as
does every address of an instance that stops running or is tagged `sandbox:answer=no`.

The decision is a pure function (`advance`) over an `Observation`, so its timing can be tested
on a fake clock; `DataPlane` only applies it to sockets.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from eipkeeper.logs import get_logger
from eipkeeper.sandbox.smtp import serve_session

ANSWER_TAG = "sandbox:answer"
"""`no` on an instance makes it stop answering (a failure to detect); anything else answers."""

log = get_logger(__name__)


@dataclass(frozen=True)
class Observation:
    """What the control plane says at one moment."""

    holders: Mapping[str, str] = field(default_factory=dict)
    """Public address -> the instance holding it (not terminated)."""
    elastic: frozenset[str] = frozenset()
    """Which addresses are Elastic IPs (only their associations are delayed)."""
    answering: frozenset[str] = frozenset()
    """Instances that answer: running and not tagged `sandbox:answer=no`."""


@dataclass(frozen=True)
class Route:
    """Where the data plane sends one address, and where it is about to send it."""

    holder: str | None
    pending: str | None = None
    since: float = 0.0


def advance(
    routes: Mapping[str, Route], observed: Observation, *, now: float, delay: float
) -> dict[str, Route]:
    """The routes after one look at the control plane at time NOW."""
    out: dict[str, Route] = {}
    for address, want in observed.holders.items():
        route = routes.get(address, Route(holder=None))
        if want == route.holder:
            out[address] = Route(holder=want)
        elif address not in observed.elastic:
            out[address] = Route(holder=want)  # a dynamic address comes with its instance
        elif route.pending != want:
            out[address] = replace(route, pending=want, since=now)
        elif now - route.since >= delay:
            out[address] = Route(holder=want)
        else:
            out[address] = route
    return out


def answers(routes: Mapping[str, Route], observed: Observation) -> dict[str, str]:
    """Address -> the instance that answers it now."""
    return {
        address: route.holder
        for address, route in routes.items()
        if route.holder is not None and route.holder in observed.answering
    }


def observe_moto(backend: Any) -> Observation:
    """Read moto's EC2 backend (untyped). Runs beside moto's request threads: snapshot first."""
    holders: dict[str, str] = {}
    answering: set[str] = set()
    for reservation in list(backend.reservations.values()):
        for instance in list(reservation.instances):
            state = instance.state
            if state == "terminated":
                continue
            for nic in list(instance.nics.values()):
                if nic.public_ip:
                    holders[nic.public_ip] = instance.id
            tags = backend.tags.get(instance.id, {})
            if state == "running" and str(tags.get(ANSWER_TAG, "yes")).lower() != "no":
                answering.add(instance.id)
    elastic = frozenset(eip.public_ip for eip in list(backend.addresses))
    return Observation(holders=holders, elastic=elastic, answering=frozenset(answering))


@dataclass
class _Listener:
    server: asyncio.Server
    holder: str
    sessions: dict[asyncio.StreamWriter, str] = field(default_factory=dict)

    def drop_sessions(self, *, keep: str | None = None) -> None:
        for writer, holder in list(self.sessions.items()):
            if holder != keep:
                writer.close()
                del self.sessions[writer]


class DataPlane:
    """Runs the listeners in a thread of its own with its own event loop."""

    def __init__(
        self,
        *,
        observe: Callable[[], Observation],
        port: int,
        association_delay: float,
        interval: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._observe = observe
        self._port = port
        self._delay = association_delay
        self._interval = interval
        self._clock = clock
        self._routes: dict[str, Route] = {}
        self._listeners: dict[str, _Listener] = {}
        self._retry_at: dict[str, float] = {}
        self._answers: dict[str, str] = {}
        self._sessions: set[asyncio.Task[Any]] = set()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()

    @property
    def port(self) -> int:
        return self._port

    def answers(self) -> dict[str, str]:
        """Address -> instance that has a listener now (a copy, for logs and tests)."""
        return dict(self._answers)

    def start(self) -> None:
        self._thread = threading.Thread(
            target=lambda: asyncio.run(self._run()), name="sandbox-dataplane", daemon=True
        )
        self._thread.start()
        self._ready.wait()

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join()
        self._thread = None

    async def _run(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self._ready.set()
        try:
            while not self._stop.is_set():
                await self._tick()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), self._interval)
        finally:
            for address in list(self._listeners):
                self._close(address)
            # Let closed sessions end on their own: asyncio.run would cancel them, and asyncio
            # 3.11 reports a cancelled connection callback as an error.
            if self._sessions:
                await asyncio.wait(self._sessions, timeout=1.0)

    async def _tick(self) -> None:
        try:
            observed = self._observe()
        except RuntimeError:
            return  # moto changed a dict under us; the next tick reads it again
        now = self._clock()
        self._routes = advance(self._routes, observed, now=now, delay=self._delay)
        wanted = answers(self._routes, observed)
        for address in set(self._listeners) - set(wanted):
            self._close(address)
        for address, holder in wanted.items():
            listener = self._listeners.get(address)
            if listener is None:
                await self._open(address, holder, now=now)
            elif listener.holder != holder:
                log.info(
                    "sandbox.address_switched", address=address, old=listener.holder, new=holder
                )
                listener.holder = holder
                listener.drop_sessions(keep=holder)  # the old instance no longer gets packets
        self._answers = {a: listener.holder for a, listener in self._listeners.items()}

    async def _open(self, address: str, holder: str, *, now: float) -> None:
        if self._retry_at.get(address, 0.0) > now:
            return
        listener: _Listener | None = None

        async def session(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            assert listener is not None
            instance_id = listener.holder
            listener.sessions[writer] = instance_id
            task = asyncio.current_task()
            if task is not None:
                self._sessions.add(task)
            try:
                await serve_session(reader, writer, instance_id=instance_id)
            finally:
                listener.sessions.pop(writer, None)
                if task is not None:
                    self._sessions.discard(task)

        try:
            server = await asyncio.start_server(session, host=address, port=self._port)
        except OSError as exc:
            # Another process may hold this address:port; say so once a second, not per tick.
            self._retry_at[address] = now + 1.0
            log.warning("sandbox.listen_failed", address=address, port=self._port, error=str(exc))
            return
        self._retry_at.pop(address, None)
        listener = _Listener(server=server, holder=holder)
        self._listeners[address] = listener
        log.info("sandbox.answering", address=address, port=self._port, instance_id=holder)

    def _close(self, address: str) -> None:
        listener = self._listeners.pop(address)
        listener.server.close()
        listener.drop_sessions()
        log.info("sandbox.silent", address=address, instance_id=listener.holder)
