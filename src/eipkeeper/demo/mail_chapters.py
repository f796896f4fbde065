"""The mail story: an MX host upgraded and retired while a sender keeps sending, every message
counted from the sandbox's mailboxes, the stranger's included.

The sender behaves as an MTA does (RFC 5321 section 5.1): it resolves MX, tries the hosts in
preference order, in random order among equal preferences, and goes on to the next host when
one does not answer. A message no host took would wait in a real MTA's queue: `deferred`.
"""

from __future__ import annotations

import json
import random
import smtplib
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from eipkeeper.demo.stage import DemoStage, Observer
from eipkeeper.environment import SANDBOX_MAIL_ENV_VAR

ZONE = "example.test"
SMTP_PORT = 2525
CONNECT_TIMEOUT = 2.0


@dataclass
class MailStream:
    """Sends one message every EVERY seconds, in a thread, to the hosts MX_HOSTS() gives."""

    mx_hosts: Callable[[], list[list[str]]]
    """The MX hosts' addresses, one list per preference, best first."""
    every: float = 0.5
    accepted: list[str] = field(default_factory=list)
    """Message-IDs some host accepted."""
    deferred: int = 0
    tries_failed: int = 0
    """Connections that found nobody; the sender went on to the next host."""
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
                self.accepted.append(message_id)
            else:
                self.deferred += 1
            self._stop.wait(self.every)

    def _send(self, message_id: str) -> bool:
        body = f"Message-ID: {message_id}\r\nSubject: demo\r\n\r\nhello\r\n"
        for same_preference in self.mx_hosts():
            for host in random.sample(same_preference, len(same_preference)):
                try:
                    with smtplib.SMTP(host, SMTP_PORT, timeout=CONNECT_TIMEOUT) as smtp:
                        smtp.sendmail("sender@example.net", ["postmaster@example.test"], body)
                    return True
                except (OSError, smtplib.SMTPException):
                    self.tries_failed += 1
        return False


def mx_addresses(look: Observer) -> list[list[str]]:
    """The MX hosts' addresses as a sender resolves them: grouped by preference, best first."""
    records = look.records()
    by_preference: dict[int, list[str]] = {}
    for value in records.get((ZONE, "MX"), ()):
        preference, host = value.split()
        addresses = records.get((host.rstrip("."), "A"), ())
        by_preference.setdefault(int(preference), []).extend(addresses)
    return [by_preference[p] for p in sorted(by_preference)]


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


def chapter_upgrade(stage: DemoStage) -> None:
    story, look = stage.story, stage.look
    story.step(
        "Mail flows while mx2's host is upgraded (`replace`) and then retired (`drain`): "
        "no message waits, none is lost, none reaches a stranger"
    )
    mail_url = look.env.get(SANDBOX_MAIL_ENV_VAR, "")
    if not story.check("the sandbox serves its mailboxes", bool(mail_url)):
        return
    mx2 = look.bound(f"mx2.{ZONE}")
    old_id = mx2.get("InstanceId", "")
    if not story.check(f"mx2's address {mx2['PublicIp']} is on an instance", bool(old_id)):
        return
    stream = MailStream(mx_hosts=lambda: mx_addresses(look))
    story.say(
        f"a sender delivers to {ZONE} every {stream.every:g}s, as an MTA does: MX in "
        "preference order, the next host when one does not answer"
    )
    with stream:
        time.sleep(2)
        replaced = story.run("replace", old_id, "--instance-type", "m5.large", "--yes")
        story.check("`replace` exits 0", replaced.code == 0)
        successor_id = look.bound(f"mx2.{ZONE}").get("InstanceId", "")
        successor = look.instance_by_id(successor_id) if successor_id else {}
        story.check(
            f"mx2's address is on the successor {successor_id}, an {successor.get('InstanceType')}",
            successor_id not in ("", old_id) and successor.get("InstanceType") == "m5.large",
        )
        time.sleep(3)  # the successor takes its share of the mail on mx2's address
        drained = story.run("drain", old_id, "--then", "terminate", "--yes")
        story.check("`drain` of the old host, which holds nothing now, exits 0", drained.code == 0)
        state = look.instance_by_id(old_id)["State"]["Name"]
        story.check(f"{old_id} is {state}", state in ("shutting-down", "terminated"))
        time.sleep(2)
    where = landed(mail_url, stream.accepted)
    ours = {holder: n for holder, n in sorted(where.items()) if holder != "stranger" and n}
    story.say(
        f"{len(stream.accepted) + stream.deferred} messages sent: {len(stream.accepted)} "
        f"accepted, {stream.deferred} deferred; {stream.tries_failed} connection(s) found "
        f"nobody and the sender went on to the next MX host; delivered per instance: {ours}; "
        f"to the stranger: {where['stranger']}"
    )
    story.check(
        "every accepted message is in a mailbox of ours; none deferred, none with the stranger",
        stream.deferred == 0
        and where["stranger"] == 0
        and sum(ours.values()) == len(stream.accepted) > 0,
    )
    story.check(
        f"the successor {successor_id} received mail", bool(successor_id) and successor_id in ours
    )


CHAPTERS = [chapter_upgrade]
