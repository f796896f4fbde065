"""An address fit to carry mail: `allocate --service mx` never keeps a listed address, and
`audit` sees a listing made while an address serves. The sandbox's blocklist,
`dnsbl.example.test`, lists every third address the account allocates."""

from __future__ import annotations

from eipkeeper.demo.stage import DemoStage

ZONE = "example.test"
LISTED_TAG = "sandbox:dnsbl"


def chapter_allocate_clean(stage: DemoStage) -> None:
    story = stage.story
    story.step("A fresh address may still be on a blocklist: `allocate --service mx` checks it")
    story.say("the sandbox's blocklist lists every third address allocated, as EC2's can be")
    kept: list[str] = []
    rejected: list[str] = []
    clean = True
    for _ in range(3):  # one of three allocations in a row is listed
        ran = story.run("allocate", "--service", "mx")
        if ran.code != 0:
            story.check("`allocate --service mx` exits 0", False, ran.stderr)
            return
        kept.append(ran.stdout.split()[1])  # "allocated IP (eipalloc-...) in pool mx; ..."
        tries = [line.split() for line in ran.stderr.splitlines() if line.startswith("try ")]
        rejected += [words[2] for words in tries if "listed" in words]
        clean = clean and "no blocklist" in " ".join(tries[-1] if tries else [])
        if rejected:
            break
    story.check(
        "a listed address was released at once, never published",
        bool(rejected) and all(stage.look.address(ip) is None for ip in rejected),
    )
    story.check("the address it kept is on no blocklist", clean)
    for ip in kept:  # spare pool members this story does not need
        story.run("release", ip, "--yes", show=False)


def chapter_listed_while_serving(stage: DemoStage) -> None:
    story, look = stage.story, stage.look
    story.step("An address listed while it serves: `audit` says so")
    mx1 = look.bound(f"mx1.{ZONE}")
    look.tag(mx1["AllocationId"], LISTED_TAG, "listed")
    story.say(f"planted: {mx1['PublicIp']} (mx1) listed by hand (tag {LISTED_TAG}=listed)")
    findings = story.run("-o", "json", "audit", show=False).json()
    listed = [f for f in findings if f["kind"] == "dnsbl-listed"]
    story.check(
        f"`audit` reports dnsbl-listed for {mx1['PublicIp']}, with the code and the reason",
        len(listed) == 1 and mx1["PublicIp"] in listed[0]["subject"]
        and "127.0.0.2" in listed[0]["detail"],
    )  # fmt: skip
    look.tag(mx1["AllocationId"], LISTED_TAG, "no")


CHAPTERS = [chapter_allocate_clean, chapter_listed_while_serving]
