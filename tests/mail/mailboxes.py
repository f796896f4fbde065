"""What each side of the sandbox received, and the count per scenario.

The sandbox keeps every accepted message per instance, and what the stranger (another customer
on an address the account gave up) received, as JSON:

    {"instances": {"i-...": [{"message_id": ..., "received_at": unix_float,
                              "mail_from": ..., "rcpt_to": [...]}]},
     "stranger": [...]}

`Tally` compares that with what the stream submitted and what Postfix's log says.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tests.mail.maillog import Maillog, median


def normal_id(message_id: str) -> str:
    """A Message-ID without its angle brackets, as either side may or may not keep them."""
    return message_id.strip().removeprefix("<").removesuffix(">")


@dataclass(frozen=True)
class Received:
    message_id: str
    received_at: float = 0.0
    mail_from: str = ""
    rcpt_to: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, item: Mapping[str, Any]) -> Received:
        return cls(
            message_id=normal_id(str(item["message_id"])),
            received_at=float(item.get("received_at") or 0.0),
            mail_from=str(item.get("mail_from", "")),
            rcpt_to=tuple(str(r) for r in item.get("rcpt_to", ())),
        )


@dataclass(frozen=True)
class Mailboxes:
    instances: dict[str, list[Received]] = field(default_factory=dict)
    stranger: list[Received] = field(default_factory=list)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Mailboxes:
        return cls(
            instances={
                instance: [Received.from_json(m) for m in messages]
                for instance, messages in data.get("instances", {}).items()
            },
            stranger=[Received.from_json(m) for m in data.get("stranger", [])],
        )

    @classmethod
    def from_maillog(cls, log: Maillog) -> Mailboxes:
        """What Postfix says it handed to whom: the sandbox's reply to DATA names the instance
        (`250 OK queued on i-...`); any other taker is not one of ours."""
        instances: dict[str, list[Received]] = {}
        stranger: list[Received] = []
        for message in log.by_queue_id.values():
            sent = message.sent
            if sent is None or not message.message_id:
                continue
            received = Received(message_id=normal_id(message.message_id))
            words = sent.reply.split()
            if "queued" in words and words[-1].startswith("i-"):
                instances.setdefault(words[-1], []).append(received)
            else:
                stranger.append(received)
        return cls(instances=instances, stranger=stranger)


@dataclass(frozen=True)
class Tally:
    """One scenario's count, in the fields of bench/mail.py's JSON line."""

    scenario: str
    sent: int
    delivered: int
    delivered_by_instance: dict[str, int]
    deferred: int
    lost: int
    to_stranger: int
    queued: int
    duplicates: int
    max_delay_s: float
    p50_delay_s: float
    connect_failures: int

    def json(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "sent": self.sent,
            "delivered": self.delivered,
            "deferred": self.deferred,
            "lost": self.lost,
            "to_stranger": self.to_stranger,
            "max_delay_s": round(self.max_delay_s, 2),
            "p50_delay_s": round(self.p50_delay_s, 2),
            "delivered_by_instance": self.delivered_by_instance,
            "queued": self.queued,
            "duplicates": self.duplicates,
            "connect_failures": self.connect_failures,
        }


def tally(
    scenario: str, *, submitted: Iterable[str], log: Maillog, boxes: Mailboxes, queued: int
) -> Tally:
    """SUBMITTED: the Message-IDs the stream handed to Postfix. Only those are counted (the
    health checks open sessions too, but send no mail). A message is lost when no instance and
    no stranger has it and Postfix no longer holds it in its queue (QUEUED says how many it
    still holds, all counted apart)."""
    ours = {normal_id(m) for m in submitted}
    by_instance: dict[str, int] = {}
    delivered: set[str] = set()
    copies = 0
    for instance, messages in boxes.instances.items():
        mine = [m.message_id for m in messages if m.message_id in ours]
        if mine:
            by_instance[instance] = len(set(mine))
        copies += len(mine)
        delivered.update(mine)
    stranger = {m.message_id for m in boxes.stranger if m.message_id in ours}
    logged = {normal_id(k): m for k, m in log.by_message_id.items() if normal_id(k) in ours}
    delays = [a.delay_s for m in logged.values() if (a := m.sent) is not None]
    unaccounted = ours - delivered - stranger
    return Tally(
        scenario=scenario,
        sent=len(ours),
        delivered=len(delivered),
        delivered_by_instance=dict(sorted(by_instance.items())),
        deferred=sum(1 for m in logged.values() if m.deferrals),
        lost=max(0, len(unaccounted) - queued),
        to_stranger=len(stranger),
        queued=queued,
        duplicates=copies - len(delivered),
        max_delay_s=max(delays, default=0.0),
        p50_delay_s=median(delays),
        connect_failures=sum(log.connect_failures.values()),
    )


def disagreements(boxes: Mailboxes, logged: Mailboxes, *, submitted: Iterable[str]) -> list[str]:
    """Messages of SUBMITTED whose taker per the sandbox differs from the taker per Postfix's
    log (the reply to DATA names the instance): each side checks the other."""
    ours = {normal_id(m) for m in submitted}

    def takers(side: Mailboxes) -> dict[str, set[str]]:
        found: dict[str, set[str]] = {}
        for holder, messages in [*side.instances.items(), ("stranger", side.stranger)]:
            for m in messages:
                if m.message_id in ours:
                    found.setdefault(m.message_id, set()).add(holder)
        return found

    kept, said = takers(boxes), takers(logged)
    return sorted(
        f"{m}: sandbox {sorted(kept.get(m, ()))}, postfix {sorted(said.get(m, ()))}"
        for m in set(kept) | set(said)
        if kept.get(m, set()) != said.get(m, set())
    )
