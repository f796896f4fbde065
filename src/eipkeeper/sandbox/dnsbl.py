"""The sandbox's blocklist: `dnsbl.example.test`, answering as Spamhaus does, on loopback.

A fresh EC2 address can already be listed from its last tenant (FACTS.md, "Mail reputation of
an address"); the sandbox lists every Nth address the account allocates (`--listed`, default
3) so that `allocate --service` and every claim meet a dirty one. An EIP tagged
`sandbox:dnsbl=listed` is listed too: a listing made by hand while the address serves.

Served by a small authoritative responder in the sandbox's own process (dnspython over a UDP
socket), not by BIND: the listing is decided inside the process at AllocateAddress time and
read from moto's tags, so an in-process responder reads the same state with no write path
to keep in step, and it works without `--bind` (the default zone lives in moto's Route 53,
which answers no DNS queries) and on a machine without `named`.
"""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

ZONE = "dnsbl.example.test"
LISTED_TAG = "sandbox:dnsbl"
"""An EIP tagged `sandbox:dnsbl=listed` is listed, as if a blocklist had just caught it."""
SBL = "127.0.0.2"
"""The code the sandbox answers for a listing (Spamhaus SBL)."""
TTL = 10


@dataclass(frozen=True)
class DnsblAnswer:
    """What the responder says about one address: A values (none: NXDOMAIN) and the TXT
    reason; SILENT sends nothing (a timeout)."""

    addresses: tuple[str, ...] = ()
    reason: str = ""
    silent: bool = False


Answer = Callable[[str], DnsblAnswer]
"""Public IP -> the reply for its name under the zone."""


class Blocklist:
    """Which addresses the sandbox lists: every EVERY-th allocation once counting starts (the
    sample fleet's own addresses are clean), and those listed by hand."""

    def __init__(self, *, every: int = 3) -> None:
        self.every = every
        self.counting = False
        self._count = 0
        self._listed: dict[str, str] = {}
        self._lock = threading.Lock()

    def reset(self, *, every: int) -> None:
        with self._lock:
            self.every, self.counting, self._count = every, False, 0
            self._listed.clear()

    def allocated(self, public_ip: str) -> None:
        with self._lock:
            if not self.counting or self.every <= 0:
                return
            self._count += 1
            if self._count % self.every == 0:
                why = f"listed by the eipkeeper sandbox (allocation {self._count}, --listed)"
                self._listed[public_ip] = why

    def add(self, public_ip: str, reason: str = "listed by hand in the eipkeeper sandbox") -> None:
        with self._lock:
            self._listed[public_ip] = reason

    def remove(self, public_ip: str) -> None:
        with self._lock:
            self._listed.pop(public_ip, None)

    def reason(self, public_ip: str) -> str | None:
        with self._lock:
            return self._listed.get(public_ip)

    def listed(self) -> frozenset[str]:
        with self._lock:
            return frozenset(self._listed)


BLOCKLIST = Blocklist()
"""Process-wide, like moto's state and the address pool: AllocateAddress feeds it."""


def _address_of(qname: dns.name.Name, zone: dns.name.Name) -> str | None:
    """The IPv4 address a query name under ZONE stands for (None: not one)."""
    labels = qname.relativize(zone).labels
    if len(labels) != 4:
        return None
    try:
        octets = [int(label) for label in reversed(labels)]
    except ValueError:
        return None
    if any(not 0 <= o <= 255 for o in octets):
        return None
    return ".".join(str(o) for o in octets)


def respond(wire: bytes, *, zone: str, answer: Answer) -> bytes | None:
    """The response to one query (None: say nothing). Pure apart from ANSWER."""
    try:
        query = dns.message.from_wire(wire)
    except dns.exception.DNSException:  # a malformed datagram is dropped, as servers do
        return None
    response = dns.message.make_response(query)
    response.flags |= dns.flags.AA
    origin = dns.name.from_text(zone)
    if not query.question:
        response.set_rcode(dns.rcode.FORMERR)
        return response.to_wire()
    question = query.question[0]
    if not question.name.is_subdomain(origin):
        response.set_rcode(dns.rcode.REFUSED)
        return response.to_wire()
    address = _address_of(question.name, origin)
    if question.name == origin:
        return response.to_wire()  # the apex exists; it carries no A or TXT
    reply = answer(address) if address is not None else DnsblAnswer()
    if reply.silent:
        return None
    if not reply.addresses:
        response.set_rcode(dns.rcode.NXDOMAIN)
        return response.to_wire()
    if question.rdtype == dns.rdatatype.A:
        rrset = dns.rrset.from_text_list(question.name, TTL, "IN", "A", list(reply.addresses))
        response.answer.append(rrset)
    elif question.rdtype == dns.rdatatype.TXT and reply.reason:
        quoted = '"' + reply.reason.replace("\\", "\\\\").replace('"', '\\"')[:250] + '"'
        response.answer.append(dns.rrset.from_text(question.name, TTL, "IN", "TXT", quoted))
    return response.to_wire()


class _Handler(socketserver.BaseRequestHandler):
    server: _UdpServer

    def handle(self) -> None:
        data, sock = self.request
        reply = respond(data, zone=self.server.zone, answer=self.server.answer)
        if reply is not None:
            sock.sendto(reply, self.client_address)


class _UdpServer(socketserver.ThreadingUDPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], *, zone: str, answer: Answer) -> None:
        self.zone = zone
        self.answer = answer
        super().__init__(address, _Handler)


class DnsblServer:
    """An authoritative responder for ZONE on HOST:PORT (0: a free port), in a thread."""

    def __init__(
        self, *, answer: Answer, zone: str = ZONE, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self._server = _UdpServer((host, port), zone=zone, answer=answer)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def address(self) -> str:
        """HOST:PORT, as `reputation.resolver` takes it."""
        host, port = self._server.socket.getsockname()[:2]
        return f"{host}:{port}"

    def start(self) -> DnsblServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> DnsblServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def answer(public_ip: str, *, tagged: Callable[[], frozenset[str]]) -> DnsblAnswer:
    """The sandbox's reply: listed for the test point 127.0.0.2 (every DNSBL lists it, RFC 5782
    section 5), every Nth allocation, or an EIP in TAGGED (`sandbox:dnsbl=listed`); else
    NXDOMAIN."""
    if public_ip == "127.0.0.2":
        return DnsblAnswer((SBL,), "test point (RFC 5782)")
    reason = BLOCKLIST.reason(public_ip)
    if reason is None and public_ip in tagged():
        reason = f"listed by hand in the eipkeeper sandbox (tag {LISTED_TAG}=listed)"
    return DnsblAnswer((SBL,), reason) if reason is not None else DnsblAnswer()


def tagged_listed(backend: Any) -> frozenset[str]:
    """The EIPs tagged `sandbox:dnsbl=listed` in moto's EC2 BACKEND (untyped)."""
    tags: dict[str, dict[str, str]] = backend.tags
    return frozenset(
        str(eip.public_ip)
        for eip in list(backend.addresses)
        if str(tags.get(str(eip.allocation_id), {}).get(LISTED_TAG, "")) == "listed"
    )
