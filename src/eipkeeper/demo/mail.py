"""A steady mail sender for the demo, as an MTA sends: MX hosts in preference order, the next
one when a host does not answer; and the count of where each message landed, read from the
sandbox's mailboxes (its JSON endpoint), the stranger's included."""

from __future__ import annotations

import json
import smtplib
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

SMTP_PORT = 2525
CONNECT_TIMEOUT = 2.0


@dataclass
class MailStream:
    """Sends one message every EVERY seconds to the hosts MX_HOSTS() gives, in order."""

    mx_hosts: Callable[[], list[str]]
    every: float = 0.5
    sent: list[str] = field(default_factory=list)
    """Message-IDs accepted by some host."""
    tries_failed: int = 0
    lost: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> MailStream:
        self._thread = threading.Thread(target=self._run, name="demo-mail", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _run(self) -> None:
        n = 0
        while not self._stop.is_set():
            n += 1
            message_id = f"<demo-{n}-{time.time_ns()}@sender.example.net>"
            if self._send(message_id):
                self.sent.append(message_id)
            else:
                self.lost += 1
            self._stop.wait(self.every)

    def _send(self, message_id: str) -> bool:
        body = f"Message-ID: {message_id}\r\nSubject: demo\r\n\r\nhello\r\n"
        for host in self.mx_hosts():
            try:
                with smtplib.SMTP(host, SMTP_PORT, timeout=CONNECT_TIMEOUT) as smtp:
                    smtp.sendmail("sender@example.net", ["postmaster@example.test"], body)
                return True
            except (OSError, smtplib.SMTPException):
                self.tries_failed += 1
        return False


def landed(mail_url: str, message_ids: list[str]) -> Counter[str]:
    """Where MESSAGE_IDS landed: instance id -> count, `stranger` for the stranger."""
    with urllib.request.urlopen(mail_url, timeout=5) as reply:  # noqa: S310 - the sandbox's
        boxes = json.load(reply)
    wanted = set(message_ids)
    where: Counter[str] = Counter()
    for holder, messages in boxes.get("instances", {}).items():
        where[holder] += sum(1 for m in messages if m.get("message_id") in wanted)
    where["stranger"] = sum(1 for m in boxes.get("stranger", []) if m.get("message_id") in wanted)
    return where
