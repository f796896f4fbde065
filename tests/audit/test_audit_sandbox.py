"""`audit` as a user runs it on the sandbox: one planted case of each finding, each found once
and nothing else; exit codes for --fail-on; the cost of idle addresses; the cloud's ranges."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from eipkeeper.dns.records import Record
from eipkeeper.sandbox import fleet
from tests.audit.sandbox import (
    OUTSIDE,
    OUTSIDE_SPF,
    ZONE,
    addresses_by_hostname,
    answered_by_holders,
    holders,
    plant,
    publish,
    wait_until,
    zone_in,
)
from tests.conftest import Cloud
from tests.support.cli import Ran, eipkeeper


def audit(cloud: Cloud, *args: str, env: dict[str, str] | None = None) -> Ran:
    return eipkeeper("-o", "json", "audit", *args, env=env or cloud.env)


def allocate(cloud: Cloud) -> dict[str, str]:
    reply = cloud.client("ec2").allocate_address(
        Domain="vpc",
        TagSpecifications=[
            {"ResourceType": "elastic-ip", "Tags": [{"Key": "eipkeeper:owner", "Value": "sandbox"}]}
        ],
    )
    return {"ip": reply["PublicIp"], "id": reply["AllocationId"]}


def launch_other(cloud: Cloud) -> str:
    """An instance of no service (no Role tag)."""
    reply = cloud.client("ec2").run_instances(
        ImageId=fleet.IMAGE_ID,
        InstanceType="t3.micro",
        MinCount=1,
        MaxCount=1,
        TagSpecifications=[
            {"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "other"}]}
        ],
    )
    return str(reply["Instances"][0]["InstanceId"])


def hold_the_burst_reserve(cloud: Cloud) -> None:
    """Put mx3's EIP on the standby: an idle reserve is itself a finding (info), and this test
    wants exactly one idle address, the planted one."""
    mx3 = addresses_by_hostname(cloud)[f"mx3.{ZONE}"]
    busy = set(holders(cloud).values())
    standby = next(
        i for i in (cloud.instance(n)["InstanceId"] for n in fleet.MX_INSTANCES) if i not in busy
    )
    cloud.client("ec2").associate_address(
        AllocationId=mx3["AllocationId"], InstanceId=standby, AllowReassociation=False
    )


def test_each_planted_case_is_found_once_and_nothing_else(cloud: Cloud) -> None:
    ec2 = cloud.client("ec2")
    pool = addresses_by_hostname(cloud)
    mx1, mx3 = pool[f"mx1.{ZONE}"], pool[f"mx3.{ZONE}"]
    # foreign-owner: someone else's A record at a configured name, there before eipkeeper.
    plant(cloud, Record(f"mx3.{ZONE}", "A", 300, [mx3["PublicIp"]]))
    publish(cloud)
    hold_the_burst_reserve(cloud)
    idle = allocate(cloud)
    # address-on-stopped-instance: an EIP on a stopped instance of no service.
    other, parked = launch_other(cloud), allocate(cloud)
    ec2.associate_address(AllocationId=parked["id"], InstanceId=other, AllowReassociation=False)
    ec2.stop_instances(InstanceIds=[other])
    # unbacked-mx: the holder of mx1 stops answering its check.
    mx1_holder = holders(cloud)[mx1["PublicIp"]]
    ec2.create_tags(Resources=[mx1_holder], Tags=[{"Key": "sandbox:answer", "Value": "no"}])
    wait_until(lambda: mx1["PublicIp"] not in cloud.sandbox.dataplane.answers(), "mx1 to go quiet")
    scan_a = cloud.instance("scan-a")["PublicIpAddress"]
    plant(
        cloud,
        Record(f"old.{ZONE}", "A", 300, [OUTSIDE]),
        Record(f"www.{ZONE}", "A", 300, ["192.0.2.80"]),
        Record(ZONE, "TXT", 300, [f"v=spf1 ip4:{mx1['PublicIp']} ip4:{OUTSIDE_SPF} -all"]),
        Record(f"lists.{ZONE}", "MX", 300, [f"10 scan.{ZONE}."]),
        Record(f"legacy.{ZONE}", "A", 3600, [scan_a]),
    )

    ran = audit(cloud)
    assert ran.code == 3, ran.stderr
    found = sorted((f["kind"], f["severity"], f["subject"]) for f in ran.json())
    assert found == sorted(
        [
            ("dangling-record", "critical", f"A old.{ZONE}"),
            ("external-address", "info", f"A www.{ZONE}"),
            ("spf-address-not-held", "critical", f"TXT {ZONE}"),
            ("mx-on-dynamic-ip", "warning", f"MX lists.{ZONE}"),
            ("unbacked-mx", "warning", f"mx1.{ZONE}"),
            ("idle-address", "warning", f"{idle['ip']} ({idle['id']})"),
            ("address-on-stopped-instance", "warning", f"{parked['ip']} ({parked['id']})"),
            ("long-ttl-on-dynamic-ip", "warning", f"A legacy.{ZONE}"),
            ("foreign-owner", "info", f"A mx3.{ZONE}"),
        ]
    )
    assert all(f["why"] and f["fix"] for f in ran.json()), "each says why and what to do"
    assert "1 idle address costing $3.65 a month" in ran.stderr


def test_an_mx_host_named_at_an_address_given_back_is_critical(cloud: Cloud) -> None:
    """mx2's EIP released behind eipkeeper's back: the MX host's A record, published by
    eipkeeper, now names an address the account does not hold."""
    publish(cloud)
    hold_the_burst_reserve(cloud)
    answered_by_holders(cloud)
    mx2 = addresses_by_hostname(cloud)[f"mx2.{ZONE}"]
    ec2 = cloud.client("ec2")
    ec2.disassociate_address(AssociationId=mx2["AssociationId"])
    ec2.release_address(AllocationId=mx2["AllocationId"])

    ran = audit(cloud)
    assert ran.code == 3, ran.stderr
    found = sorted((f["kind"], f["severity"], f["subject"]) for f in ran.json())
    assert found == [
        ("dangling-record", "critical", f"A mx2.{ZONE}"),
        ("unbacked-mx", "warning", f"mx2.{ZONE}"),
    ]
    assert mx2["PublicIp"] in ran.json()[0]["detail"]


def test_fail_on_and_exit_codes(cloud: Cloud) -> None:
    publish(cloud)
    hold_the_burst_reserve(cloud)
    answered_by_holders(cloud)
    clean = audit(cloud, "--fail-on", "warning")
    assert (clean.code, clean.json()) == (0, []), clean.stderr

    allocate(cloud)  # a warning
    assert audit(cloud).code == 0, "warnings pass the default --fail-on critical"
    assert audit(cloud, "--fail-on", "warning").code == 3

    plant(cloud, Record(f"old.{ZONE}", "A", 300, [OUTSIDE]))  # critical
    assert audit(cloud).code == 3
    assert eipkeeper("audit", "--fail-on", "info", env=cloud.env).code == 2


def test_idle_addresses_with_their_cost_and_the_total_in_every_format(cloud: Cloud) -> None:
    # Fresh sandbox: the three pool EIPs are idle, mx3's as the burst reserve (info).
    rows: list[dict[str, Any]] = audit(cloud).json()
    idle = [r for r in rows if r["kind"] == "idle-address"]
    assert sorted(r["severity"] for r in idle) == ["info", "warning", "warning"]
    assert all(r["monthly_cost"] == 3.65 for r in idle)

    table = eipkeeper("-o", "table", "audit", env=cloud.env)
    assert "3 idle addresses costing $10.95 a month" in table.stdout
    tsv = eipkeeper("-o", "tsv", "audit", env=cloud.env)
    assert all(len(line) == 7 for line in tsv.tsv) and "$10.95" in tsv.stderr


def test_a_local_copy_of_the_ranges_is_used_first(cloud: Cloud, tmp_path: Path) -> None:
    publish(cloud)
    hold_the_burst_reserve(cloud)
    answered_by_holders(cloud)
    plant(cloud, Record(f"old.{ZONE}", "A", 300, [OUTSIDE]))
    # A copy that makes only 127.128.0.0/9 the cloud's: OUTSIDE (127.9.9.0) is external now.
    copy = tmp_path / "ranges.json"
    prefixes = [
        {"ip_prefix": "127.128.0.0/9", "region": "us-east-1", "service": "EC2"},
        {"ip_prefix": "127.0.0.0/9", "region": "us-east-1", "service": "AMAZON"},
    ]
    copy.write_text(json.dumps({"prefixes": prefixes, "ipv6_prefixes": []}))
    config = tmp_path / "ranges.toml"
    config.write_text(cloud.config.read_text() + '\n[audit]\ncloud_ranges = "ranges.json"\n')
    env = {**cloud.env, "EIPKEEPER_CONFIG": str(config)}
    ran = audit(cloud, env=env)
    kinds = [(f["kind"], f["subject"]) for f in ran.json()]
    assert ("external-address", f"A old.{ZONE}") in kinds
    assert "dangling-record" not in {kind for kind, _ in kinds}
    assert f"local copy {copy}" in ran.stderr

    copy.unlink()
    missing = audit(cloud, env=env)
    assert missing.code == 2
    assert "ranges.toml:" in missing.stderr and "cannot read" in missing.stderr


def test_a_fresh_sandbox_with_bind_audits_clean(cloud: Cloud, tmp_path: Path) -> None:
    """`eipkeeper sandbox --bind`: the zone's own `ns1` (127.0.0.1, the BIND server itself) is
    no address the cloud hands out, so it cannot dangle: info, not critical; exit 0."""
    with zone_in(cloud, "bind", tmp_path) as bound:
        ran = audit(bound)
        assert ran.code == 0, ran.stdout + ran.stderr
        found = {(f["kind"], f["subject"]): f["severity"] for f in ran.json()}
        assert found[("external-address", f"A ns1.{ZONE}")] == "info"
        assert "dangling-record" not in {kind for kind, _ in found}
        assert "127.1.0.0-127.254.255.255" in ran.stderr, "the audit says which ranges it used"

        publish(bound)
        assert audit(bound).code == 0, "and after the first apply"
