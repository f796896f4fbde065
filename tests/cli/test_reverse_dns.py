"""`ptr = true` on the sandbox (which implements EC2's address attributes): apply keeps each
pool EIP's reverse DNS equal to its hostname, `addresses` shows it, `audit` reports a PTR
that went missing, and the next apply puts it back."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Cloud
from tests.support.cli import eipkeeper


def test_apply_sets_the_reverse_dns_and_audit_notices_when_it_goes(
    cloud: Cloud, tmp_path: Path
) -> None:
    config = tmp_path / "ptr.toml"
    text = cloud.config.read_text()
    assert "replace_failed = true\n" in text
    config.write_text(
        text.replace("replace_failed = true\n", "replace_failed = true\nptr = true\n")
    )
    env = {**cloud.env, "EIPKEEPER_CONFIG": str(config)}

    applied = eipkeeper("-o", "json", "apply", "--yes", env=env)
    assert applied.code == 0, applied.stderr
    assert [a["kind"] for a in applied.json()["actions"]].count("setreverse") == 3
    rows = eipkeeper("-o", "json", "addresses", env=env).json()
    assert {r["hostname"]: r["ptr"] for r in rows} == {
        f"mx{n}.example.test": f"mx{n}.example.test" for n in (1, 2, 3)
    }
    audited = eipkeeper("-o", "json", "audit", env=env)
    assert not [f for f in audited.json() if f["kind"].startswith("ptr-")]

    mx2 = next(r for r in rows if r["hostname"] == "mx2.example.test")
    cloud.client("ec2").reset_address_attribute(
        AllocationId=mx2["allocation_id"], Attribute="domain-name"
    )
    audited = eipkeeper("-o", "json", "audit", env=env)
    missing = [f for f in audited.json() if f["kind"] == "ptr-missing"]
    assert [f["subject"] for f in missing] == [f"{mx2['public_ip']} ({mx2['allocation_id']})"]

    planned = eipkeeper("-o", "json", "plan", env=env).json()
    assert [a["hostname"] for a in planned["actions"] if a["kind"] == "setreverse"] == [
        "mx2.example.test"
    ]
    assert eipkeeper("apply", "--yes", env=env).code == 0
    assert eipkeeper("plan", "--detailed-exitcode", env=env).code == 0
