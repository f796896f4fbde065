"""Postfix's own account of each message, read from its `maillog_file`.

The lines that matter (Postfix 3.7, one message per queue id):

    2F1A: message-id=<...>                                            (cleanup)
    2F1A: to=<u@example.test>, relay=mx1.example.test[127.1.2.3]:2525, delay=0.07,
          delays=0.03/0.01/0.04/0, dsn=2.0.0, status=sent (250 OK queued on i-0abc)
    2F1A: to=<u@example.test>, relay=none, delay=2.1, ..., status=deferred (connect to ...)
    connect to mx3.example.test[127.4.5.6]:2525: Connection timed out  (no queue id: the
          smtp client moves on to the next MX host; the message may still be delivered)

A message is deferred when Postfix gave up on it for now and queued it for a later try; each
try is one `status=deferred` line. `relay=HOST[ADDRESS]:PORT` names the address that took it.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from dataclasses import dataclass, field

_QUEUE_ID = r"(?P<qid>[0-9A-F]{6,}|[0-9B-DF-HJ-NP-TV-Zb-df-hj-np-tv-z]{10,})"
_MESSAGE_ID = re.compile(_QUEUE_ID + r": message-id=(?P<mid><[^>]*>|\S+)")
_STATUS = re.compile(
    _QUEUE_ID + r": to=<(?P<rcpt>[^>]*)>, (?:orig_to=<[^>]*>, )?relay=(?P<relay>\S+?), "
    r"(?:conn_use=\d+, )?delay=(?P<delay>[\d.]+), .*?status=(?P<status>\w+) \((?P<reply>.*)\)$"
)
_RELAY = re.compile(r"(?P<host>[^\[]+)\[(?P<address>[^\]]+)\](?::(?P<port>\d+))?")
_CONNECT_FAILED = re.compile(
    r"\]: connect to (?P<host>[^\[]+)\[(?P<address>[^\]]+)\]:(?P<port>\d+): (?P<error>.*)$"
)


@dataclass
class Attempt:
    """One `status=` line: Postfix's verdict on one try of one recipient."""

    status: str
    """`sent`, `deferred`, `bounced` or `expired`."""
    relay_host: str
    relay_address: str
    delay_s: float
    reply: str


@dataclass
class MessageLog:
    queue_id: str
    message_id: str = ""
    attempts: list[Attempt] = field(default_factory=list)

    @property
    def sent(self) -> Attempt | None:
        return next((a for a in self.attempts if a.status == "sent"), None)

    @property
    def deferrals(self) -> int:
        return sum(1 for a in self.attempts if a.status == "deferred")

    @property
    def bounced(self) -> bool:
        return any(a.status in ("bounced", "expired") for a in self.attempts)


@dataclass
class Maillog:
    by_queue_id: dict[str, MessageLog] = field(default_factory=dict)
    connect_failures: Counter[str] = field(default_factory=Counter)
    """`address: error` -> how often the smtp client could not connect there and moved on."""

    @property
    def by_message_id(self) -> dict[str, MessageLog]:
        return {m.message_id: m for m in self.by_queue_id.values() if m.message_id}

    def delays(self) -> list[float]:
        """Seconds from arrival to delivery (`delay=` of each `status=sent`)."""
        return [a.delay_s for m in self.by_queue_id.values() if (a := m.sent) is not None]


def parse(text: str) -> Maillog:
    log = Maillog()

    def message(qid: str) -> MessageLog:
        return log.by_queue_id.setdefault(qid, MessageLog(queue_id=qid))

    for line in text.splitlines():
        if found := _STATUS.search(line):
            relay = _RELAY.fullmatch(found["relay"])
            message(found["qid"]).attempts.append(
                Attempt(
                    status=found["status"],
                    relay_host=relay["host"] if relay else found["relay"],
                    relay_address=relay["address"] if relay else "",
                    delay_s=float(found["delay"]),
                    reply=found["reply"],
                )
            )
        elif found := _MESSAGE_ID.search(line):
            message(found["qid"]).message_id = found["mid"]
        elif found := _CONNECT_FAILED.search(line):
            log.connect_failures[f"{found['address']}: {found['error']}"] += 1
    return log


def median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0
