"""What the drain tests watch with: the zone as BIND serves it, S2 checked while a drain runs,
and a gate that holds one phase's CreateTags so that a SIGKILL lands right after it."""

from __future__ import annotations

import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

import dns.message
import dns.query

from eipkeeper.model import TAG_DRAIN
from eipkeeper.sandbox.bind import LocalBind
from tests.conftest import Cloud

ZONE = "example.test"


@dataclass(frozen=True)
class Fleet:
    cloud: Cloud
    bind: LocalBind

    @property
    def env(self) -> dict[str, str]:
        return self.cloud.env

    def served(self, name: str, rdtype: str = "A") -> set[str]:
        """The values BIND serves for NAME, asked as a resolver asks."""
        query = dns.message.make_query(name, rdtype)
        reply = dns.query.udp(query, self.bind.host, port=self.bind.port, timeout=2)
        return {r.to_text() for rrset in reply.answer for r in rrset}

    def described(self, instance_id: str) -> tuple[str, str]:
        """The instance's state and drain tag, read in one call."""
        reply = self.cloud.client("ec2").describe_instances(InstanceIds=[instance_id])
        item = reply["Reservations"][0]["Instances"][0]
        tags = {t["Key"]: t["Value"] for t in item.get("Tags", [])}
        return item["State"]["Name"], tags.get(TAG_DRAIN, "")

    def named(self, name: str) -> tuple[str, str]:
        item = self.cloud.instance(name)
        return item["InstanceId"], item.get("PublicIpAddress", "")


@dataclass
class S2Watch:
    """Polls the instance and the zone while a drain runs and notes every moment S2 breaks:
    the instance not running while BIND still serves its address, or before the drain
    recorded that the TTL was waited out. The instance is read first, the zone second, so a
    violation seen is a real one."""

    fleet: Fleet
    instance_id: str
    ip: str
    name: str = f"scan.{ZONE}"
    violations: list[str] = field(default_factory=list)
    samples: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> S2Watch:
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _watch(self) -> None:
        while not self._stop.is_set():
            self.check_now()
            self._stop.wait(0.02)

    def check_now(self) -> None:
        state, tag = self.fleet.described(self.instance_id)
        in_dns = self.ip in self.fleet.served(self.name)
        self.samples += 1
        if state == "running":
            return
        if in_dns:
            self.violations.append(f"{self.instance_id} {state} while {self.ip} is in DNS")
        if tag.split()[:1] not in (["waited"], ["done"]):
            self.violations.append(f"{self.instance_id} {state} at drain phase {tag!r}")


@dataclass
class Gate:
    """Holds the CreateTags call that records drain phase PHASE: after moto applied it
    (`applied`), or before. The caller kills the drain while it waits, then releases."""

    upstream: str
    phase: str
    applied: bool
    url: str = ""
    held: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)

    def matches(self, body: bytes) -> bool:
        form = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
        if form.get("Action") != ["CreateTags"]:
            return False
        return any(
            form.get(key) == [TAG_DRAIN]
            and form.get(key.replace(".Key", ".Value"), [""])[0].split()[:1] == [self.phase]
            for key in form
            if key.endswith(".Key")
        )

    def forward(self, handler: BaseHTTPRequestHandler, body: bytes) -> tuple[int, Message, bytes]:
        request = urllib.request.Request(  # noqa: S310 - upstream is the sandbox's moto
            self.upstream + handler.path,
            data=body if handler.command != "GET" else None,
            method=handler.command,
            headers={k: v for k, v in handler.headers.items() if k.lower() != "host"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as reply:  # noqa: S310
                return reply.status, reply.headers, reply.read()
        except urllib.error.HTTPError as reply:
            return reply.code, reply.headers, reply.read()


def _handler(gate: Gate) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _relay(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            if gate.matches(body):
                if gate.applied:
                    gate.forward(self, body)
                gate.held.set()
                gate.release.wait(60)
                self.close_connection = True  # no answer: the caller is dead by now
                return
            status, headers, data = gate.forward(self, body)
            self.send_response(status)
            for key, value in headers.items():
                if key.lower() not in ("content-length", "transfer-encoding", "connection"):
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_POST = _relay  # noqa: N815 - http.server names its hooks so
        do_GET = _relay  # noqa: N815

    return Handler


@contextmanager
def gate(upstream: str, *, phase: str, applied: bool) -> Iterator[Gate]:
    held = Gate(upstream=upstream.rstrip("/"), phase=phase, applied=applied)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(held))
    held.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield held
    finally:
        held.release.set()
        server.shutdown()
        server.server_close()
