"""`allocate --service mx` never keeps a listed address: it releases it and tries again."""

from __future__ import annotations

from pathlib import Path

from eipkeeper.config import ReputationConfig
from eipkeeper.dns.dnsbl import Dnsbl
from eipkeeper.sandbox.dnsbl import ZONE
from tests.reputation.scene import listed_cloud
from tests.support.cli import eipkeeper


def test_allocate_for_mx_never_keeps_a_listed_address(tmp_path: Path) -> None:
    with listed_cloud(tmp_path) as cloud:
        lookup = Dnsbl(ReputationConfig(dnsbl=[ZONE], resolver=cloud.sandbox.dnsbl_address))
        kept: list[str] = []
        rejected: list[str] = []
        for _ in range(8):
            ran = eipkeeper("-o", "json", "allocate", "--service", "mx", env=cloud.env)
            assert ran.code == 0, ran.stderr
            row = ran.json()
            kept.append(row["public_ip"])
            rejected += [t["public_ip"] for t in row["tries"] if t["verdict"] == "listed"]
            assert row["tries"][-1] == {
                "public_ip": row["public_ip"],
                "verdict": "clean",
                "detail": ZONE,
            }
        # Every third allocation is listed: over 8 kept there were some rejections.
        assert len(rejected) >= 3
        assert all(lookup.check(ip, now=0.0).clean for ip in kept)
        held = {a["PublicIp"] for a in cloud.client("ec2").describe_addresses()["Addresses"]}
        assert set(kept) <= held
        assert not set(rejected) & held  # released at once


def test_each_try_is_a_line_and_the_rejection_names_the_listing(tmp_path: Path) -> None:
    with listed_cloud(tmp_path) as cloud:
        for _ in range(2):
            assert eipkeeper("allocate", "--service", "mx", env=cloud.env).code == 0
        ran = eipkeeper("allocate", "--service", "mx", env=cloud.env)
        assert ran.code == 0, ran.stderr
        lines = [line for line in ran.stderr.splitlines() if line.startswith("try ")]
        assert len(lines) == 2, ran.stderr
        assert "try 1/5" in lines[0] and "is listed by dnsbl.example.test (127.0.0.2" in lines[0]
        assert "released at once" in lines[0]
        assert lines[1].startswith("try 2/5") and "on no blocklist" in lines[1]


def test_max_tries_all_listed_keeps_none_and_fails(tmp_path: Path) -> None:
    with listed_cloud(tmp_path, listed=1) as cloud:
        before = len(cloud.client("ec2").describe_addresses()["Addresses"])
        ran = eipkeeper("allocate", "--service", "mx", env=cloud.env)
        assert ran.code == 1
        assert "5 fresh addresses in a row were listed" in ran.stderr
        assert len(cloud.client("ec2").describe_addresses()["Addresses"]) == before
