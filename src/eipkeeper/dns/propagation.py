"""Confirm a change on every authoritative server (SPEC S2, FACTS "DNS servers other than BIND").

Every server is asked over UDP, all at once, round after round, until it serves a serial
strictly greater (RFC 1982) than the one it served before the update and at least the
primary's after it, *and* answers each changed RRset with the new values (`serving.py`): a
serial alone was fooled by PowerDNS's EPOCH serials and by a secondary that refused a
transfer. A query stays open across rounds, so a server slower than a round still confirms;
one unanswered for a few rounds is sent again. A server that never confirms is reported with
its serial, the primary's and what it still serves: the caller must not start the S2 TTL
clock until every server confirmed.
"""

from __future__ import annotations

import ipaddress
import selectors
import socket
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import dns.exception
import dns.message
import dns.rcode
import dns.rdatatype

from eipkeeper.dns.provider import Clock, Propagation, ServerCheck, Sleep
from eipkeeper.dns.serving import Expectation, query, served_values
from eipkeeper.errors import ConfigError

_ROUND = 1.0
"""Real seconds one round waits for answers before the next round (whose queries join them)."""
_RESEND = 3
"""Rounds a query waits unanswered before it is sent again (an answer to either counts)."""
_WINDOW = 256
"""Record queries in flight per server: more would overflow a UDP socket's buffer."""


@dataclass(frozen=True)
class Target:
    """One server to ask: how the user named it, and the address and port to ask."""

    label: str
    address: str
    port: int


def parse_server(text: str, *, default_port: int = 53) -> tuple[str, int]:
    """ "host", "host:port", "[v6]:port" or a bare IPv6 address, as `verify_servers` holds them."""
    text = text.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest.removeprefix(":")
    elif text.count(":") == 1:
        host, _, port = text.partition(":")
    else:
        host, port = text, ""
    try:
        number = int(port) if port else default_port
    except ValueError:
        raise ConfigError(f"verify server {text!r}: port {port!r} is not a number") from None
    if not host or not 0 < number < 65536:
        raise ConfigError(f"verify server {text!r} is not host, host:port or [v6]:port")
    return host, number


def resolve(host: str, port: int, *, label: str = "") -> list[Target]:
    """Targets for HOST: itself when it is an address, else each address it resolves to."""
    label = label or (f"{host}:{port}" if ":" not in host else f"[{host}]:{port}")
    try:
        ipaddress.ip_address(host)
        return [Target(label, host, port)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)
    except OSError as exc:
        return [Target(f"{label} (unresolved: {exc.strerror or exc})", "", port)]
    addresses = sorted({str(info[4][0]) for info in infos})
    return [Target(f"{label} ({a})" if len(addresses) > 1 else label, a, port) for a in addresses]


def serial_at_least(serial: int, target: int) -> bool:
    """RFC 1982: SERIAL is TARGET or later (serials wrap at 2**32)."""
    return (serial - target) % 2**32 < 2**31


def serial_after(serial: int, before: int) -> bool:
    """RFC 1982: SERIAL is strictly greater than BEFORE."""
    return 0 < (serial - before) % 2**32 < 2**31


def serial_problem(where: str, before: int | None, after: int | None) -> str:
    """Why the primary's serial after an update cannot be confirmed anywhere, or ''."""
    if before is None or after is None or serial_after(after, before):
        return ""
    fix = (
        "on PowerDNS the zone's SOA-EDIT-DNSUPDATE sets it (EPOCH uses the clock): "
        "`pdnsutil set-meta ZONE SOA-EDIT-DNSUPDATE INCREASE`"
    )
    if after == before:
        return (
            f"{where}: the zone's serial did not move with the update (still {after}), so no "
            f"secondary will transfer it; {fix} (EPOCH gives two updates in a second one serial)"
        )
    return (
        f"{where}: the zone's serial went backwards with the update ({before} -> {after}, "
        f"RFC 1982), so secondaries keep the old data while looking current; {fix}"
    )


def poll_serials(
    targets: Sequence[Target],
    *,
    zone: str,
    serial: int,
    timeout: float,
    clock: Clock,
    sleep: Sleep,
    before: Mapping[str, int] | None = None,
    expect: Sequence[Expectation] = (),
    interval: float = 0.2,
) -> Propagation:
    """Ask every target until it serves the change (see the module's docstring) or TIMEOUT
    passes. SERIAL is the primary's after the update; BEFORE each target's before it."""
    deadline = clock() + timeout
    servers = [_Server(t, serial, (before or {}).get(t.label), list(expect)) for t in targets]
    selector = selectors.DefaultSelector()
    try:
        for server in servers:
            server.open(selector)
        pending = [s for s in servers if s.sock is not None]
        rounds = 0
        while pending:
            for server in pending:
                server.ask(zone, rounds)
            _collect(selector, pending, wait=max(0.05, min(_ROUND, deadline - clock())))
            now = clock()
            for server in pending:
                if server.done:
                    server.confirmed_at = now
            pending = [s for s in pending if s.confirmed_at is None]
            remaining = deadline - clock()
            if not pending or remaining <= 0:
                break
            sleep(min(interval, remaining))
            rounds += 1
    finally:
        selector.close()
        for server in servers:
            if server.sock is not None:
                server.sock.close()
    checks = (ServerCheck(s.target.label, s.confirmed_at, s.serial, s.why()) for s in servers)
    return Propagation(serial=serial, servers=tuple(checks))


def read_serials(targets: Sequence[Target], *, zone: str, wait: float) -> dict[str, int]:
    """Each answering target's serial now (one round): what an update must move past."""
    servers = [_Server(t, 0, None, []) for t in targets]
    selector = selectors.DefaultSelector()
    try:
        for server in servers:
            server.open(selector)
        live = [s for s in servers if s.sock is not None]
        for server in live:
            server.ask(zone, 0)
        _collect(selector, live, wait=wait)
    finally:
        selector.close()
        for server in servers:
            if server.sock is not None:
                server.sock.close()
    return {s.target.label: s.serial for s in servers if s.serial is not None}


@dataclass
class _Server:
    """One target's confirmation: first its serial, then each changed RRset."""

    target: Target
    primary: int
    before: int | None
    left: list[Expectation]
    sock: socket.socket | None = None
    serial: int | None = None
    serial_ok: bool = False
    error: str = "no answer"
    confirmed_at: float | None = None
    asked: dict[int, tuple[dns.message.Message, Expectation | None, int]] = field(
        default_factory=dict
    )

    @property
    def done(self) -> bool:
        return self.serial_ok and not self.left

    def open(self, selector: selectors.BaseSelector) -> None:
        if not self.target.address:
            self.error = "no address"
            return
        family = socket.AF_INET6 if ":" in self.target.address else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM)
        sock.setblocking(False)
        try:
            # Connected, so that an ICMP "port unreachable" comes back as an error.
            sock.connect((self.target.address, self.target.port))
        except OSError as exc:
            sock.close()
            self.error = exc.strerror or str(exc)
            return
        self.sock = sock
        selector.register(sock, selectors.EVENT_READ, self)

    def ask(self, zone: str, rounds: int) -> None:
        """Send what this round needs: nothing new while queries are open (an old one is
        sent again after _RESEND rounds), else the SOA, then the RRsets not yet served."""
        if self.asked:
            for ident, (message, what, sent) in list(self.asked.items()):
                if rounds - sent >= _RESEND:
                    self._send(message, what, rounds, ident)
            return
        if not self.serial_ok:
            self._send(dns.message.make_query(zone + ".", dns.rdatatype.SOA), None, rounds)
            return
        for expectation in self.left[:_WINDOW]:
            self._send(query(expectation), expectation, rounds)

    def _send(
        self, message: dns.message.Message, what: Expectation | None, rounds: int, ident: int = -1
    ) -> None:
        assert self.sock is not None
        if ident < 0:
            while message.id in self.asked:
                message.id = (message.id + 1) & 0xFFFF
        try:
            self.sock.send(message.to_wire())
        except OSError as exc:
            self.error = exc.strerror or str(exc)
            return
        self.asked[message.id] = (message, what, rounds)

    def answer(self, wire: bytes) -> None:
        ident = int.from_bytes(wire[:2], "big") if len(wire) >= 2 else -1
        sent = self.asked.pop(ident, None)
        if sent is None:
            return  # an answer to a query already answered (sent twice): nothing new
        message, what, _ = sent
        if what is None:
            self._on_serial(*_serial(wire, message))
            return
        values, error = served_values(wire, message, what.rdtype)
        wrong = error or what.judge(values or frozenset())
        if not wrong:
            self.left = [e for e in self.left if e is not what]
        else:
            self.error = f"serves serial {self.serial} but {wrong}"

    def _on_serial(self, seen: int | None, error: str) -> None:
        if seen is None:
            self.error = error
            return
        self.serial = seen
        if not serial_at_least(seen, self.primary):
            self.error = (
                f"serves serial {seen}, the primary {self.primary}: the change has not reached "
                "it (does the primary NOTIFY it, and may it transfer the zone?)"
            )
        elif self.before is not None and not serial_after(seen, self.before):
            self.error = f"still serves serial {seen} (it had {self.before} before the update)"
        else:
            self.serial_ok = True

    def why(self) -> str:
        return "" if self.confirmed_at is not None else self.error


def _collect(selector: selectors.BaseSelector, servers: Sequence[_Server], *, wait: float) -> None:
    """Take answers for up to WAIT real seconds, or until no query is open."""
    # Real time here even under a fake clock: this waits on sockets, not on the world.
    end = time.monotonic() + wait
    while any(s.asked for s in servers) and end - time.monotonic() > 0:
        for key, _ in selector.select(max(0.0, end - time.monotonic())):
            server = key.data
            assert isinstance(server, _Server) and server.sock is not None
            try:
                while True:
                    server.answer(server.sock.recv(65535))
            except BlockingIOError:
                continue
            except OSError as exc:
                server.error = exc.strerror or str(exc)
                server.asked.clear()


def _serial(wire: bytes, query: dns.message.Message) -> tuple[int | None, str]:
    try:
        answer = dns.message.from_wire(wire)
    except dns.exception.DNSException as exc:
        return None, f"bad answer: {exc}"
    if not query.is_response(answer):
        return None, "answer does not match the query"
    if answer.rcode() != dns.rcode.NOERROR:
        return None, dns.rcode.to_text(answer.rcode())
    for rrset in answer.answer:
        if rrset.rdtype == dns.rdatatype.SOA:
            return int(rrset[0].serial), ""
    return None, "no SOA in the answer (not authoritative?)"
