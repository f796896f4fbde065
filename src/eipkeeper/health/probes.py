"""One probe of one address: the check kinds of SPEC.md section 5.

Each probe opens one connection, has one conversation, and returns a `ProbeResult`; it never
raises for anything the peer does (a refused connection, a timeout, a wrong answer are results).
Probes are coroutines so that thousands can run at once in one thread; `timeout` bounds the
whole conversation, connect included.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from eipkeeper.config import CheckConfig

EHLO_NAME = "eipkeeper.invalid"
"""What the SMTP probe says in EHLO: a reserved name (RFC 2606), so it is never mistaken for a
real client."""
MAX_REPLY_LINES = 100
SPAMD_PONG = re.compile(r"^SPAMD/\d+\.\d+ 0 PONG\s*$")
HTTP_STATUS = re.compile(r"^HTTP/\d(?:\.\d)? (\d{3})")


@dataclass(frozen=True)
class ProbeResult:
    """What one probe saw."""

    ok: bool
    detail: str
    """Why it failed, or what answered (an SMTP greeting, `PONG`, an HTTP status line)."""
    answered_by: str = ""
    """Who answered, when the answer says so: the host an SMTP greeting names, else the
    common name of a TLS peer's certificate; empty when nothing names the peer."""
    latency: float = 0.0
    """Seconds the probe took, failures included."""


class _Failed(Exception):
    """A wrong answer; ends the conversation with this detail."""


class _Peer:
    """One connection and what it says, line by line."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    async def line(self) -> str:
        raw = await self.reader.readline()
        if not raw:
            raise _Failed("connection closed by the peer")
        return raw.decode("utf-8", "replace").rstrip("\r\n")

    async def send(self, text: str) -> None:
        self.writer.write(text.encode("ascii"))
        await self.writer.drain()

    def certificate_name(self) -> str:
        sock = self.writer.get_extra_info("ssl_object")
        cert = sock.getpeercert() if isinstance(sock, ssl.SSLObject) else None
        for rdn in (cert or {}).get("subject", ()):
            for pair in rdn:
                if pair[0] == "commonName":
                    return str(pair[1])
        return ""


Conversation = Callable[[_Peer], Awaitable[tuple[str, str]]]
"""Talks to a connected peer; returns (detail, answered_by) or raises _Failed."""


async def _converse(
    host: str, port: int, *, timeout: float, tls: ssl.SSLContext | None, talk: Conversation
) -> ProbeResult:
    started = time.monotonic()

    def result(ok: bool, detail: str, answered_by: str = "") -> ProbeResult:
        return ProbeResult(ok, detail, answered_by, round(time.monotonic() - started, 6))

    if not host:
        return result(False, "no public address to probe")
    writer: asyncio.StreamWriter | None = None
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(host, port, ssl=tls)
            detail, answered_by = await talk(_Peer(reader, writer))
        # Returned here, before `finally`, so that closing is not counted in the latency.
        return result(True, detail, answered_by)
    except TimeoutError:
        return result(False, f"no answer within {timeout:g}s")
    except _Failed as failed:
        return result(False, str(failed))
    except ssl.SSLError as exc:
        return result(False, f"TLS: {exc.reason or exc}")
    except ConnectionRefusedError:
        return result(False, "connection refused")
    except OSError as exc:
        return result(False, exc.strerror or str(exc))
    finally:
        if writer is not None:
            writer.close()
            # A peer that vanished mid-close must not turn a result into an exception.
            with contextlib.suppress(OSError, ssl.SSLError, TimeoutError):
                async with asyncio.timeout(0.5):
                    await writer.wait_closed()


async def _smtp_reply(peer: _Peer) -> tuple[int, list[str]]:
    """One SMTP reply, multi-line ones included (`250-...` continues, `250 ...` ends)."""
    lines: list[str] = []
    while len(lines) < MAX_REPLY_LINES:
        line = await peer.line()
        if len(line) < 3 or not line[:3].isdigit():
            raise _Failed(f"not an SMTP reply: {line[:80]!r}")
        lines.append(line)
        if line[3:4] != "-":
            return int(line[:3]), lines
    raise _Failed("SMTP reply too long")


async def _talk_smtp(peer: _Peer) -> tuple[str, str]:
    code, greeting = await _smtp_reply(peer)
    if code != 220:
        raise _Failed(f"greeting {greeting[0][:80]}")
    words = greeting[0][4:].split()
    answered_by = words[0] if words else ""
    await peer.send(f"EHLO {EHLO_NAME}\r\n")
    code, reply = await _smtp_reply(peer)
    if code != 250:
        raise _Failed(f"EHLO answered {reply[0][:80]}")
    # QUIT lets the server log a clean session; its answer says nothing about health.
    await peer.send("QUIT\r\n")
    with contextlib.suppress(_Failed):
        await _smtp_reply(peer)
    return greeting[0], answered_by


async def _talk_spamd(peer: _Peer) -> tuple[str, str]:
    # The spamc protocol: a request line, headers, an empty line. PING takes no body.
    await peer.send("PING SPAMC/1.5\r\n\r\n")
    line = await peer.line()
    if not SPAMD_PONG.match(line):
        raise _Failed(f"PING answered {line[:80]!r}")
    return line, peer.certificate_name()


def _talk_http(host: str, port: int, path: str) -> Conversation:
    authority = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    async def talk(peer: _Peer) -> tuple[str, str]:
        await peer.send(
            f"GET {path} HTTP/1.1\r\nHost: {authority}\r\n"
            "User-Agent: eipkeeper-health-check\r\nConnection: close\r\n\r\n"
        )
        line = await peer.line()
        match = HTTP_STATUS.match(line)
        if not match:
            raise _Failed(f"not an HTTP answer: {line[:80]!r}")
        if not 200 <= int(match.group(1)) < 400:
            raise _Failed(f"{path} answered {line[:80]}")
        return line, peer.certificate_name()

    return talk


async def _talk_tcp(peer: _Peer) -> tuple[str, str]:
    return "connected", peer.certificate_name()


async def probe_tcp(
    host: str, port: int, *, timeout: float, tls: ssl.SSLContext | None = None
) -> ProbeResult:
    """Passes when a connection (and, with TLS, a handshake) succeeds."""
    return await _converse(host, port, timeout=timeout, tls=tls, talk=_talk_tcp)


async def probe_smtp(
    host: str, port: int, *, timeout: float, tls: ssl.SSLContext | None = None
) -> ProbeResult:
    """Passes on a 220 greeting and a 250 answer to EHLO; then says QUIT.

    `answered_by` is the first word of the greeting: the host the server calls itself (the
    sandbox names the instance id there)."""
    return await _converse(host, port, timeout=timeout, tls=tls, talk=_talk_smtp)


async def probe_spamd(
    host: str, port: int, *, timeout: float, tls: ssl.SSLContext | None = None
) -> ProbeResult:
    """Passes when SpamAssassin's spamd answers `PING SPAMC/1.5` with `SPAMD/1.5 0 PONG`."""
    return await _converse(host, port, timeout=timeout, tls=tls, talk=_talk_spamd)


async def probe_http(
    host: str, port: int, *, timeout: float, path: str = "/", tls: ssl.SSLContext | None = None
) -> ProbeResult:
    """Passes when GET PATH answers a 2xx or 3xx status (a redirect is not followed)."""
    return await _converse(host, port, timeout=timeout, tls=tls, talk=_talk_http(host, port, path))


async def probe(host: str, check: CheckConfig, *, tls: ssl.SSLContext | None = None) -> ProbeResult:
    """HOST probed the way CHECK says (TLS, when given, wraps the connection for any kind)."""
    port, timeout = check.port, check.timeout
    if check.kind == "smtp":
        return await probe_smtp(host, port, timeout=timeout, tls=tls)
    if check.kind == "spamd":
        return await probe_spamd(host, port, timeout=timeout, tls=tls)
    if check.kind == "http":
        return await probe_http(host, port, timeout=timeout, path=check.path, tls=tls)
    return await probe_tcp(host, port, timeout=timeout, tls=tls)
