"""A TCP proxy in front of a real DNS server (BIND) that counts UPDATE messages and can stall.

eipkeeper's RFC 2136 provider speaks TCP only (AXFR, UPDATE, the SOA after it), so a stall
here is a DNS server that stops answering mid-round, as a lagging primary does; the client's
own timeout applies. Counting at the wire says what a process really sent, whatever it logs.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field

OPCODE_UPDATE = 5


@dataclass
class DnsProxy:
    upstream: tuple[str, int]
    port: int = 0
    updates: int = 0
    """UPDATE messages forwarded to the server."""
    waiting: int = 0
    """Messages held back by a stall right now."""
    late: list[float] = field(default_factory=list)
    """Delays for the next answers from the server, one each (a slow backend that commits
    after the client gave up)."""
    _flowing: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._flowing.set()

    @property
    def server(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stall(self) -> None:
        """Hold every message from clients from now on (connections stay open)."""
        self._flowing.clear()

    def resume(self) -> None:
        self._flowing.set()

    def _relay_queries(self, client: socket.socket, server: socket.socket) -> None:
        while True:
            head = _exactly(client, 2)
            if not head:
                break
            body = _exactly(client, int.from_bytes(head, "big"))
            if not body:
                break
            with self._lock:
                self.waiting += 1
            self._flowing.wait()
            with self._lock:
                self.waiting -= 1
                if len(body) > 2 and (body[2] >> 3) & 0xF == OPCODE_UPDATE:
                    self.updates += 1
            server.sendall(head + body)
        _close(server)

    def _answers(self, server: socket.socket, client: socket.socket) -> None:
        try:
            while chunk := server.recv(65536):
                with self._lock:
                    delay = self.late.pop(0) if self.late else 0.0
                time.sleep(delay)  # the server's own pace, not the test's clock
                client.sendall(chunk)
        except OSError:
            pass
        _close(client)

    def _serve(self, client: socket.socket) -> None:
        try:
            server = socket.create_connection(self.upstream, timeout=30)
        except OSError:
            _close(client)
            return
        threading.Thread(target=self._answers, args=(server, client), daemon=True).start()
        try:
            self._relay_queries(client, server)
        except OSError:
            pass
        finally:
            _close(client)
            _close(server)


def _exactly(sock: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            return b""
        data += chunk
    return data


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    try:
        while chunk := source.recv(65536):
            sink.sendall(chunk)
    except OSError:
        pass
    _close(sink)


def _close(sock: socket.socket) -> None:
    with suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


@contextmanager
def dns_proxy(host: str, port: int) -> Iterator[DnsProxy]:
    proxy = DnsProxy(upstream=(host, port))
    listener = socket.create_server(("127.0.0.1", 0))
    proxy.port = listener.getsockname()[1]
    stopping = threading.Event()

    def accept() -> None:
        while not stopping.is_set():
            try:
                client, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=proxy._serve, args=(client,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield proxy
    finally:
        stopping.set()
        proxy.resume()
        _close(listener)


@contextmanager
def udp_delay_proxy(host: str, port: int, *, delay: float) -> Iterator[int]:
    """A UDP relay to HOST:PORT that holds every answer DELAY seconds (a slow secondary, far
    away or on a slow backend); yields its loopback port."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listener.bind(("127.0.0.1", 0))
    stopping = threading.Event()

    def relay(data: bytes, client: tuple[str, int]) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as upstream:
            upstream.settimeout(5)
            try:
                upstream.sendto(data, (host, port))
                answer = upstream.recv(65535)
            except OSError:
                return
        if not stopping.wait(delay):
            with suppress(OSError):
                listener.sendto(answer, client)

    def serve() -> None:
        while not stopping.is_set():
            try:
                data, client = listener.recvfrom(65535)
            except OSError:
                return
            threading.Thread(target=relay, args=(data, client), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        stopping.set()
        listener.close()
