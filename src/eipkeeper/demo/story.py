"""The story of SPEC.md section 1, step by step, on a fresh sandbox.

Each chapter is a function that runs real commands and checks the cloud through boto3, as an
independent observer would. Later chapters (publishing the fleet, failover, drain, burst,
audit) add themselves to CHAPTERS.
"""

from __future__ import annotations

import ipaddress
import tempfile
from collections.abc import Callable
from pathlib import Path

from eipkeeper.demo.runner import Story
from eipkeeper.demo.stage import DemoStage, Observer


def in_sandbox_range(ip: str) -> bool:
    return ip != "127.0.0.1" and ipaddress.ip_address(ip) in ipaddress.ip_network("127.0.0.0/8")


def chapter_addresses(stage: DemoStage) -> None:
    story, look = stage.story, stage.look
    """Foundation: allocate, associate (with the dynamic-IP warning), list, release refused."""
    story.step("The sandbox fleet: three pool addresses, bound to MX hostnames, all idle")
    listed = story.run("addresses")
    story.check("`addresses` exits 0", listed.code == 0)
    rows = story.run("-o", "json", "addresses", show=False).json()
    pool = sorted(r["hostname"] for r in rows if r["service"] == "mx")
    story.check(
        "the pool holds mx1, mx2 and mx3.example.test",
        pool == ["mx1.example.test", "mx2.example.test", "mx3.example.test"],
        str(pool),
    )
    story.check(
        "each is idle and priced",
        all(r["status"] == "idle" and r["monthly_cost"] > 0 for r in rows),
    )

    story.step("Allocate an Elastic IP; eipkeeper tags it with its owner and says what it costs")
    allocated = story.run("allocate", "--tag", "Purpose=demo")
    story.check(
        "`allocate` exits 0 and names the hourly cost",
        allocated.code == 0 and "/hour" in allocated.stdout,
    )
    ip = allocated.stdout.split()[1] if allocated.code == 0 else ""
    story.check(
        f"{ip} lies in the sandbox's 127.0.0.0/8, away from 127.0.0.1",
        bool(ip) and in_sandbox_range(ip),
    )
    address = look.address(ip) or {}
    tags = {t["Key"]: t["Value"] for t in address.get("Tags", [])}
    story.check(
        "EC2 shows it tagged eipkeeper:owner=sandbox", tags.get("eipkeeper:owner") == "sandbox"
    )

    story.step(
        "Associate it with mx-a: its dynamic public IP goes away for good (the seed's broken ssh)"
    )
    before = look.instance("mx-a").get("PublicIpAddress", "")
    story.say(f"mx-a has the dynamic public IP {before}")
    unconfirmed = story.run("associate", ip, "mx-a")
    story.check(
        "without --yes, off a terminal, it warns about the lost IP and refuses (exit 2)",
        unconfirmed.code == 2 and before in unconfirmed.stderr and "for good" in unconfirmed.stderr,
    )
    done = story.run("associate", ip, "mx-a", "--yes")
    story.check("with --yes it associates and waits until EC2 shows it (exit 0)", done.code == 0)
    after = look.instance("mx-a").get("PublicIpAddress", "")
    story.check(f"mx-a's public IP is now {ip}", after == ip, after)
    story.check(f"{before} is gone from mx-a", before != after)

    story.step("List the addresses for people and for pipes (`| cut -f1`, as the old EC2 tools)")
    story.run("addresses")
    tsv = story.run("-o", "tsv", "addresses")
    first_column = [line.split("\t")[0] for line in tsv.stdout.splitlines()]
    story.check(f"tsv's first column lists {ip}", ip in first_column, str(first_column))
    in_use = [line.split("\t") for line in tsv.stdout.splitlines() if line.startswith(ip + "\t")]
    story.check("and shows it in-use on mx-a", bool(in_use) and "in-use" in in_use[0])

    story.step("Release is refused while the address is associated")
    refused = story.run("release", ip, "--yes")
    story.check(
        "`release` exits 4, naming the rule", refused.code == 4 and "refused by" in refused.stderr
    )
    story.check("and the address is still held", look.address(ip) is not None)

    story.step("Disassociate, then release: the address goes back to AWS")
    gone = story.run("disassociate", ip, "--yes")
    story.check("`disassociate` exits 0", gone.code == 0)
    fresh = look.instance("mx-a").get("PublicIpAddress", "")
    story.check(
        f"mx-a got a new dynamic IP ({fresh}), not its old {before} (EC2 never gives it back)",
        bool(fresh) and fresh not in (before, ip),
        fresh,
    )
    released = story.run("release", ip, "--yes")
    story.check("`release` exits 0", released.code == 0)
    story.check(f"EC2 no longer lists {ip}", look.address(ip) is None)


Chapter = Callable[[DemoStage], None]


def quicken(text: str) -> str:
    """The sandbox's config with the waits of a real fleet shortened so the story fits in two
    minutes: a 5 s TTL on the scanners' name, a 2 s drain margin, bursts judged on 10 s
    periods with a 5 s cooldown. The rules are the same; only the clock runs faster."""
    text = text.replace("ttl = 60", "ttl = 5")
    text = text.replace('cooldown = "1m"', 'cooldown = "5s"')
    text = text.replace('{ Service = "mx" } }', '{ Service = "mx" }, period = "10s" }')
    return text.replace("\n[dns]", '\n[safety]\ndrain_margin = "2s"\n\n[dns]', 1)


def chapters() -> list[Chapter]:
    from eipkeeper.demo import (
        audit_chapters,
        burst_chapters,
        controller_chapters,
        mail_chapters,
        reputation_chapters,
    )

    return [
        chapter_addresses,
        *controller_chapters.CHAPTERS,
        *burst_chapters.CHAPTERS,
        *mail_chapters.CHAPTERS,
        *audit_chapters.CHAPTERS,
        *reputation_chapters.CHAPTERS,
    ]


def run_demo(*, association_delay: float = 1.0) -> int:
    from eipkeeper.sandbox import Sandbox

    with (
        tempfile.TemporaryDirectory(prefix="eipkeeper-demo-") as folder,
        # The stranger is there, as in `eipkeeper sandbox`: the mail chapter counts what it gets.
        # Every third address allocated is on the sandbox's blocklist, as EC2's can be.
        # No Describe lag (AWS's buckets stay on): each chapter checks what a step did the
        # moment after it, and under EC2's lag those checks would have to wait it out.
        Sandbox(
            port=0,
            association_delay=association_delay,
            reuse_after=2.0,
            listed=3,
            consistency_lag=(0.0, 0.0),
        ) as sandbox,
    ):
        config_path = Path(folder) / "eipkeeper.toml"
        sandbox.write_config(config_path)
        config_path.write_text(quicken(config_path.read_text()))
        env = dict(sandbox.environment())
        env["EIPKEEPER_CONFIG"] = str(config_path)
        story = Story(env=env)
        story.console.print(f"[bold]eipkeeper demo[/]: a sandbox cloud on {sandbox.endpoint}")
        stage = DemoStage(
            story=story,
            look=Observer(env),
            folder=Path(folder),
            events_queue=sandbox.events_queue_url,
            association_delay=association_delay,
        )
        for chapter in chapters():
            try:
                chapter(stage)
            except Exception as exc:  # a broken chapter is a failed check, not a crash
                story.check(f"{chapter.__name__} ran to its end", False, repr(exc))
        return story.finish()
