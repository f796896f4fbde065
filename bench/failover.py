"""Failover bench (SPEC.md section 8, issue 5): how long a client goes unanswered when the
holder of an MX address fails, with `eipkeeper run` and with the seed's way.

On the sandbox (moto's EC2 and its SMTP data plane, in this process; every address lies in
127.0.0.0/8), once per association delay of the data plane (`--delays`), a client probes the
Elastic IP of mx1 ten times a second while its holder stops answering (tagged
`sandbox:answer=no`):

(a) `run`: `eipkeeper -v run` watches the fleet and moves the address to the standby. The
    holder fails once it is past its switch grace (S6: inside it, `run` rightly waits for the
    grace to end, which is not what the bar times); `run --switch-grace` is set to the
    association delay plus the detection time plus 2 s (10 s at least), so that wait is short
    and the standby's own fresh association is still covered.
    Reported: the detection time (the controller's first failed probe to its
    `health.changed ... state=unhealthy`), the seconds from that first failed probe to the
    AssociateAddress call (the controller's own `failover.call seconds=`), the gap the client
    saw and the flapping. Bars (SPEC.md section 8): the call within `interval x fail_after`
    + 0.2 s; the gap within that plus the association delay, plus one probe interval, the
    client's resolution (a gap is measured between probes 0.1 s apart). The address is then
    watched until it has stayed put for `interval x (fail_after + 1)` + 1 s, long enough for
    the new holder to fail its own check and `run` to act on that: the count of
    AssociateAddress calls and any launch are reported, with `findings` when the address did
    not move once to the standby (issue 5: "in one AssociateAddress").
(b) the seed's way, on the same sandbox once `run` has stopped: the operator notices after the
    same detection time, modelled as `interval x fail_after` from the failure, then types
    `eipkeeper disassociate ADDRESS --yes` and `eipkeeper associate ADDRESS STANDBY --yes`.
    Reported: the gap the client saw, and how it compares with (a). No bar: it is the
    baseline.

The AssociateAddress and DisassociateAddress calls are timed where moto receives them (in this
process, on the same monotonic clock as the client's probes); the rest comes from the
controller's JSON log.

Prints one JSON line per scenario and delay, then a summary line. Exits 1 when a bar is missed
or the benchmark itself breaks (the JSON says which).

Run: .venv/bin/python bench/failover.py [--delays 0.5,2,5] [--check-interval 1s]
     [--fail-after 3]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import ipaddress
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eipkeeper import config as config_module
from eipkeeper.config import CheckConfig
from eipkeeper.durations import parse_duration
from eipkeeper.health.probes import probe
from eipkeeper.health.switch import STEADY_PROBES, Sample, SwitchTimeline, analyse
from eipkeeper.health.tls import TlsContexts
from eipkeeper.health.watch import AddressWatch
from eipkeeper.sandbox import INSTANT, Sandbox

SERVICE = "mx"
HOSTNAME = "mx1.example.test"
ANSWER_TAG = "sandbox:answer"
PROBE_EVERY = 0.1
"""The client probes the address ten times a second."""
CONTROLLER_MARGIN = 0.2
"""What the controller may add beyond `interval x fail_after` before its call (SPEC.md 8)."""
BASELINE = 1.0
"""Seconds of answers from the holder before it fails."""
SETTLE = 0.5
"""Seconds of probes after the switch is steady, to see any flapping."""
COMMAND_TIMEOUT = 120.0


class BenchError(Exception):
    """The benchmark itself broke (not a bar that failed)."""


# -- the AWS calls, timed where moto receives them ---------------------------------------------


@dataclass(frozen=True)
class Call:
    operation: str
    at: float
    """When moto received it (this process's monotonic clock)."""
    public_ip: str
    instance_id: str = ""
    """AssociateAddress: the instance the address went to."""


@dataclass
class MotoCalls:
    """The AssociateAddress and DisassociateAddress calls moto served."""

    calls: list[Call] = field(default_factory=list)
    _changed: threading.Condition = field(default_factory=threading.Condition)

    def add(self, call: Call) -> None:
        with self._changed:
            self.calls.append(call)
            self._changed.notify_all()

    def of(self, operation: str, public_ip: str, *, after: float) -> list[Call]:
        with self._changed:
            return [
                c
                for c in self.calls
                if c.operation == operation and c.public_ip == public_ip and c.at >= after
            ]

    def wait(self, operation: str, public_ip: str, *, after: float, timeout: float) -> Call:
        """The first such call at or after AFTER, waiting up to TIMEOUT seconds for it."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.of(operation, public_ip, after=after)
            if found:
                return found[0]
            left = deadline - time.monotonic()
            if left <= 0:
                raise BenchError(f"no {operation} of {public_ip} within {timeout:g}s")
            with self._changed:
                self._changed.wait(timeout=min(left, 0.25))


@contextmanager
def moto_calls() -> Iterator[MotoCalls]:
    """Record the address calls moto serves, for as long as the block runs."""
    from moto.ec2.models.elastic_ip_addresses import ElasticAddressBackend

    record = MotoCalls()
    names = ("associate_address", "disassociate_address")
    originals: dict[str, Any] = {name: getattr(ElasticAddressBackend, name) for name in names}
    associate, disassociate = originals["associate_address"], originals["disassociate_address"]

    # functools.wraps also copies the sandbox's marks of the fixes it applied, so that a
    # sandbox started meanwhile would not apply them twice.
    @functools.wraps(associate)
    def timed_associate(backend: Any, *args: Any, **kwargs: Any) -> Any:
        at = time.monotonic()
        eip = associate(backend, *args, **kwargs)
        instance = eip.instance or getattr(eip.eni, "instance", None)
        record.add(
            Call("AssociateAddress", at, str(eip.public_ip), str(getattr(instance, "id", "")))
        )
        return eip

    @functools.wraps(disassociate)
    def timed_disassociate(
        backend: Any, address: str | None = None, association_id: str | None = None
    ) -> Any:
        at = time.monotonic()
        public_ip = address or next(
            (str(e.public_ip) for e in backend.addresses if e.association_id == association_id),
            "",
        )
        result = disassociate(backend, address=address, association_id=association_id)
        record.add(Call("DisassociateAddress", at, public_ip))
        return result

    timed = {"associate_address": timed_associate, "disassociate_address": timed_disassociate}
    for name in names:
        setattr(ElasticAddressBackend, name, timed[name])
    try:
        yield record
    finally:
        for name in names:
            setattr(ElasticAddressBackend, name, originals[name])


# -- eipkeeper as an operator runs it ----------------------------------------------------------


def eipkeeper_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "eipkeeper", *args]


def eipkeeper(env: Mapping[str, str], *args: str) -> float:
    """Run `eipkeeper ARGS` to its end; its wall time in seconds. A failure breaks the bench."""
    started = time.monotonic()
    done = subprocess.run(
        eipkeeper_argv(*args),
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )
    if done.returncode != 0:
        raise BenchError(
            f"eipkeeper {' '.join(args)} exited {done.returncode}: {done.stderr.strip()[-800:]}"
        )
    return time.monotonic() - started


class Controller:
    """`eipkeeper -v --log-format json run` in the background, its log in a file."""

    def __init__(self, env: Mapping[str, str], log: Path, *args: str) -> None:
        self.log = log
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                eipkeeper_argv("-v", "--log-format", "json", "run", *args),
                env=dict(env),
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def events(self) -> list[dict[str, Any]]:
        found = []
        for line in self.log.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                item = json.loads(line)
            except ValueError:
                continue
            if isinstance(item, dict) and "event" in item:
                found.append(item)
        return found

    def wait_event(
        self, what: str, match: Callable[[dict[str, Any]], bool], *, timeout: float
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            hits = [e for e in self.events() if match(e)]
            if hits:
                return hits[0]
            if self.process.poll() is not None:
                raise BenchError(f"`run` exited {self.process.returncode} before {what}: {self}")
            if time.monotonic() > deadline:
                raise BenchError(f"`run` logged no {what} within {timeout:g}s: {self}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __str__(self) -> str:
        tail = self.log.read_text(encoding="utf-8", errors="replace").splitlines()[-5:]
        return " | ".join(tail)


def health_changed(instance_id: str, state: str) -> Callable[[dict[str, Any]], bool]:
    def match(event: dict[str, Any]) -> bool:
        return (
            event["event"] == "health.changed"
            and event.get("instance_id") == instance_id
            and event.get("state") == state
        )

    return match


# -- the cloud, as an observer reads it ----------------------------------------------------------


@dataclass(frozen=True)
class Holding:
    public_ip: str
    holder: str
    """The instance mx1's address is on."""
    standby: str
    """A running mx instance holding no address."""


def holding(ec2: Any, *, prefer: str = "") -> Holding:
    addresses = ec2.describe_addresses()["Addresses"]
    mx1 = next(
        (a for a in addresses if {"Key": "eipkeeper:hostname", "Value": HOSTNAME} in a["Tags"]),
        None,
    )
    if mx1 is None or not mx1.get("InstanceId"):
        raise BenchError(f"{HOSTNAME}'s address is not on an instance: {mx1}")
    if not ipaddress.ip_address(mx1["PublicIp"]).is_loopback:
        raise BenchError(f"{mx1['PublicIp']} is not a loopback address: not probing it")
    held = {a["InstanceId"] for a in addresses if a.get("InstanceId")}
    reply = ec2.describe_instances(
        Filters=[
            {"Name": "tag:Role", "Values": ["mx"]},
            {"Name": "instance-state-name", "Values": ["running"]},
        ]
    )
    running = sorted(i["InstanceId"] for r in reply["Reservations"] for i in r["Instances"])
    spare = [i for i in running if i not in held]
    if not spare:
        raise BenchError(f"no standby among the running mx instances {running}")
    standby = prefer if prefer in spare else spare[0]
    return Holding(public_ip=mx1["PublicIp"], holder=mx1["InstanceId"], standby=standby)


def holder_of(ec2: Any, public_ip: str) -> str:
    reply = ec2.describe_addresses(PublicIps=[public_ip])
    return str(reply["Addresses"][0].get("InstanceId", ""))


def set_answering(ec2: Any, instance_id: str, *, answer: bool) -> None:
    ec2.create_tags(
        Resources=[instance_id], Tags=[{"Key": ANSWER_TAG, "Value": "yes" if answer else "no"}]
    )


def answered_by(host: str, check: CheckConfig) -> str:
    """Who answers HOST now ("" for nobody)."""
    result = asyncio.run(probe(host, check))
    return result.answered_by.lower() if result.ok else ""


def answers_as(host: str, check: CheckConfig, instance_id: str) -> bool:
    return answered_by(host, check) == instance_id


def until(what: str, done: Callable[[], bool], *, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise BenchError(f"{what}: not within {timeout:g}s")
        time.sleep(0.1)


def steady_from(new: str) -> Callable[[Sequence[Sample]], bool]:
    def done(samples: Sequence[Sample]) -> bool:
        tail = samples[-STEADY_PROBES:]
        return len(tail) == STEADY_PROBES and all(
            s.result.ok and s.result.answered_by.lower() == new for s in tail
        )

    return done


def timeline(samples: list[Sample], *, failed_at: float, old: str, new: str) -> SwitchTimeline:
    """The client's view; times in seconds after the failure."""
    return analyse(samples, call_at=failed_at, old=frozenset({old}), new=frozenset({new}))


def client_view(
    view: SwitchTimeline, samples: Sequence[Sample], *, failed_at: float, old: str
) -> dict[str, Any]:
    """What the client saw; times in seconds after the failure. `new` is the instance the
    address ended on; an instance it passed through on the way is listed in `others`."""
    again = next(
        (
            s.at - failed_at
            for s in samples
            if s.at >= failed_at and s.result.ok and s.result.answered_by.lower() != old
        ),
        None,
    )
    return {
        "gap_s": view.gap,
        "last_old_answer_s": view.last_old_at,
        "answered_again_s": None if again is None else r3(again),
        "first_new_answer_s": view.first_new_at,
        "steady_s": view.steady_at,
        "flaps": view.flaps,
        "probes": view.probes,
        "answered": view.answered,
        "others": list(view.others),
    }


def r3(value: float) -> float:
    return round(value, 3)


# -- the two scenarios ------------------------------------------------------------------------


@dataclass(frozen=True)
class Setting:
    delay: float
    check: CheckConfig
    env: Mapping[str, str]
    events_queue: str
    folder: Path
    associated_at: float
    """When `apply` had associated the fleet's addresses (this process's monotonic clock)."""

    @property
    def detect(self) -> float:
        return self.check.interval * self.check.fail_after

    @property
    def switch_grace(self) -> float:
        """`run --switch-grace`: failed probes of a holder this soon after its association do
        not count (S6). Long enough for the standby's own association to reach the data plane
        and be checked, so the bench's move is not followed by a second one; short, so that the
        holders of the start are past it within seconds."""
        return max(10.0, self.delay + self.detect + 2.0)

    @property
    def grace_ends(self) -> float:
        """When the holders of the start are past their switch grace: the bar is for a failure
        outside it (inside it, `run` judges the holder when the grace ends). The association
        time is kept in whole seconds, hence the margin."""
        return self.associated_at + self.switch_grace + 1.5

    @property
    def hold(self) -> float:
        """How long the address must stay put after the switch: long enough for the new
        holder to fail its check (fail_after probes) and for a round to act on it."""
        return self.check.interval * (self.check.fail_after + 1) + 1.0

    def describe(self) -> dict[str, Any]:
        return {
            "association_delay_s": self.delay,
            "check": {
                "kind": self.check.kind,
                "interval_s": self.check.interval,
                "fail_after": self.check.fail_after,
            },
            "switch_grace_s": self.switch_grace,
            "probe_every_s": PROBE_EVERY,
        }


def settle(
    watch: AddressWatch,
    calls: MotoCalls,
    public_ip: str,
    *,
    since: float,
    timeout: float,
    hold: float,
) -> list[Call]:
    """Wait until the client gets steady answers from the instance the address was last moved
    to, and the address then stays there for HOLD seconds; the moves since SINCE."""
    deadline = time.monotonic() + timeout

    def holder() -> str:
        moves = calls.of("AssociateAddress", public_ip, after=since)
        return moves[-1].instance_id.lower() if moves else ""

    while True:
        before = calls.of("AssociateAddress", public_ip, after=since)
        steady = watch.wait_for(
            lambda samples: bool(holder()) and steady_from(holder())(samples),
            timeout=max(0.0, deadline - time.monotonic()),
        )
        if not steady:
            raise BenchError(f"{public_ip} never answered steadily from {holder() or 'anyone'}")
        time.sleep(hold)
        moves = calls.of("AssociateAddress", public_ip, after=since)
        if len(moves) == len(before) or time.monotonic() > deadline:
            return moves


def scenario_run(setting: Setting, ec2: Any, calls: MotoCalls) -> dict[str, Any]:
    """(a) `run` fails mx1's address over to the standby."""
    check = setting.check
    start = holding(ec2)
    controller = Controller(
        setting.env,
        setting.folder / "run.log",
        "--interval",
        "30s",
        "--switch-grace",
        f"{setting.switch_grace:g}s",
        "--events-queue",
        setting.events_queue,
    )
    try:
        # Every mx instance judged healthy (its first result decides) before the failure.
        for instance_id in (start.holder, start.standby):
            controller.wait_event(
                f"health.changed healthy for {instance_id}",
                health_changed(instance_id, "healthy"),
                timeout=30,
            )
        time.sleep(1.0)  # the first round ends; nothing should move
        if holder_of(ec2, start.public_ip) != start.holder:
            raise BenchError("`run` moved mx1's address before any failure")
        watch = AddressWatch(
            host=start.public_ip, check=check, tls=TlsContexts(), every=PROBE_EVERY
        )
        with watch:
            time.sleep(max(BASELINE, setting.grace_ends - time.monotonic()))
            failed_at = time.monotonic()
            wall_offset = time.time() - failed_at
            set_answering(ec2, start.holder, answer=False)
            first = calls.wait(
                "AssociateAddress", start.public_ip, after=failed_at, timeout=setting.detect + 30
            )
            moves = settle(
                watch,
                calls,
                start.public_ip,
                since=failed_at,
                timeout=setting.delay + 60,
                hold=setting.hold,
            )
        samples = watch.samples()
        call = controller.wait_event(
            "failover.call",
            lambda e: e["event"] == "failover.call" and e.get("public_ip") == start.public_ip,
            timeout=30,
        )
        unhealthy = controller.wait_event(
            f"health.changed unhealthy for {start.holder}",
            health_changed(start.holder, "unhealthy"),
            timeout=5,
        )
        events = controller.events()
    finally:
        controller.stop()

    call_s = float(call["seconds"])
    first_failed_probe = first.at - call_s  # the controller's, on the shared monotonic clock
    unhealthy_at = float(unhealthy["ts"]) - wall_offset
    final = moves[-1].instance_id
    view = timeline(samples, failed_at=failed_at, old=start.holder.lower(), new=final.lower())
    call_bar = setting.detect + CONTROLLER_MARGIN
    gap_bar = call_bar + setting.delay + PROBE_EVERY
    bars = {
        "call_s": {"max": r3(call_bar), "value": call_s, "pass": call_s <= call_bar},
        "gap_s": {
            "max": r3(gap_bar),
            "value": view.gap,
            "pass": view.steady and view.gap <= gap_bar,
        },
    }
    findings = []
    if len(moves) > 1:
        findings.append(
            f"the address moved {len(moves)} times ({' -> '.join(m.instance_id for m in moves)}), "
            f"not once to the standby {first.instance_id}"
        )
    launches = [e["instance_id"] for e in events if e["event"] == "instance.launched"]
    if launches:
        findings.append(f"`run` launched {', '.join(launches)} although a standby took over")
    return {
        "bench": "failover",
        "scenario": "run",
        **setting.describe(),
        "address": start.public_ip,
        "from": start.holder,
        "standby": start.standby,
        "to": final,
        "detection_s": r3(unhealthy_at - first_failed_probe),
        "call_s": call_s,
        "unhealthy_to_call_s": r3(first.at - unhealthy_at),
        "first_failed_probe_after_failure_s": r3(first_failed_probe - failed_at),
        "failure_to_call_s": r3(first.at - failed_at),
        **client_view(view, samples, failed_at=failed_at, old=start.holder.lower()),
        "associate_calls": len(moves),
        "launches": len(launches),
        "round_errors": sum(
            1 for e in events if e["event"] in ("round.failed", "round.refused", "round.retry")
        ),
        "bars": bars,
        "pass": all(bool(b["pass"]) for b in bars.values()),
        "findings": findings,
        "note": (
            "call_s and detection_s count from the controller's first failed probe, which comes "
            "up to one check interval after the failure; the client's times (gap, answers) count "
            "from the failure itself. The gap bar adds one probe interval, the client's "
            "resolution. detection_s reads the log's millisecond timestamps."
        ),
    }


def scenario_seed(setting: Setting, ec2: Any, calls: MotoCalls, *, standby: str) -> dict[str, Any]:
    """(b) The holder of mx1 fails; the operator notices, then disassociates and associates."""
    check = setting.check
    start = holding(ec2, prefer=standby)
    until(
        f"{start.holder} answers on {start.public_ip}",
        functools.partial(answers_as, start.public_ip, check, start.holder.lower()),
        timeout=setting.delay + 15,
    )
    until(
        f"the standby {start.standby} answers",
        lambda: any(
            answered_by(ip, check) == start.standby.lower() for ip in public_ips(ec2, start.standby)
        ),
        timeout=setting.delay + 15,
    )
    watch = AddressWatch(host=start.public_ip, check=check, tls=TlsContexts(), every=PROBE_EVERY)
    with watch:
        time.sleep(BASELINE)
        if not steady_from(start.holder.lower())(watch.samples()):
            raise BenchError(f"{start.holder} does not answer steadily on {start.public_ip}")
        failed_at = time.monotonic()
        set_answering(ec2, start.holder, answer=False)
        time.sleep(max(0.0, failed_at + setting.detect - time.monotonic()))
        disassociate_s = eipkeeper(setting.env, "disassociate", start.public_ip, "--yes")
        associate_s = eipkeeper(
            setting.env, "associate", start.public_ip, start.standby, "--yes", "--timeout", "60"
        )
        moves = settle(
            watch, calls, start.public_ip, since=failed_at, timeout=setting.delay + 30, hold=SETTLE
        )
    samples = watch.samples()
    disassociated = calls.wait("DisassociateAddress", start.public_ip, after=failed_at, timeout=1)
    view = timeline(
        samples, failed_at=failed_at, old=start.holder.lower(), new=start.standby.lower()
    )
    return {
        "bench": "failover",
        "scenario": "seed",
        **setting.describe(),
        "address": start.public_ip,
        "from": start.holder,
        "standby": start.standby,
        "to": moves[-1].instance_id,
        "detection_s": r3(setting.detect),
        "failure_to_disassociate_s": r3(disassociated.at - failed_at),
        "failure_to_call_s": r3(moves[0].at - failed_at),
        "disassociate_command_s": r3(disassociate_s),
        "associate_command_s": r3(associate_s),
        **client_view(view, samples, failed_at=failed_at, old=start.holder.lower()),
        "associate_calls": len(moves),
        "bars": {},
        "pass": None,
        "note": (
            "the operator is modelled as noticing interval x fail_after after the failure, as "
            "the check would; then `eipkeeper disassociate --yes` and `eipkeeper associate "
            "--yes` run as typed, one after the other (each command's time includes Python's "
            "start-up). No bar: the baseline for scenario run."
        ),
    }


def public_ips(ec2: Any, instance_id: str) -> list[str]:
    reply = ec2.describe_instances(InstanceIds=[instance_id])
    found = [i.get("PublicIpAddress", "") for r in reply["Reservations"] for i in r["Instances"]]
    return [ip for ip in found if ip]


def compare(run: dict[str, Any], seed: dict[str, Any]) -> dict[str, Any]:
    return {
        "run_gap_s": run["gap_s"],
        "seed_gap_s": seed["gap_s"],
        "gap_saved_s": r3(seed["gap_s"] - run["gap_s"]),
        "run_failure_to_call_s": run["failure_to_call_s"],
        "seed_failure_to_call_s": seed["failure_to_call_s"],
    }


# -- one sandbox per association delay ------------------------------------------------------------


def with_check(text: str, *, interval: float | None, fail_after: int | None) -> str:
    """The sandbox's config with the mx service's check interval or fail_after changed."""
    line = re.compile(r'^check = \{ kind = "smtp".*\}$', re.MULTILINE)
    found = line.search(text)
    if found is None:
        raise BenchError("the sandbox's config has no smtp check line to change")
    changed = found.group(0)
    if interval is not None:
        changed = re.sub(r'interval = "[^"]*"', f'interval = "{interval:g}s"', changed)
    if fail_after is not None:
        changed = re.sub(r"fail_after = \d+", f"fail_after = {fail_after}", changed)
    return text[: found.start()] + changed + text[found.end() :]


def measure(
    delay: float, *, interval: float | None, fail_after: int | None
) -> list[dict[str, Any]]:
    with (
        tempfile.TemporaryDirectory(prefix="eipkeeper-bench-failover-") as folder,
        # Instant: measured is failure to AssociateAddress; the API's lag comes after the call.
        Sandbox(port=0, association_delay=delay, **INSTANT) as sandbox,
        moto_calls() as calls,
    ):
        path = Path(folder) / "eipkeeper.toml"
        sandbox.write_config(path)
        if interval is not None or fail_after is not None:
            text = path.read_text(encoding="utf-8")
            path.write_text(
                with_check(text, interval=interval, fail_after=fail_after), encoding="utf-8"
            )
        config = config_module.load(path)
        check = config.service(SERVICE).check
        if check is None:
            raise BenchError(f"service {SERVICE} has no check in {path}")
        env = {**os.environ, **sandbox.environment()}
        eipkeeper(env, "apply", "--yes")
        setting = Setting(
            delay=delay,
            check=check,
            env=env,
            events_queue=sandbox.events_queue_url,
            folder=Path(folder),
            associated_at=time.monotonic(),
        )
        ec2 = sandbox.client("ec2")
        start = holding(ec2)
        # Every holder answers on its address before `run` starts: a holder probed while its
        # new association is still on the way would count as failed.
        for address in ec2.describe_addresses()["Addresses"]:
            if address.get("InstanceId"):
                ip, owner = address["PublicIp"], address["InstanceId"].lower()
                until(
                    f"{owner} answers on {ip}",
                    functools.partial(answers_as, ip, check, owner),
                    timeout=delay + 15,
                )
        run = scenario_run(setting, ec2, calls)
        # The failed instance is repaired; it is the standby of the seed's turn.
        set_answering(ec2, start.holder, answer=True)
        seed = scenario_seed(setting, ec2, calls, standby=start.holder)
        seed["compared_with_run"] = compare(run, seed)
        return [run, seed]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else "")
    parser.add_argument("--delays", default="0.5,2,5", help="association delays, in seconds")
    parser.add_argument("--check-interval", default="", help="mx check interval (e.g. 500ms)")
    parser.add_argument("--fail-after", type=int, default=0, help="mx check fail_after")
    args = parser.parse_args()
    interval = parse_duration(args.check_interval) if args.check_interval else None
    fail_after = args.fail_after or None
    lines: list[dict[str, Any]] = []
    started = time.monotonic()
    try:
        for delay in (float(d) for d in args.delays.split(",")):
            for line in measure(delay, interval=interval, fail_after=fail_after):
                print(json.dumps(line), flush=True)
                lines.append(line)
    except (BenchError, subprocess.TimeoutExpired) as exc:
        print(json.dumps({"bench": "failover", "error": str(exc)}), flush=True)
        return 1
    runs = [line for line in lines if line["scenario"] == "run"]
    seeds = {line["association_delay_s"]: line for line in lines if line["scenario"] == "seed"}
    summary = {
        "bench": "failover",
        "scenario": "summary",
        "by_delay": [
            {
                "association_delay_s": run["association_delay_s"],
                "call_s": run["call_s"],
                "run_gap_s": run["gap_s"],
                "seed_gap_s": seeds[run["association_delay_s"]]["gap_s"],
                "gap_bar_s": run["bars"]["gap_s"]["max"],
                "run_associate_calls": run["associate_calls"],
                "pass": run["pass"],
                "findings": run["findings"],
            }
            for run in runs
        ],
        "wall_s": r3(time.monotonic() - started),
        "pass": all(run["pass"] for run in runs),
    }
    print(json.dumps(summary), flush=True)
    return 0 if summary["pass"] else 1


if __name__ == "__main__":
    sys.exit(main())
