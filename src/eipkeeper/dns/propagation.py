"""Confirm a change by the SOA serial on every authoritative server (SPEC S2, FACTS "DNS").

Every server is asked for the zone's SOA over UDP, all at once, round after round, until each
serves a serial at least the one the change produced (RFC 1982 serial arithmetic) or the time
is up. A server that never confirms is reported with its last answer or error: the caller
must not start the S2 TTL clock until every server confirmed.
"""

from __future__ import annotations

import contextlib
import ipaddress
import selectors
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass

import dns.exception
import dns.message
import dns.rcode
import dns.rdatatype

from eipkeeper.dns.provider import Clock, Propagation, ServerCheck, Sleep
from eipkeeper.errors import ConfigError

_ROUND = 1.0
"""Seconds one round waits for answers: a server slower than that is asked again."""


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


def poll_serials(
    targets: Sequence[Target],
    *,
    zone: str,
    serial: int,
    timeout: float,
    clock: Clock,
    sleep: Sleep,
    interval: float = 0.2,
) -> Propagation:
    """Ask every target for ZONE's SOA until each serves SERIAL or later, or TIMEOUT passes."""
    deadline = clock() + timeout
    state = {t.label: ServerCheck(server=t.label) for t in targets}
    pending = list(targets)
    while pending:
        remaining = deadline - clock()
        answers = _round(pending, zone=zone, wait=max(0.05, min(_ROUND, remaining)))
        now = clock()
        still = []
        for target in pending:
            seen, error = answers.get(target.label, (None, "no answer"))
            if seen is not None and serial_at_least(seen, serial):
                state[target.label] = ServerCheck(target.label, now, seen, "")
                continue
            if seen is not None:
                error = f"serves serial {seen}, not yet {serial}"
            state[target.label] = ServerCheck(target.label, None, seen, error)
            still.append(target)
        pending = still
        remaining = deadline - clock()
        if not pending or remaining <= 0:
            break
        sleep(min(interval, remaining))
    return Propagation(serial=serial, servers=tuple(state[t.label] for t in targets))


def _round(
    targets: Sequence[Target], *, zone: str, wait: float
) -> dict[str, tuple[int | None, str]]:
    """One SOA query to each target at once; (serial or None, error) per label."""
    results: dict[str, tuple[int | None, str]] = {}
    selector = selectors.DefaultSelector()
    queries: dict[str, dns.message.Message] = {}
    sockets: list[socket.socket] = []
    try:
        for target in targets:
            if not target.address:
                results[target.label] = (None, "no address")
                continue
            family = socket.AF_INET6 if ":" in target.address else socket.AF_INET
            sock = socket.socket(family, socket.SOCK_DGRAM)
            sockets.append(sock)
            sock.setblocking(False)
            query = dns.message.make_query(zone + ".", dns.rdatatype.SOA)
            try:
                # Connected, so that an ICMP "port unreachable" comes back as an error.
                sock.connect((target.address, target.port))
                sock.send(query.to_wire())
            except OSError as exc:
                results[target.label] = (None, exc.strerror or str(exc))
                continue
            queries[target.label] = query
            selector.register(sock, selectors.EVENT_READ, target.label)
        _collect(selector, queries=queries, results=results, wait=wait)
    finally:
        selector.close()
        for sock in sockets:
            sock.close()
    return results


def _collect(
    selector: selectors.BaseSelector,
    *,
    queries: dict[str, dns.message.Message],
    results: dict[str, tuple[int | None, str]],
    wait: float,
) -> None:
    waiting = set(queries)
    # Real time here even under a fake clock: this waits on sockets, not on the world.
    end = time.monotonic() + wait
    while waiting and end - time.monotonic() > 0:
        for key, _ in selector.select(max(0.0, end - time.monotonic())):
            label = str(key.data)
            sock = key.fileobj
            assert isinstance(sock, socket.socket)
            try:
                wire = sock.recv(65535)
            except OSError as exc:
                results[label] = (None, exc.strerror or str(exc))
            else:
                results[label] = _serial(wire, queries[label])
            waiting.discard(label)
            with contextlib.suppress(KeyError, ValueError):
                selector.unregister(sock)
    for label in waiting:
        results.setdefault(label, (None, "no answer"))


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
