"""One mail world per scenario: the sandbox with its BIND, a sender's resolver, a private
Postfix, the controller, and a steady stream of mail through all of it.

Shared by tests/mail (which assert) and bench/mail.py (which prints): one copy of the rig.

    sandbox (moto + data plane, this process) ── BIND (the zone, TSIG updates from eipkeeper)
                                                   ▲ forward only
    Postfix (sendmail -i; smtp chrooted) ── resolver named on 127.53.x.y:53, caching by TTL
        └─ MX example.test / A scan.example.test ─► data plane :2525 on 127.x.y.z

eipkeeper is driven as a user drives it: its CLI in subprocesses with the sandbox's
environment (`apply`, `run`, `drain`, ...). The zone's TTLs are cut to `TTL_S` and the drain
margin to 1 s so that a scenario lasts seconds; the burst cooldown to 2 s.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eipkeeper.sandbox import INSTANT, Sandbox
from eipkeeper.sandbox.bind import LocalBind
from tests.conftest import aws_client, user_env
from tests.mail import mailboxes, maillog
from tests.mail.postfix import Postfix
from tests.mail.resolver import Resolver
from tests.mail.stream import Stream
from tests.support.cli import Ran, background, eipkeeper
from tests.support.waiting import eventually

ZONE = "example.test"
SCAN = "scan.example.test"
TTL_S = 3
ASSOCIATION_DELAY_S = 1.0
MX_RATE = {ZONE: 2.0}
"""Messages per second to example.test, delivered by its MX records."""
MX_AND_SCAN_RATE = {ZONE: 2.0, SCAN: 1.0}
"""The same, plus 1 a second to the scanner pool by its A records (the relay from the MX
hosts to the scanners, played by the same Postfix): for the scanners' scenarios."""
BOOT_DELAY_S = 5.0
"""Seconds from launch to answering in the tests (EC2: tens of seconds; the sandbox's default
and bench/mail.py's is 20): a burst or a successor is still booting while mail flows."""
REUSE_AFTER_S = 2.0
"""The stranger takes an address the account gives up after this long (the sandbox's default,
as measured for real EC2 reuse)."""
SETTLE_MESSAGES = 4
"""Messages submitted before the action and after it (2 s of the MX stream), so that both
sides of a change carry mail."""
QUEUE_EMPTY_WITHIN_S = 30.0


def _short_config(text: str) -> str:
    text = re.sub(r"^ttl = \d+$", f"ttl = {TTL_S}", text, flags=re.MULTILINE)
    text = text.replace('cooldown = "1m"', 'cooldown = "2s"')
    # `apply` associated every EIP seconds ago: the default grace (60 s) would hold a failover.
    text = text.replace("pass_after = 2 }", 'pass_after = 2, switch_grace = "2s" }')
    # The load is reported every half second; a burst decision reads the last second of it.
    text = text.replace('name = "QueueLength"', 'name = "QueueLength", period = "1s"')
    return text + '\n[safety]\ndrain_margin = "1s"\n'


@dataclass
class World:
    sandbox: Sandbox
    bind: LocalBind
    resolver: Resolver
    postfix: Postfix
    workdir: Path
    env: dict[str, str]
    facts: dict[str, Any] = field(default_factory=dict)
    """What the scenario's action observed (DNS windows, ids), reported beside the tally."""

    def client(self, service: str) -> Any:
        return aws_client(self.env, service)

    def eipkeeper(self, *args: str) -> Ran:
        return eipkeeper(*args, env=self.env)

    def instances(self) -> list[dict[str, Any]]:
        reply = self.client("ec2").describe_instances()
        return [i for r in reply["Reservations"] for i in r["Instances"]]

    def instance(self, name: str) -> dict[str, Any]:
        for item in self.instances():
            tags = {t["Key"]: t["Value"] for t in item.get("Tags", [])}
            if tags.get("Name") == name and item["State"]["Name"] != "terminated":
                return item
        raise LookupError(f"no live instance named {name}")

    def names(self) -> dict[str, str]:
        """Instance id -> Name tag, for every instance the sandbox ever ran."""
        names = {}
        for item in self.instances():
            tags = {t["Key"]: t["Value"] for t in item.get("Tags", [])}
            names[str(item["InstanceId"])] = tags.get("Name", "")
        return names

    def address_of(self, hostname: str) -> dict[str, Any]:
        for item in self.client("ec2").describe_addresses()["Addresses"]:
            tags = {t["Key"]: t["Value"] for t in item.get("Tags", [])}
            if tags.get("eipkeeper:hostname") == hostname:
                return dict(item)
        raise LookupError(f"no EIP bound to {hostname}")

    def authoritative(self, name: str, rdtype: str = "A") -> set[str]:
        """What the sandbox's BIND serves for NAME now."""
        import dns.message
        import dns.query
        import dns.rdatatype

        query = dns.message.make_query(name, rdtype)
        answer = dns.query.udp(query, self.bind.host, port=self.bind.port, timeout=2.0)
        wanted = dns.rdatatype.from_text(rdtype)
        return {r.to_text() for rrset in answer.answer if rrset.rdtype == wanted for r in rrset}

    def mailboxes(self) -> mailboxes.Mailboxes:
        """What every instance and the stranger accepted, from the sandbox's JSON endpoint."""
        url = self.sandbox.mail_url  # http://127.0.0.1:PORT/mail, the sandbox's own
        with urllib.request.urlopen(url, timeout=10) as reply:  # noqa: S310
            return mailboxes.Mailboxes.from_json(json.load(reply))

    def received(self, instance_id: str) -> int:
        """Messages INSTANCE_ID has accepted so far."""
        return len(self.mailboxes().instances.get(instance_id, []))

    def maillog(self) -> maillog.Maillog:
        try:
            text = self.postfix.maillog.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            text = ""
        return maillog.parse(text)


@contextlib.contextmanager
def world(
    *, edit_config: Callable[[str], str] = lambda text: text, boot_delay: float = BOOT_DELAY_S
) -> Iterator[World]:
    """The sample fleet applied to a BIND zone, a resolver and a Postfix pointed at it. The
    data plane is the faithful one: an address nobody answers drops connections (a sender
    waits out its connect timeout), the stranger takes what the account gives up, a launched
    instance answers after BOOT_DELAY seconds."""
    workdir = Path(tempfile.mkdtemp(prefix="eipkeeper-mailworld-"))
    try:
        with (
            Sandbox(
                port=0,
                association_delay=ASSOCIATION_DELAY_S,
                boot_delay=boot_delay,
                unanswered="drop",
                reuse_after=REUSE_AFTER_S,
                # Instant: mail lost or deferred per path is measured here; the API's lag and
                # limits are the model test's (tests/model) and the first-apply bench's.
                **INSTANT,
            ) as sandbox,
            LocalBind(ZONE) as bind,
        ):
            config = workdir / "eipkeeper.toml"
            sandbox.write_config(config, dns=bind.config_toml())
            text = edit_config(_short_config(config.read_text(encoding="utf-8")))
            config.write_text(text, encoding="utf-8")
            env = {
                **user_env(sandbox, config, workdir),
                "PATH": os.environ.get("PATH", "") + ":/usr/sbin",
            }
            applied = eipkeeper("apply", "--yes", env=env)
            if applied.code != 0:
                raise RuntimeError(f"apply failed: {applied.stderr.strip()}")
            port = sandbox.smtp_port
            with (
                Resolver(upstream=(bind.host, bind.port), probe_name=ZONE) as resolver,
                Postfix(
                    resolver=resolver.address,
                    routes={ZONE: f"smtp:{ZONE}:{port}", SCAN: f"smtp:{SCAN}:{port}"},
                ) as postfix,
            ):
                yield World(
                    sandbox=sandbox,
                    bind=bind,
                    resolver=resolver,
                    postfix=postfix,
                    workdir=workdir,
                    env=env,
                )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


@contextlib.contextmanager
def controller(w: World) -> Iterator[Path]:
    """`eipkeeper -v run` in the background: rounds every second and on EC2 events. The switch
    grace is cut to 2 s (default 60 s) since `apply` associated every EIP seconds ago."""
    log = w.workdir / "run.log"
    with background(
        "-v",
        "--log-format",
        "json",
        "run",
        "--interval",
        "1s",
        "--events-queue",
        w.sandbox.events_queue_url,
        "--switch-grace",
        "2s",
        env=w.env,
        log=log,
    ):
        yield log


def wait_until(what: str, probe: Callable[[], bool], *, within: float = 60.0) -> float:
    """The tests' one wait helper on PROBE; the seconds it took (a scenario reports them)."""
    start = time.monotonic()
    eventually(probe, what=what, deadline=within, every=0.1)
    return time.monotonic() - start


def wait_for_empty_queue(postfix: Postfix) -> int:
    """Let Postfix finish what it holds (flushing deferred mail each second); what is left."""

    def emptied() -> bool:
        postfix.flush()
        return not postfix.queued()

    with contextlib.suppress(AssertionError):  # what is left is counted, not an error here
        eventually(emptied, what="an empty queue", deadline=QUEUE_EMPTY_WITHIN_S, every=1.0)
    return postfix.queued()


def submitted(stream: Stream, more: int) -> None:
    """Until the stream has submitted MORE messages than now (it submits at its set rate)."""
    target = len(stream.ids()) + more
    eventually(lambda: len(stream.ids()) >= target, what=f"{more} more messages submitted")


def _keep_logs(w: World, name: str) -> None:
    """With EIPKEEPER_MAIL_LOGS=DIR, the controller's log and Postfix's are kept there."""
    folder = os.environ.get("EIPKEEPER_MAIL_LOGS")
    if not folder:
        return
    Path(folder).mkdir(parents=True, exist_ok=True)
    for source in (w.workdir / "run.log", w.postfix.maillog):
        if source.exists():
            shutil.copyfile(source, Path(folder) / f"{name}.{source.name}")


@dataclass(frozen=True)
class Outcome:
    tally: mailboxes.Tally
    facts: dict[str, Any]

    def json(self) -> dict[str, Any]:
        return {**self.tally.json(), **self.facts}


@dataclass(frozen=True)
class Scenario:
    name: str
    action: Callable[[World], None]
    edit_config: Callable[[str], str] = lambda text: text
    """A change to the world's eipkeeper config that this scenario needs."""
    rates: Mapping[str, float] = field(default_factory=lambda: dict(MX_RATE))
    """The stream: domain -> messages per second."""


def run_scenario(scenario: Scenario, *, boot_delay: float = BOOT_DELAY_S) -> Outcome:
    """A fresh world with `eipkeeper run` watching, as in production (the controller is what
    reacts to a failure, a burst and what is done behind eipkeeper's back); the stream
    throughout; the scenario's action in the middle; then the count."""
    name = scenario.name
    with world(edit_config=scenario.edit_config, boot_delay=boot_delay) as w:
        with controller(w), Stream(w.postfix, scenario=name, rates=scenario.rates) as stream:
            submitted(stream, SETTLE_MESSAGES)
            scenario.action(w)
            submitted(stream, SETTLE_MESSAGES)
            stream.stop()
        w.facts["stream_s"] = round(stream.seconds, 1)
        w.facts["sent_by_domain"] = {domain: len(stream.ids(domain)) for domain in scenario.rates}
        w.facts["names"] = w.names()
        if stream.errors:
            raise RuntimeError(f"submitting failed: {stream.errors[:3]}")
        queued = wait_for_empty_queue(w.postfix)
        _keep_logs(w, name)
        log, boxes = w.maillog(), w.mailboxes()
        count = mailboxes.tally(name, submitted=stream.ids(), log=log, boxes=boxes, queued=queued)
        w.facts["log_disagrees"] = mailboxes.disagreements(
            boxes, mailboxes.Mailboxes.from_maillog(log), submitted=stream.ids()
        )
        return Outcome(tally=count, facts=dict(w.facts))
