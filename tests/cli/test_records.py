"""`records` against the sandbox, its zone in Route 53 and in a real BIND: after `apply`
publishes the fleet, each value says what it is in the account."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from eipkeeper.dns.records import Record
from tests.audit.sandbox import OUTSIDE, ZONE, addresses_by_hostname, plant, publish, zone_in
from tests.conftest import Cloud, swap_dns
from tests.support.cli import eipkeeper

COLUMNS = ["name", "type", "ttl", "values", "owner", "points_at"]


@pytest.fixture(params=["route53", "bind"])
def zone_cloud(request: pytest.FixtureRequest, cloud: Cloud, tmp_path: Path) -> Iterator[Cloud]:
    with zone_in(cloud, request.param, tmp_path) as moved:
        yield moved


def records(cloud: Cloud) -> dict[tuple[str, str], dict[str, Any]]:
    ran = eipkeeper("-o", "json", "records", env=cloud.env)
    assert ran.code == 0, ran.stderr
    rows = ran.json()
    assert all(list(row) == COLUMNS for row in rows)
    return {(row["name"], row["type"]): row for row in rows}


def test_records_say_whose_each_record_is_and_what_each_value_points_at(zone_cloud: Cloud) -> None:
    cloud = zone_cloud
    # Someone else's record at a configured name, there before eipkeeper: left alone (S4).
    plant(
        cloud,
        Record(f"mx3.{ZONE}", "A", 300, [OUTSIDE]),
        Record(f"www.{ZONE}", "A", 300, ["192.0.2.80"]),  # nothing to do with us: not listed
    )
    publish(cloud)
    scan_a = cloud.instance("scan-a")
    plant(cloud, Record(f"legacy.{ZONE}", "A", 3600, [scan_a["PublicIpAddress"]]))

    rows = records(cloud)
    pool = addresses_by_hostname(cloud)
    for host in ("mx1", "mx2"):
        eip = pool[f"{host}.{ZONE}"]
        assert rows[(f"{host}.{ZONE}", "A")] == {
            "name": f"{host}.{ZONE}",
            "type": "A",
            "ttl": 300,
            "values": [eip["PublicIp"]],
            "owner": "sandbox",
            "points_at": [f"eip:{eip['AllocationId']}"],
        }
    foreign = rows[(f"mx3.{ZONE}", "A")]
    assert (foreign["owner"], foreign["values"], foreign["points_at"]) == (
        "-",
        [OUTSIDE],
        ["unknown"],
    )

    scan = rows[(f"scan.{ZONE}", "A")]
    instances = {
        cloud.instance(n)["PublicIpAddress"]: cloud.instance(n)["InstanceId"]
        for n in ("scan-a", "scan-b")
    }
    assert scan["owner"] == "sandbox" and scan["ttl"] == 60
    assert scan["points_at"] == [f"instance:{instances[v]}" for v in scan["values"]]

    mx = rows[(ZONE, "MX")]
    assert mx["owner"] == "sandbox"
    expected = {
        f"10 mx1.{ZONE}.": f"eip:{pool[f'mx1.{ZONE}']['AllocationId']}",
        f"10 mx2.{ZONE}.": f"eip:{pool[f'mx2.{ZONE}']['AllocationId']}",
        f"20 mx3.{ZONE}.": "unknown",  # its target is the foreign record's address
    }
    assert dict(zip(mx["values"], mx["points_at"], strict=True)) == expected

    legacy = rows[(f"legacy.{ZONE}", "A")]
    assert (legacy["owner"], legacy["points_at"]) == ("-", [f"instance:{scan_a['InstanceId']}"])
    assert (f"www.{ZONE}", "A") not in rows
    assert not any(name.startswith("_eipkeeper.") for name, _ in rows), "markers are not listed"


def test_records_in_tsv_and_table(cloud: Cloud) -> None:
    publish(cloud)
    tsv = eipkeeper("-o", "tsv", "records", env=cloud.env)
    assert tsv.code == 0, tsv.stderr
    lines = tsv.tsv
    assert [line[0] for line in lines] == sorted(line[0] for line in lines)
    assert all(len(line) == len(COLUMNS) for line in lines)
    mx1 = next(line for line in lines if line[:2] == [f"mx1.{ZONE}", "A"])
    assert mx1[2] == "300" and mx1[4] == "sandbox" and mx1[5].startswith("eip:eipalloc-")

    table = eipkeeper("-o", "table", "records", env=cloud.env)
    assert table.code == 0, table.stderr
    assert "POINTS AT" in table.stdout and f"scan.{ZONE}" in table.stdout
    assert "5 records in example.test, 5 managed by sandbox" in table.stdout


def test_records_without_dns_config_is_a_usage_error(cloud: Cloud, tmp_path: Path) -> None:
    path = tmp_path / "nodns.toml"
    path.write_text(swap_dns(cloud.config.read_text(), ""))
    ran = eipkeeper("records", env={**cloud.env, "EIPKEEPER_CONFIG": str(path)})
    assert ran.code == 2 and "has no [dns] table" in ran.stderr
