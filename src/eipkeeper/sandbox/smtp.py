"""The SMTP servers of the data plane, on aiosmtpd, and the mailboxes that keep what they accept.

Each instance greets as itself (`220 i-0abc ESMTP eipkeeper-sandbox`) so that a probe can tell
which instance answered an address; the stranger greets as somebody else
(`220 stranger.example.net ESMTP not-yours`). Every accepted message is kept, per holder:
Message-ID, time received, envelope sender and recipients, the address it was sent to.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from email.parser import BytesHeaderParser
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from eipkeeper.sandbox.dataplane import STRANGER

BANNER = "ESMTP eipkeeper-sandbox"
STRANGER_HOST = "stranger.example.net"
STRANGER_BANNER = "ESMTP not-yours"
IDLE_TIMEOUT = 60.0
"""Seconds a silent client may hold a session; real servers use minutes, a sandbox needs less."""


def greeting(holder: str) -> str:
    if holder == STRANGER:
        return f"220 {STRANGER_HOST} {STRANGER_BANNER}"
    return f"220 {holder} {BANNER}"


@dataclass(frozen=True)
class Message:
    """One message a holder accepted."""

    holder: str
    """The instance id, or `stranger`."""
    address: str
    """The public address it was sent to."""
    message_id: str
    received_at: float
    """Unix time."""
    mail_from: str
    rcpt_to: tuple[str, ...]
    size: int

    def as_json(self) -> dict[str, Any]:
        body = asdict(self)
        body["rcpt_to"] = list(self.rcpt_to)
        return body


class Mailboxes:
    """Every accepted message, per holder. Thread-safe: the data plane writes, anyone reads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._boxes: dict[str, list[Message]] = {}

    def add(self, message: Message) -> None:
        with self._lock:
            self._boxes.setdefault(message.holder, []).append(message)

    def snapshot(self, *, since: float | None = None) -> dict[str, list[Message]]:
        """Holder -> its messages (received at or after SINCE, if given), oldest first."""
        with self._lock:
            return {
                holder: [m for m in box if since is None or m.received_at >= since]
                for holder, box in self._boxes.items()
            }

    def counts(self) -> dict[str, int]:
        with self._lock:
            return {holder: len(box) for holder, box in self._boxes.items()}

    def as_json(self, *, since: float | None = None) -> dict[str, Any]:
        """`{"instances": {"i-...": [message, ...]}, "stranger": [message, ...]}`."""
        boxes = self.snapshot(since=since)
        stranger = boxes.pop(STRANGER, [])
        return {
            "instances": {h: [m.as_json() for m in box] for h, box in sorted(boxes.items())},
            "stranger": [m.as_json() for m in stranger],
        }


def _message_id(content: bytes) -> str:
    headers = BytesHeaderParser().parsebytes(content)
    return str(headers.get("Message-ID", "")).strip()


class _Recorder:
    """aiosmtpd handler: keeps each message in the mailboxes, as the holder that greeted."""

    def __init__(self, *, holder: str, address: str, accepted: Callable[[Message], None]) -> None:
        self._holder = holder
        self._address = address
        self._accepted = accepted

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802 -- aiosmtpd's hook name
        content = envelope.original_content or b""
        if isinstance(content, str):
            content = content.encode("utf-8", "replace")
        message = Message(
            holder=self._holder,
            address=self._address,
            message_id=_message_id(content),
            received_at=time.time(),
            mail_from=str(envelope.mail_from or ""),
            rcpt_to=tuple(str(r) for r in envelope.rcpt_tos),
            size=len(content),
        )
        self._accepted(message)
        return f"250 OK queued on {self._holder}"


class SmtpSession(SMTP):
    """One SMTP connection, greeting as its holder; `on_close` lets the listener forget it."""

    def __init__(
        self,
        *,
        holder: str,
        address: str,
        accepted: Callable[[Message], None],
        on_open: Callable[[SmtpSession], None],
        on_close: Callable[[SmtpSession], None],
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        hostname, ident = (
            (STRANGER_HOST, STRANGER_BANNER) if holder == STRANGER else (holder, BANNER)
        )
        super().__init__(
            _Recorder(holder=holder, address=address, accepted=accepted),
            hostname=hostname,
            ident=ident,
            timeout=IDLE_TIMEOUT,
            loop=loop,
        )
        self.holder = holder
        self._on_open = on_open
        self._on_close = on_close

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._on_open(self)

    def connection_lost(self, error: Exception | None) -> None:
        self._on_close(self)
        super().connection_lost(error)

    def hang_up(self) -> None:
        """Cut the connection, as packets stop reaching this holder."""
        if self.transport is not None:
            self.transport.close()
