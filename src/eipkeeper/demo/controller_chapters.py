"""The controller's part of the story: publish the fleet, lose an instance without warning,
fail an MX address over to the standby with the gap a client saw."""

from __future__ import annotations

import time
from typing import Any

from eipkeeper.config import CheckConfig
from eipkeeper.demo.stage import DemoStage
from eipkeeper.health.switch import analyse
from eipkeeper.health.tls import TlsContexts
from eipkeeper.health.watch import AddressWatch
from eipkeeper.model import TAG_ASSOCIATED_AT
from eipkeeper.tagtime import parse_stamp

ZONE = "example.test"
SWITCH_GRACE = 10.0
"""`run --switch-grace` in the demo: failed probes of a holder do not count for this long after
its EIP moved onto it."""


def chapter_publish(stage: DemoStage) -> None:
    story, look = stage.story, stage.look
    story.step(
        "Publish the fleet: plan shows what apply will do; apply does it; plan is then empty"
    )
    planned = story.run("plan", "--detailed-exitcode")
    story.check("`plan --detailed-exitcode` exits 3: changes are pending", planned.code == 3)
    checksum = story.run("-o", "json", "plan", show=False).json()["checksum"]
    applied = story.run("apply", "--yes", "--checksum", checksum)
    story.check("`apply --checksum` runs exactly the reviewed plan (exit 0)", applied.code == 0)
    records = look.records()
    mx = records.get((ZONE, "MX"), ())
    story.check(
        "MX example.test lists mx1, mx2 and mx3 (mx3 reserved for bursts, published anyway)",
        len(mx) == 3,
        str(mx),
    )
    for n in (1, 2, 3):
        hostname = f"mx{n}.{ZONE}"
        story.check(
            f"{hostname} points at its Elastic IP",
            records.get((hostname, "A")) == (look.bound(hostname)["PublicIp"],),
        )
    held = [n for n in (1, 2) if look.bound(f"mx{n}.{ZONE}").get("InstanceId")]
    story.check("mx1 and mx2 are on instances; mx3 waits for a burst", held == [1, 2])
    story.check(
        "scan.example.test lists both scanners' own addresses",
        len(records.get((f"scan.{ZONE}", "A"), ())) == 2,
    )
    story.check(
        "ownership records mark what eipkeeper manages",
        (f"_eipkeeper.a.mx1.{ZONE}", "TXT") in records,
    )
    again = story.run("plan", "--detailed-exitcode")
    story.check("a second plan is empty (exit 0)", again.code == 0)


def chapter_instance_dies(stage: DemoStage) -> None:
    story, look = stage.story, stage.look
    story.step("Start the controller; an instance dies without warning and leaves DNS at once")
    story.start(
        "-v",
        "run",
        "--interval",
        "30s",
        "--switch-grace",
        f"{SWITCH_GRACE:g}s",
        "--events-queue",
        stage.events_queue,
        log=stage.folder / "run.log",
    )
    time.sleep(2)
    scan_a = look.instance("scan-a")
    ip = scan_a["PublicIpAddress"]
    story.say(f"scan-a ({scan_a['InstanceId']}, {ip}) is terminated behind eipkeeper's back")
    look.terminate(scan_a["InstanceId"])
    seconds = story.wait_until(
        lambda: ip not in look.records().get((f"scan.{ZONE}", "A"), ()), within=20
    )
    story.check(
        "the EC2 state-change event woke the controller, which took scan-a out of DNS "
        f"in {seconds:.1f}s, not at the next 30 s round"
        if seconds is not None
        else "scan-a left DNS",
        seconds is not None and seconds < 30,
    )
    story.check(
        "scan-b is still published",
        look.instance("scan-b")["PublicIpAddress"] in look.records()[(f"scan.{ZONE}", "A")],
    )


def chapter_failover(stage: DemoStage) -> None:
    story, look = stage.story, stage.look
    story.step(
        "The holder of mx1 fails; its address moves to the standby; a client measures the gap"
    )
    mx1 = look.bound(f"mx1.{ZONE}")
    old = look.instance_by_id(mx1["InstanceId"])
    _wait_out_the_switch_grace(stage, mx1)
    check = CheckConfig(kind="smtp", port=2525, interval=1.0, timeout=1.0, fail_after=3)
    watch = AddressWatch(host=mx1["PublicIp"], check=check, tls=TlsContexts(), every=0.1)
    with watch:
        time.sleep(1)
        failed_at = time.monotonic()
        story.say(
            f"{old['InstanceId']} stops answering SMTP on {mx1['PublicIp']} (tag sandbox:answer=no)"
        )
        look.tag(old["InstanceId"], "sandbox:answer", "no")
        moved = story.wait_until(
            lambda: look.bound(f"mx1.{ZONE}").get("InstanceId") not in (None, old["InstanceId"]),
            within=30,
        )
        if not story.check("the controller moved mx1's address to the standby", moved is not None):
            _show_log_tail(stage)
        new_id = look.bound(f"mx1.{ZONE}").get("InstanceId", "")
        answered = watch.wait_for(
            lambda samples: any(s.result.answered_by == new_id for s in samples), timeout=30
        )
        time.sleep(1)
    story.check(f"{new_id} answers on {mx1['PublicIp']}", answered)
    timeline = analyse(
        watch.samples(),
        call_at=failed_at,
        old=frozenset({old["InstanceId"].lower()}),
        new=frozenset({new_id.lower()}),
    )
    bar = check.interval * check.fail_after + 0.2 + stage.association_delay
    story.say(
        f"client's view, seconds after the failure: last answer from the old holder "
        f"{timeline.last_old_at}, first from the new {timeline.first_new_at}, "
        f"gap {timeline.gap:.2f}s, flapping {timeline.flaps}"
    )
    story.check(
        f"the gap ({timeline.gap:.2f}s) is within interval x fail_after + 0.2s + the data plane's "
        f"{stage.association_delay:g}s delay ({bar:.1f}s), plus a probe interval",
        timeline.gap <= bar + 0.2 and timeline.flaps == 0,
    )
    records = look.records()
    story.check(
        "DNS did not change: mx1 still points at the same address",
        records.get((f"mx1.{ZONE}", "A")) == (mx1["PublicIp"],),
    )


def _wait_out_the_switch_grace(stage: DemoStage, address: dict[str, Any]) -> None:
    """S6: a holder is judged only once its switch grace is over; the bar below is for such a
    holder (one within its grace is judged when the grace ends, which would add to the gap)."""
    tags = {t["Key"]: t["Value"] for t in address.get("Tags", [])}
    at = parse_stamp(tags.get(TAG_ASSOCIATED_AT, ""))
    # The tag keeps whole seconds: one more second makes sure the grace is over.
    left = at + SWITCH_GRACE + 1.0 - time.time() if at is not None else 0.0
    if left > 0:
        stage.story.say(
            f"{address['PublicIp']} moved onto its holder {SWITCH_GRACE + 1 - left:.0f}s ago; "
            f"failed probes count only after the {SWITCH_GRACE:g}s switch grace: waiting "
            f"{left:.0f}s"
        )
        time.sleep(left)


def _show_log_tail(stage: DemoStage, lines: int = 15) -> None:
    """What the controller said last, so a failed check says why."""
    log = stage.folder / "run.log"
    tail = log.read_text(errors="replace").splitlines()[-lines:] if log.exists() else []
    for line in tail:
        stage.story.say(f"run.log: {line}")


CHAPTERS = [chapter_publish, chapter_instance_dies, chapter_failover]
