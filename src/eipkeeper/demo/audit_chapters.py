"""What costs money and what could let a stranger receive the mail: `audit`, and `release`
refusing to give away an address DNS still names."""

from __future__ import annotations

from eipkeeper.demo.stage import DemoStage

ZONE = "example.test"


def chapter_audit(stage: DemoStage) -> None:
    story, look = stage.story, stage.look
    story.step("Audit: a dangling record someone left behind, and an idle address that costs money")
    look.create_record(f"old.{ZONE}", "A", "127.9.9.0")
    story.say(f"planted: old.{ZONE} -> 127.9.9.0, an address this account does not hold")
    idle = story.run("-o", "json", "allocate", "--tag", "Purpose=forgotten", show=False).json()
    story.say(f"planted: {idle['public_ip']}, allocated and forgotten")
    audited = story.run("audit")
    story.check("`audit` exits 3: a critical finding", audited.code == 3)
    findings = story.run("-o", "json", "audit", show=False).json()
    dangling = [f for f in findings if f["kind"] == "dangling-record"]
    story.check(
        f"it finds old.{ZONE} dangling (another EC2 customer could receive its traffic)",
        len(dangling) == 1 and f"old.{ZONE}" in dangling[0]["subject"],
    )
    idles = [
        f for f in findings if f["kind"] == "idle-address" and idle["public_ip"] in f["subject"]
    ]
    cost = idles[0]["monthly_cost"] if idles else "?"
    story.check(
        f"it finds {idle['public_ip']} idle, costing ${cost} a month",
        len(idles) == 1 and idles[0]["monthly_cost"] > 0,
    )


def chapter_release_refused(stage: DemoStage) -> None:
    story, look = stage.story, stage.look
    story.step("Release of a published address is refused (S2): DNS must go first")
    mx3 = look.bound(f"mx3.{ZONE}")
    story.say(f"mx3's address {mx3['PublicIp']} is on no instance, but MX and mx3.{ZONE} name it")
    refused = story.run("release", f"mx3.{ZONE}", "--yes")
    story.check(
        "`release` exits 4, naming S2 and the records that refer to it",
        refused.code == 4 and "S2" in refused.stderr and f"mx3.{ZONE}" in refused.stderr,
    )
    story.check("the address is still held", look.address(mx3["PublicIp"]) is not None)


CHAPTERS = [chapter_audit, chapter_release_refused]
