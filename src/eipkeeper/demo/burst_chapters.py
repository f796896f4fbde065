"""Peak load: a burst instance claims the reserved MX address without touching DNS, and goes
again when the load falls."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from eipkeeper.demo.stage import DemoStage

ZONE = "example.test"


def report_load(stage: DemoStage, value: float, *, ahead: float = 0.0) -> None:
    """What a mail server's queue monitor would report to CloudWatch."""
    datum: dict[str, Any] = {
        "MetricName": "QueueLength",
        "Dimensions": [{"Name": "Service", "Value": "mx"}],
        "Value": value,
        "Timestamp": datetime.now(UTC) + timedelta(seconds=ahead),
    }
    stage.look.cloudwatch.put_metric_data(Namespace="Mail", MetricData=[datum])  # type: ignore[list-item]


def chapter_burst(stage: DemoStage) -> None:
    story, look = stage.story, stage.look
    story.stop_background()  # from here on, each step is one `apply`, to show it plainly
    story.step("Load rises: a burst instance starts and claims mx3, already in MX: no DNS change")
    before = look.records()
    story.say("the mail queue reaches 2000 (scale_out_above is 500)")
    report_load(stage, 2000)
    planned = story.run("-o", "json", "plan", show=False).json()
    launches = [a for a in planned["actions"] if a["kind"] == "launch"]
    story.check(
        "the plan launches one burst instance, saying why: "
        + (launches[0]["reason"] if launches else "-"),
        len(launches) == 1,
    )
    story.run("apply", "--yes")
    mx3 = look.bound(f"mx3.{ZONE}")
    claimed = story.wait_until(
        lambda: (
            story.run("apply", "--yes", show=False).code == 0
            and bool(look.bound(f"mx3.{ZONE}").get("InstanceId"))
        ),
        within=30,
        every=1.0,
    )
    holder_id = look.bound(f"mx3.{ZONE}").get("InstanceId", "")
    holder = look.instance_by_id(holder_id) if holder_id else {}
    tags = {t["Key"]: t["Value"] for t in holder.get("Tags", [])}
    story.check(
        f"a burst instance ({holder_id}) holds mx3's address {mx3['PublicIp']}",
        claimed is not None and "eipkeeper:burst" in tags,
    )
    story.check("not one DNS record changed", look.records() == before)

    story.step("Load falls: after the cooldown the burst instance leaves mx3's address and goes")
    time.sleep(6)  # the demo's 5 s cooldown
    story.say("the mail queue falls to 10 (scale_in_below is 50)")
    report_load(stage, 10, ahead=15)
    retired = story.run("apply", "--yes")
    story.check("`apply` retires the burst instance (exit 0)", retired.code == 0)
    state = look.instance_by_id(holder_id)["State"]["Name"] if holder_id else ""
    story.check(f"{holder_id} is {state}", state in ("shutting-down", "terminated"))
    after = look.bound(f"mx3.{ZONE}")
    story.check(
        f"mx3's address {after['PublicIp']} stays allocated, on no instance, still in MX",
        not after.get("InstanceId") and look.records() == before,
    )


def chapter_drain(stage: DemoStage) -> None:
    story, look = stage.story, stage.look
    story.step("Drain scan-b in order: out of DNS, confirmed, TTL waited, only then terminated")
    scan_b = look.instance("scan-b")
    ip = scan_b["PublicIpAddress"]
    story.say(f"scan-b answers at {ip}, published in scan.{ZONE} with a 5 s TTL (the demo's)")
    drained = story.run("drain", "scan-b", "--then", "terminate", "--yes")
    story.check("`drain` exits 0", drained.code == 0)
    story.check(
        f"{ip} is gone from scan.{ZONE}",
        ip not in look.records().get((f"scan.{ZONE}", "A"), ()),
    )
    state = look.instance_by_id(scan_b["InstanceId"])["State"]["Name"]
    story.check(f"scan-b is {state}, after the wait", state in ("shutting-down", "terminated"))
    again = story.run("drain", "scan-b", "--then", "terminate", "--yes")
    story.check("draining it again finds the job done (exit 0)", again.code == 0)


CHAPTERS = [chapter_burst, chapter_drain]
