"""The RFC 2136 provider: TSIG-signed AXFR to read, TSIG-signed UPDATE to write, over TCP.

Every change carries prerequisites that state exactly what it replaces (S5): "RRset does not
exist" for a create, "RRset exists (value dependent)" with every value read for an update or a
delete. The server checks all prerequisites of a message before it changes anything, so a
concurrent writer makes the whole message fail with NXRRSET or YXRRSET, never half-apply.

Changes are packed, in order and without splitting an atomic unit, into as few messages as fit
in 64 KiB; they go one after another over one TCP connection. See `provider.py` for what a
failure part-way means. Propagation is confirmed by the SOA serial (`propagation.py`).
"""

from __future__ import annotations

import random
import socket
import struct
import time
from collections.abc import Callable, Sequence

import dns.exception
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdata
import dns.rdatatype
import dns.tsig

from eipkeeper.config import Config
from eipkeeper.dns.axfr import TransferRefused, gc_paused, transfer
from eipkeeper.dns.propagation import (
    Target,
    parse_server,
    poll_serials,
    read_serials,
    resolve,
    serial_problem,
)
from eipkeeper.dns.provider import (
    ApplyResult,
    Clock,
    Propagation,
    Provider,
    ServerCheck,
    Sleep,
    Unit,
)
from eipkeeper.dns.records import Change, Zone
from eipkeeper.dns.serving import expectations
from eipkeeper.dns.tsig import TsigKey, load_key
from eipkeeper.dns.wire import MAX_MESSAGE, FormError, UpdateMessage, rights_probe, tsig_size
from eipkeeper.errors import (
    ConfigError,
    ConflictError,
    EipkeeperError,
    OperationError,
    TransientError,
)
from eipkeeper.logs import get_logger

log = get_logger(__name__)

_PRIMARY = "(primary)"
_CONFLICTS = {dns.rcode.NXRRSET, dns.rcode.YXRRSET, dns.rcode.NXDOMAIN, dns.rcode.YXDOMAIN}


class Rfc2136Provider(Provider[UpdateMessage]):
    kind = "rfc2136"

    def __init__(
        self,
        zone: str,
        *,
        server: str,
        key: TsigKey,
        port: int = 53,
        verify_servers: Sequence[str] = (),
        timeout: float = 30.0,
        max_changes: int = 500,
        max_message: int = MAX_MESSAGE,
        clock: Clock = time.time,
        sleep: Sleep = time.sleep,
    ) -> None:
        super().__init__(zone, clock=clock, sleep=sleep)
        self.server = server
        self.port = port
        self.key = key
        self.verify_servers = tuple(verify_servers)
        self.timeout = timeout
        self.max_changes = max_changes
        self.max_message = max_message
        # TSIG signatures carry the real time whatever `clock` is (tests skew it for BADTIME).
        self.tsig_time: Clock = time.time

    @classmethod
    def from_config(cls, config: Config) -> Rfc2136Provider:
        if config.dns is None or config.dns.provider != "rfc2136":
            raise ConfigError("the config has no [dns] table with provider = rfc2136")
        dns_config = config.dns
        return cls(
            dns_config.zone,
            server=dns_config.server,
            port=dns_config.port,
            key=load_key(config.relative(dns_config.tsig_key_file)),
            verify_servers=dns_config.verify_servers,
            timeout=dns_config.timeout,
            max_changes=dns_config.max_changes_per_message,
        )

    @property
    def where(self) -> str:
        return (
            f"{self.server}:{self.port}"
            if ":" not in self.server
            else f"[{self.server}]:{self.port}"
        )

    # -- read -----------------------------------------------------------------------------------

    def _read(self) -> Zone:
        try:
            return transfer(
                host=self.server, port=self.port, zone=self.zone, key=self.key, timeout=self.timeout
            )
        except TransferRefused as refused:
            if refused.unsigned:
                raise self._unsigned(str(refused), "the zone transfer (AXFR)") from None
            raise OperationError(
                f"{self.where} refused the zone transfer (AXFR) of {self.zone} "
                f"({refused}): key {self.key.name} may not transfer it (BIND: allow-transfer; "
                "Knot: an acl with action transfer; PowerDNS: TSIG-ALLOW-AXFR)"
            ) from None
        except Exception as exc:
            raise self._error(exc, "read zone") from exc

    # -- write ----------------------------------------------------------------------------------

    def _batches(self, units: list[Unit]) -> list[UpdateMessage]:
        limit = self.max_message - tsig_size(self.key)
        messages = [UpdateMessage(self.zone)]
        for unit in units:
            full = len(messages[-1].changes) + len(unit) > self.max_changes
            if messages[-1].changes and full:
                messages.append(UpdateMessage(self.zone))
            if messages[-1].add(unit, limit=limit):
                continue
            messages.append(UpdateMessage(self.zone))
            if not messages[-1].add(unit, limit=limit):
                names = ", ".join(f"{c.key[1]} {c.key[0]}" for c in unit)
                raise OperationError(f"too large for one UPDATE message ({limit} bytes): {names}")
        return messages

    def _before(self) -> tuple[int | None, tuple[tuple[str, int], ...]]:
        primary = resolve(self.server, self.port, label=_PRIMARY)
        targets = [*primary, *self.verify_targets()]
        # A short wait: a verify server that does not answer now is judged against the
        # primary's serial alone, and the update must not wait on it.
        seen = read_serials(targets, zone=self.zone, wait=min(self.timeout, 2.0))
        return seen.pop(_PRIMARY, None), tuple(seen.items())

    def _send(
        self, batches: list[UpdateMessage], applied: Callable[[int], None]
    ) -> tuple[int | None, tuple[str, ...]]:
        try:
            with (
                gc_paused(),
                socket.create_connection((self.server, self.port), timeout=self.timeout) as sock,
            ):
                for index, message in enumerate(batches):
                    self._update(sock, message)
                    applied(index)
                return self._serial(sock), ()
        except EipkeeperError:
            raise
        except Exception as exc:
            raise self._error(exc, "update") from exc

    def check_update(self) -> None:
        """Prove the key may update the zone with an UPDATE that changes nothing; raises the
        error a real update would meet (refused, a key the server does not accept)."""
        try:
            with socket.create_connection((self.server, self.port), timeout=self.timeout) as sock:
                self._update(sock, rights_probe(self.zone))
        except EipkeeperError:
            raise
        except Exception as exc:
            raise self._error(exc, "update") from exc

    def _update(self, sock: socket.socket, message: UpdateMessage) -> None:
        ident = random.randrange(0x10000)
        wire, mac = message.signed(self.key, message_id=ident, now=int(self.tsig_time()))
        answer = _exchange(sock, wire)
        try:
            reply = dns.message.from_wire(answer, keyring=self.key.dns_key, request_mac=mac)
        except dns.exception.FormError:
            # PowerDNS refuses a key it does not accept without signing its answer.
            bare = dns.message.from_wire(answer)
            if bare.id != ident or bare.rcode() == dns.rcode.NOERROR:
                raise
            raise self._unsigned(dns.rcode.to_text(bare.rcode()), "the update") from None
        if reply.id != ident:
            raise FormError("the answer to an UPDATE does not match it")
        rcode = reply.rcode()
        log.debug(
            "dns.update.message", changes=len(message.changes), bytes=len(wire), rcode=rcode.name
        )
        if rcode != dns.rcode.NOERROR:
            raise self._rcode_error(rcode, message.changes)

    def _serial(self, sock: socket.socket) -> int:
        query = dns.message.make_query(self.zone + ".", dns.rdatatype.SOA)
        reply = dns.message.from_wire(_exchange(sock, query.to_wire()))
        for rrset in reply.answer:
            if rrset.rdtype == dns.rdatatype.SOA:
                return int(rrset[0].serial)
        raise OperationError(f"{self.where} gave no SOA for {self.zone} after the update")

    # -- confirm --------------------------------------------------------------------------------

    def _confirm(self, result: ApplyResult, *, timeout: float) -> Propagation:
        if result.serial is None:
            return Propagation(serial=None)
        targets = self.verify_targets()
        problem = serial_problem(self.where, result.serial_before, result.serial)
        if problem:
            checks = tuple(ServerCheck(t.label, None, None, problem) for t in targets)
            return Propagation(serial=result.serial, servers=checks, problem=problem)
        return poll_serials(
            targets,
            zone=self.zone,
            serial=result.serial,
            timeout=timeout,
            clock=self.clock,
            sleep=self.sleep,
            before=dict(result.serials_before),
            expect=expectations(result.applied),
        )

    def verify_targets(self) -> list[Target]:
        """`verify_servers` when given, else every NS of the zone (asked of the primary)."""
        if self.verify_servers:
            targets: list[Target] = []
            for text in self.verify_servers:
                host, port = parse_server(text)
                targets += resolve(host, port, label=text)
            return targets
        return self._nameservers()

    def _nameservers(self) -> list[Target]:
        try:
            names = [str(getattr(r, "target", "")).rstrip(".") for r in self._ask(self.zone, "NS")]
        except Exception as exc:
            raise self._error(exc, "list name servers") from exc
        targets: list[Target] = []
        for name in sorted(names):
            glue = [str(r) for t in ("A", "AAAA") for r in self._ask(name, t)]
            if glue:
                targets += [Target(f"{name} ({a})", a, 53) for a in sorted(glue)]
            else:
                targets += resolve(name, 53, label=name)
        return targets

    def _ask(self, name: str, rdtype: str) -> list[dns.rdata.Rdata]:
        query = dns.message.make_query(name + ".", rdtype)
        reply = dns.query.tcp(query, self.server, port=self.port, timeout=self.timeout)
        wanted = query.question[0].rdtype
        return [rd for rrset in reply.answer if rrset.rdtype == wanted for rd in rrset]

    # -- errors ---------------------------------------------------------------------------------

    def _rcode_error(self, rcode: dns.rcode.Rcode, changes: list[Change]) -> EipkeeperError:
        name = dns.rcode.to_text(rcode)
        if rcode in _CONFLICTS:
            shown = ", ".join(f"{c.key[1]} {c.key[0]}" for c in changes[:3])
            more = f" and {len(changes) - 3} more" if len(changes) > 3 else ""
            return ConflictError(
                f"update of {self.zone} at {self.where} failed a prerequisite ({name}): a record "
                f"among {shown}{more} changed since it was read (S5); re-read and re-plan"
            )
        if rcode == dns.rcode.REFUSED:
            return OperationError(
                f"{self.where} refused the update of {self.zone} (REFUSED): key {self.key.name} "
                f"may not update it ({_UPDATE_RIGHTS}), or a record failed the server's checks "
                "(an MX or NS target in the zone without an address); the server's log says which"
            )
        if rcode == dns.rcode.NOTIMP:
            return OperationError(
                f"{self.where} does not take dynamic updates (NOTIMP): on PowerDNS set "
                "`dnsupdate=yes` (off by default, and then it logs nothing)"
            )
        if rcode == dns.rcode.NOTAUTH:
            return OperationError(
                f"{self.where} is not authoritative for {self.zone} (NOTAUTH): "
                "`server` must be the zone's primary"
            )
        if rcode == dns.rcode.NOTZONE:
            return OperationError(f"a record is outside zone {self.zone} (NOTZONE)")
        if rcode == dns.rcode.SERVFAIL:
            return TransientError(f"{self.where} failed the update of {self.zone} (SERVFAIL)")
        return OperationError(f"{self.where} rejected the update of {self.zone} ({name})")

    def _unsigned(self, rcode: str, what: str) -> EipkeeperError:
        source = f" in {self.key.source}" if self.key.source else ""
        return OperationError(
            f"{self.where} refused {what} of {self.zone} ({rcode}, answered without a TSIG "
            f"record): PowerDNS answers so when it does not accept key {self.key.name}: a wrong "
            f"key name, secret or algorithm{source} (compare `pdnsutil list-tsig-keys`), or "
            "no right (zone metadata TSIG-ALLOW-DNSUPDATE, TSIG-ALLOW-AXFR)"
        )

    def _key_known(self) -> bool:
        """Whether the server accepts the key on a plain query: then a BADKEY on an update
        is its access list speaking (Knot answers so), not an unknown key."""
        query = dns.message.make_query(self.zone + ".", dns.rdatatype.SOA)
        query.use_tsig(self.key.dns_key)
        try:
            reply = dns.query.tcp(query, self.server, port=self.port, timeout=self.timeout)
        except (dns.exception.DNSException, OSError):
            return False
        return reply.rcode() == dns.rcode.NOERROR

    def _error(self, exc: Exception, action: str) -> EipkeeperError:
        key, where = self.key, self.where
        source = f" in {key.source}" if key.source else ""
        if isinstance(exc, dns.tsig.PeerBadKey) and action == "update" and self._key_known():
            return OperationError(
                f"{where} knows TSIG key {key.name} but does not let it update {self.zone} "
                f"(BADKEY): {_UPDATE_RIGHTS}"
            )
        if isinstance(exc, dns.tsig.PeerBadKey):
            return OperationError(
                f"{where} does not know TSIG key {key.name} ({key.algorithm}) (BADKEY): "
                f"check the key name and algorithm{source} against the server's"
            )
        if isinstance(exc, dns.tsig.PeerBadSignature | dns.tsig.BadSignature):
            return OperationError(
                f"{where} and key {key.name} disagree on the signature (BADSIG): "
                f"the secret{source} is not the server's"
            )
        if isinstance(exc, dns.tsig.PeerBadTime | dns.tsig.BadTime):
            return OperationError(
                f"{where} rejected the time of the TSIG signature (BADTIME): this machine's "
                "clock and the server's differ by more than 300 s; fix the clock (NTP)"
            )
        if isinstance(exc, dns.tsig.PeerError | dns.message.UnknownTSIGKey | dns.tsig.BadKey):
            return OperationError(f"{where}: TSIG error with key {key.name}: {exc}")
        if isinstance(exc, TimeoutError | dns.exception.Timeout):
            return TransientError(f"{where} did not answer within {self.timeout:g} s ({action})")
        if isinstance(exc, ConnectionRefusedError):
            return TransientError(f"{where} refused the connection: is the DNS server running?")
        if isinstance(exc, EOFError | ConnectionError):
            return TransientError(f"{where} closed the connection ({action})")
        if isinstance(exc, OSError):
            return TransientError(f"cannot reach {where}: {exc.strerror or exc} ({action})")
        if isinstance(exc, FormError | dns.exception.DNSException):
            return OperationError(f"{where} sent a malformed answer ({action}): {exc}")
        raise exc


_UPDATE_RIGHTS = (
    "BIND: the zone's update-policy grant; Knot: an acl with action update for the key; "
    "PowerDNS: zone metadata TSIG-ALLOW-DNSUPDATE and ALLOW-DNSUPDATE-FROM"
)


def _exchange(sock: socket.socket, wire: bytes) -> bytes:
    sock.sendall(struct.pack("!H", len(wire)) + wire)
    size = struct.unpack("!H", _recv(sock, 2))[0]
    return _recv(sock, size)


def _recv(sock: socket.socket, count: int) -> bytes:
    data = bytearray()
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise EOFError("connection closed")
        data += chunk
    return bytes(data)
