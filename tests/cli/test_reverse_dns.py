"""`ptr = true` on the sandbox (which implements EC2's address attributes): apply keeps each
pool EIP's reverse DNS equal to its hostname, `addresses` shows it, `audit` reports a PTR
that went missing, and the next apply puts it back; `release` takes the PTR off first, since
EC2 keeps an address with a PTR locked to the account."""

from __future__ import annotations

from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from tests.conftest import Cloud
from tests.support.cli import eipkeeper


def with_ptr(cloud: Cloud, tmp_path: Path) -> dict[str, str]:
    """The sandbox's environment with `ptr = true` on the mx service."""
    text = cloud.config.read_text()
    assert "replace_failed = true\n" in text
    text = text.replace("replace_failed = true\n", "replace_failed = true\nptr = true\n")
    return cloud.configured(text, tmp_path / "ptr.toml").env


def test_apply_sets_the_reverse_dns_and_audit_notices_when_it_goes(
    cloud: Cloud, tmp_path: Path
) -> None:
    env = with_ptr(cloud, tmp_path)

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


def a_record(cloud: Cloud, action: str, name: str, ip: str) -> None:
    route53 = cloud.client("route53")
    zone = route53.list_hosted_zones_by_name(DNSName="example.test.")["HostedZones"][0]["Id"]
    record = {"Name": name, "Type": "A", "TTL": 60, "ResourceRecords": [{"Value": ip}]}
    route53.change_resource_record_sets(
        HostedZoneId=zone,
        ChangeBatch={"Changes": [{"Action": action, "ResourceRecordSet": record}]},
    )


def test_release_takes_the_reverse_dns_off_first(cloud: Cloud, tmp_path: Path) -> None:
    """A spare address of the pool got a PTR once (its A record has gone since): EC2 refuses
    to release it (InvalidAddress.PtrSet) until the PTR is reset, so `release` resets it."""
    env = with_ptr(cloud, tmp_path)
    allocated = eipkeeper("-o", "json", "allocate", "--service", "mx", env=env)
    assert allocated.code == 0, allocated.stderr
    ip, allocation = allocated.json()["public_ip"], allocated.json()["allocation_id"]
    ec2 = cloud.client("ec2")
    a_record(cloud, "CREATE", "spare.example.test", ip)
    ec2.modify_address_attribute(AllocationId=allocation, DomainName="spare.example.test")
    a_record(cloud, "DELETE", "spare.example.test", ip)
    rows = eipkeeper("-o", "json", "addresses", env=env).json()
    assert [r["ptr"] for r in rows if r["public_ip"] == ip] == ["spare.example.test"]
    with pytest.raises(ClientError, match="PtrSet"):  # the lock the test is about
        ec2.release_address(AllocationId=allocation)

    released = eipkeeper("release", ip, "--yes", env=env)
    assert released.code == 0, released.stderr
    assert cloud.address(ip) is None
