"""Two `run` replicas on one DynamoDB lease: exactly one acts; kill it and the other takes over."""

from __future__ import annotations

import signal
import subprocess
from contextlib import AbstractContextManager
from pathlib import Path

from tests.conftest import Cloud
from tests.support.cli import background, wait_for

TABLE = "eipkeeper-lease"
TTL_S = 3.0


def create_lease_table(cloud: Cloud) -> None:
    cloud.client("dynamodb").create_table(
        TableName=TABLE,
        AttributeDefinitions=[{"AttributeName": "name", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "name", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )


def replica(cloud: Cloud, log: Path) -> AbstractContextManager[subprocess.Popen[bytes]]:
    args = ("-v", "run", "--interval", "1s", "--lease-table", TABLE, "--lease-ttl", f"{TTL_S:g}s")
    return background(*args, env=cloud.env, log=log)


def holder(cloud: Cloud) -> str:
    item = cloud.client("dynamodb").get_item(TableName=TABLE, Key={"name": {"S": "sandbox"}})
    return str(item.get("Item", {}).get("holder", {}).get("S", ""))


def lease_expires(cloud: Cloud) -> float:
    """When the lease runs out, as the table says (each heartbeat of the holder pushes it on)."""
    item = cloud.client("dynamodb").get_item(TableName=TABLE, Key={"name": {"S": "sandbox"}})
    return float(item.get("Item", {}).get("expires", {}).get("N", "0"))


def renewed_for(cloud: Cloud, seconds: float) -> None:
    """Until the holder's heartbeats have carried the lease SECONDS further than now: that long
    of lease-holding, with both replicas' rounds going on, measured by the lease itself."""
    start = lease_expires(cloud)
    wait_for(f"the lease renewed {seconds:g}s on", lambda: lease_expires(cloud) >= start + seconds)


def scan_values(cloud: Cloud) -> set[str]:
    r53 = cloud.client("route53")
    zone_id = r53.list_hosted_zones_by_name(DNSName="example.test")["HostedZones"][0]["Id"]
    for rrset in r53.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]:
        if rrset["Name"] == "scan.example.test." and rrset["Type"] == "A":
            return {r["Value"] for r in rrset["ResourceRecords"]}
    return set()


def test_one_replica_acts_and_the_other_takes_over(cloud: Cloud, tmp_path: Path) -> None:
    create_lease_table(cloud)
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    with replica(cloud, logs[0]) as first, replica(cloud, logs[1]) as second:
        wait_for("a lease holder", lambda: bool(holder(cloud)))
        wait_for("the fleet published", lambda: len(scan_values(cloud)) == 2)
        renewed_for(cloud, 2 * TTL_S)  # several rounds of both replicas
        texts = [log.read_text() for log in logs]
        acting = [n for n, text in enumerate(texts) if "round.changed" in text]
        assert len(acting) == 1, "exactly one replica applied changes"
        leader = [first, second][acting[0]]
        follower_log = logs[1 - acting[0]]
        assert str(leader.pid) in holder(cloud)
        assert "lease.acquired" not in follower_log.read_text()

        leader.send_signal(signal.SIGKILL)
        leader.wait()
        wait_for(
            "the follower takes the lease", lambda: "lease.acquired" in follower_log.read_text()
        )
        follower = [first, second][1 - acting[0]]
        assert str(follower.pid) in holder(cloud)

        scan_a = cloud.instance("scan-a")
        cloud.client("ec2").terminate_instances(InstanceIds=[scan_a["InstanceId"]])
        wait_for(
            "the new holder takes the dead instance out of DNS",
            lambda: scan_a["PublicIpAddress"] not in scan_values(cloud),
        )
