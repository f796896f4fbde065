"""plan / apply / run --once end to end: the sandbox's moto server for EC2, and the zone in
moto's Route 53 or in a real BIND, driven through the CLI as a user drives it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import dns.message
import dns.query
import dns.rdatatype
import pytest

from eipkeeper.sandbox.bind import LocalBind
from tests.conftest import Cloud, swap_dns
from tests.support.cli import eipkeeper

ZONE = "example.test"


@pytest.fixture(params=["route53", "bind"])
def zone_cloud(request: pytest.FixtureRequest, cloud: Cloud, tmp_path: Path) -> Iterator[Cloud]:
    """The sandbox cloud, its zone in Route 53 (as written) or in a local BIND."""
    if request.param == "route53":
        yield cloud
        return
    with LocalBind(ZONE, records=["www 300 IN A 192.0.2.80"]) as bind:
        text = swap_dns(cloud.config.read_text(), bind.config_toml())
        yield cloud.configured(text, tmp_path / "bind.toml")


def zone_records(cloud: Cloud) -> dict[tuple[str, str], tuple[str, ...]]:
    """The zone as the server holds it, read independently of eipkeeper."""
    text = cloud.config.read_text()
    if 'provider = "rfc2136"' in text:
        port = int(re.search(r"port = (\d+)", text).group(1))  # type: ignore[union-attr]
        found: dict[tuple[str, str], tuple[str, ...]] = {}
        # Plain queries, as a resolver would ask (AXFR would need the TSIG key).
        for name in ("mx1", "mx2", "mx3", "scan", "www", "@"):
            owner = ZONE if name == "@" else f"{name}.{ZONE}"
            for rdtype in ("A", "MX", "TXT"):
                reply = dns.query.udp(
                    dns.message.make_query(owner, rdtype), "127.0.0.1", port=port, timeout=2
                )
                for rrset in reply.answer:
                    found[(owner, rdtype)] = tuple(sorted(r.to_text() for r in rrset))
        return found
    r53 = cloud.client("route53")
    zone_id = r53.list_hosted_zones_by_name(DNSName=ZONE)["HostedZones"][0]["Id"]
    found = {}
    for rrset in r53.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]:
        name = rrset["Name"].rstrip(".")
        found[(name, rrset["Type"])] = tuple(
            sorted(r["Value"] for r in rrset.get("ResourceRecords", []))
        )
    return found


def test_plan_apply_plan_converges_and_leaves_others_alone(zone_cloud: Cloud) -> None:
    cloud = zone_cloud
    if "rfc2136" not in cloud.config.read_text():
        r53 = cloud.client("route53")
        zone_id = r53.list_hosted_zones_by_name(DNSName=ZONE)["HostedZones"][0]["Id"]
        r53.change_resource_record_sets(
            HostedZoneId=zone_id,
            ChangeBatch={
                "Changes": [
                    {
                        "Action": "CREATE",
                        "ResourceRecordSet": {
                            "Name": f"www.{ZONE}",
                            "Type": "A",
                            "TTL": 300,
                            "ResourceRecords": [{"Value": "192.0.2.80"}],
                        },
                    }
                ]
            },
        )
    pending = eipkeeper("-o", "json", "plan", "--detailed-exitcode", env=cloud.env)
    assert pending.code == 3, pending.stderr
    body = pending.json()
    kinds = sorted(a["kind"] for a in body["actions"])
    assert kinds == ["claim", "claim", "dns", "dns", "dns", "dns", "dns"]

    applied = eipkeeper("apply", "--yes", "--checksum", body["checksum"], env=cloud.env)
    assert applied.code == 0, applied.stderr

    zone = zone_records(cloud)
    pool = {a["PublicIp"]: a for a in cloud.client("ec2").describe_addresses()["Addresses"]}
    mx1 = zone[(f"mx1.{ZONE}", "A")]
    assert len(mx1) == 1 and mx1[0] in pool
    assert zone[(f"www.{ZONE}", "A")] == ("192.0.2.80",), "a record of nobody's is untouched"
    assert len(zone[(f"scan.{ZONE}", "A")]) == 2
    held = [a for a in pool.values() if a.get("InstanceId")]
    assert len(held) == 2, "two holders, one standby"

    again = eipkeeper("plan", "--detailed-exitcode", env=cloud.env)
    assert again.code == 0, again.stdout + again.stderr


def test_apply_refuses_a_plan_that_changed_since_review(cloud: Cloud) -> None:
    ran = eipkeeper("apply", "--yes", "--checksum", "0000000000000000", env=cloud.env)
    assert ran.code == 1 and "changed since it was reviewed" in ran.stderr
    assert not any(
        a.get("InstanceId") for a in cloud.client("ec2").describe_addresses()["Addresses"]
    )


def test_a_dead_instance_leaves_dns_in_the_next_round(zone_cloud: Cloud) -> None:
    cloud = zone_cloud
    assert eipkeeper("run", "--once", env=cloud.env).code == 0
    scan_a = cloud.instance("scan-a")
    assert scan_a["PublicIpAddress"] in zone_records(cloud)[(f"scan.{ZONE}", "A")]
    cloud.client("ec2").terminate_instances(InstanceIds=[scan_a["InstanceId"]])
    ran = eipkeeper("run", "--once", env=cloud.env)
    assert ran.code == 0, ran.stderr
    assert scan_a["PublicIpAddress"] not in zone_records(cloud)[(f"scan.{ZONE}", "A")]


def test_a_stopped_holder_hands_its_address_to_the_standby(zone_cloud: Cloud) -> None:
    cloud = zone_cloud
    assert eipkeeper("run", "--once", env=cloud.env).code == 0
    ec2 = cloud.client("ec2")
    mx1 = zone_records(cloud)[(f"mx1.{ZONE}", "A")][0]
    holder = next(
        a["InstanceId"] for a in ec2.describe_addresses()["Addresses"] if a["PublicIp"] == mx1
    )
    ec2.stop_instances(InstanceIds=[holder])
    ran = eipkeeper("run", "--once", env=cloud.env)
    assert ran.code == 0, ran.stderr
    now = next(a for a in ec2.describe_addresses()["Addresses"] if a["PublicIp"] == mx1)
    assert now.get("InstanceId") not in (None, holder)
    assert zone_records(cloud)[(f"mx1.{ZONE}", "A")] == (mx1,), "the A record did not change"
