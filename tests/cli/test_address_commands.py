"""The address commands as a user runs them against the sandbox: output, exit codes, effects."""

from __future__ import annotations

import ipaddress
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import Cloud
from tests.support.cli import eipkeeper

POOL = ["mx1.example.test", "mx2.example.test", "mx3.example.test"]


def allocate(cloud: Cloud, *args: str) -> str:
    ran = eipkeeper("-o", "json", "allocate", *args, env=cloud.env)
    assert ran.code == 0, ran.stderr
    return str(ran.json()["public_ip"])


def test_addresses_lists_the_pool_in_all_three_formats(cloud: Cloud) -> None:
    rows = eipkeeper("-o", "json", "addresses", env=cloud.env).json()
    assert sorted(r["hostname"] for r in rows) == POOL
    assert set(rows[0]) == {
        "public_ip",
        "allocation_id",
        "service",
        "hostname",
        "instance_id",
        "instance_state",
        "dns_names",
        "status",
        "monthly_cost",
        "ptr",
    }
    assert all(r["status"] == "idle" and r["monthly_cost"] == 3.65 for r in rows)

    tsv = eipkeeper("-o", "tsv", "addresses", env=cloud.env)
    assert tsv.code == 0
    assert [line[0] for line in tsv.tsv] == [r["public_ip"] for r in rows]
    assert all(len(line) == 10 for line in tsv.tsv)

    table = eipkeeper("-o", "table", "addresses", env=cloud.env)
    assert "PUBLIC IP" in table.stdout and "mx1.example.test" in table.stdout
    assert "$10.95 a month" in table.stdout


def test_tsv_is_the_default_in_a_pipe_so_cut_works(cloud: Cloud) -> None:
    piped = subprocess.run(  # noqa: S602 - the pipe is the point of the test
        f"{sys.executable} -m eipkeeper addresses | cut -f1",
        shell=True,
        env={**cloud.env, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    ips = piped.stdout.split()
    assert len(ips) == 3
    assert all(ipaddress.ip_address(ip) in ipaddress.ip_network("127.0.0.0/8") for ip in ips)


def test_allocate_tags_owner_pool_and_hostname_in_one_call(cloud: Cloud) -> None:
    eip = cloud.client("ec2").describe_addresses()["Addresses"][0]
    cloud.client("ec2").release_address(AllocationId=eip["AllocationId"])
    hostname = next(t["Value"] for t in eip["Tags"] if t["Key"] == "eipkeeper:hostname")

    ran = eipkeeper(
        "-o", "table", "allocate", "--hostname", hostname, "--tag", "Team=mail", env=cloud.env
    )
    assert ran.code == 0, ran.stderr
    assert "$0.005/hour" in ran.stdout and f"bound to {hostname}" in ran.stdout
    ip = ran.stdout.split()[1]
    tags = {t["Key"]: t["Value"] for t in (cloud.address(ip) or {})["Tags"]}
    assert len(tags.pop("eipkeeper:request", "")) == 32, "the request a retry looks it up by (S9)"
    assert tags == {
        "eipkeeper:owner": "sandbox",
        "eipkeeper:service": "mx",
        "eipkeeper:hostname": hostname,
        "Team": "mail",
    }


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--hostname", "mx1.example.test"], "already bound"),
        (["--hostname", "www.example.test"], "belongs to no configured service"),
        (["--service", "scan"], "dynamic"),
        (["--service", "web"], "no service 'web'"),
        (["--tag", "eipkeeper:owner=me"], "set by eipkeeper itself"),
        (["--tag", "novalue"], "KEY=VALUE"),
    ],
)
def test_allocate_refuses_what_makes_no_sense_and_allocates_nothing(
    cloud: Cloud, args: list[str], words: str
) -> None:
    ran = eipkeeper("allocate", *args, env=cloud.env)
    assert ran.code == 2
    assert words in ran.stderr
    assert len(ran.stderr.strip().splitlines()) == 1
    assert len(cloud.client("ec2").describe_addresses()["Addresses"]) == 3


def test_associate_warns_that_the_dynamic_ip_goes_and_asks(cloud: Cloud) -> None:
    ip = allocate(cloud)
    dynamic = cloud.instance("mx-a")["PublicIpAddress"]

    asked = eipkeeper("associate", ip, "mx-a", env=cloud.env)
    assert asked.code == 2
    assert f"dynamic public IP {dynamic}" in asked.stderr and "for good" in asked.stderr
    assert "--yes" in asked.stderr
    assert not (cloud.address(ip) or {}).get("InstanceId")

    answered = eipkeeper("associate", ip, "mx-a", stdin="y\n", env=cloud.env)
    assert answered.code == 2, "stdin is not a terminal: only --yes confirms"

    done = eipkeeper("-o", "table", "associate", ip, "mx-a", "--yes", env=cloud.env)
    assert done.code == 0, done.stderr
    assert "saw it in place" in done.stdout
    after = cloud.instance("mx-a")
    assert after["PublicIpAddress"] == ip
    assert (cloud.address(ip) or {})["InstanceId"] == after["InstanceId"]


def test_associate_again_with_the_same_instance_changes_nothing(cloud: Cloud) -> None:
    ip = allocate(cloud)
    assert eipkeeper("associate", ip, "mx-a", "--yes", env=cloud.env).code == 0
    association = (cloud.address(ip) or {})["AssociationId"]
    again = eipkeeper("-o", "json", "associate", ip, "mx-a", "--yes", env=cloud.env)
    assert again.code == 0 and again.json()["changed"] is False
    assert (cloud.address(ip) or {})["AssociationId"] == association


def test_associate_never_takes_an_address_from_another_instance(cloud: Cloud) -> None:
    ip = allocate(cloud)
    assert eipkeeper("associate", ip, "mx-a", "--yes", env=cloud.env).code == 0
    taken = eipkeeper("associate", ip, "mx-b", "--yes", env=cloud.env)
    assert taken.code == 4
    assert "refused by S6" in taken.stderr and "eipkeeper move" in taken.stderr
    assert (cloud.address(ip) or {})["InstanceId"] == cloud.instance("mx-a")["InstanceId"]


def test_associate_refuses_to_displace_an_address_the_instance_holds(cloud: Cloud) -> None:
    first, second = allocate(cloud), allocate(cloud)
    assert eipkeeper("associate", first, "mx-a", "--yes", env=cloud.env).code == 0
    displaced = eipkeeper("associate", second, "mx-a", "--yes", env=cloud.env)
    assert displaced.code == 4 and first in displaced.stderr
    assert (cloud.address(first) or {}).get("InstanceId") == cloud.instance("mx-a")["InstanceId"]
    assert not (cloud.address(second) or {}).get("InstanceId")


def test_addresses_it_does_not_own_are_not_touched(cloud: Cloud) -> None:
    foreign = cloud.client("ec2").allocate_address(Domain="vpc")["PublicIp"]
    for args in (["associate", foreign, "mx-a"], ["release", foreign], ["disassociate", foreign]):
        ran = eipkeeper(*args, "--yes", env=cloud.env)
        assert ran.code == 4, args
        assert "refused by S4" in ran.stderr and "no owner" in ran.stderr
    assert cloud.address(foreign) is not None


def test_disassociate_leaves_the_address_allocated_and_the_instance_gets_a_new_ip(
    cloud: Cloud,
) -> None:
    ip = allocate(cloud)
    dynamic = cloud.instance("mx-a")["PublicIpAddress"]
    assert eipkeeper("associate", ip, "mx-a", "--yes", env=cloud.env).code == 0
    ran = eipkeeper("-o", "table", "disassociate", ip, "--yes", env=cloud.env)
    assert ran.code == 0 and "stays allocated" in ran.stdout
    assert not (cloud.address(ip) or {}).get("InstanceId")
    fresh = cloud.instance("mx-a").get("PublicIpAddress")
    assert fresh and fresh not in (dynamic, ip)


def test_release_is_refused_while_associated_then_allowed(cloud: Cloud) -> None:
    ip = allocate(cloud)
    assert eipkeeper("associate", ip, "mx-b", "--yes", env=cloud.env).code == 0
    refused = eipkeeper("release", ip, "--yes", env=cloud.env)
    assert refused.code == 4 and "associated with" in refused.stderr
    assert cloud.address(ip) is not None
    assert eipkeeper("disassociate", ip, "--yes", env=cloud.env).code == 0
    released = eipkeeper("release", ip, "--yes", env=cloud.env)
    assert released.code == 0, released.stderr
    assert cloud.address(ip) is None


def test_release_waits_out_the_quarantine_after_leaving_dns(cloud: Cloud) -> None:
    ip = allocate(cloud)
    allocation = (cloud.address(ip) or {})["AllocationId"]
    recent = (datetime.now(UTC) - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S")
    ec2 = cloud.client("ec2")
    ec2.create_tags(
        Resources=[allocation], Tags=[{"Key": "eipkeeper:left-dns-at", "Value": recent}]
    )
    refused = eipkeeper("release", ip, "--yes", env=cloud.env)
    assert refused.code == 4 and "refused by S3" in refused.stderr
    assert re.search(r"ends in 2[12]h", refused.stderr)

    ec2.create_tags(
        Resources=[allocation],
        Tags=[{"Key": "eipkeeper:left-dns-at", "Value": "2020-01-01T00:00:00"}],
    )
    ec2.create_tags(Resources=[allocation], Tags=[{"Key": "eipkeeper:leaving-dns", "Value": "x"}])
    pending = eipkeeper("release", ip, "--yes", env=cloud.env)
    assert pending.code == 4 and "still leaving DNS" in pending.stderr

    ec2.delete_tags(Resources=[allocation], Tags=[{"Key": "eipkeeper:leaving-dns"}])
    assert eipkeeper("release", ip, "--yes", env=cloud.env).code == 0
    assert cloud.address(ip) is None


def test_instances_lists_the_services_members(cloud: Cloud) -> None:
    rows = eipkeeper("-o", "json", "instances", env=cloud.env).json()
    names = sorted(r["name"] for r in rows)
    assert names == ["mx-a", "mx-b", "mx-c", "scan-a", "scan-b"]
    assert {r["service"] for r in rows} == {"mx", "scan"}
    assert all(r["ip_kind"] == "dynamic" and r["state"] == "running" for r in rows)


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (["release", "203.0.113.9"], 1, "no Elastic IP of this account has the public IP"),
        (["release", "eipalloc-0000"], 1, "allocation id or bound hostname"),
        (["associate", "mx1.example.test", "i-00000000"], 1, "no instance with id or Name"),
        (["associate", "mx1.example.test", "nonesuch"], 1, "no instance with id or Name"),
    ],
)
def test_unknown_objects_get_one_line(cloud: Cloud, args: list[str], code: int, words: str) -> None:
    ran = eipkeeper(*args, "--yes", env=cloud.env)
    assert ran.code == code
    assert words in ran.stderr
    assert len(ran.stderr.strip().splitlines()) == 1
    assert "Traceback" not in ran.stderr


def test_a_bad_config_is_exit_2_naming_file_and_line(cloud: Cloud, tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text(cloud.config.read_text().replace('owner = "sandbox"', 'owner = "Sand Box"'))
    ran = eipkeeper("--config", str(broken), "addresses", env=cloud.env)
    assert ran.code == 2
    assert re.search(rf"{re.escape(str(broken))}:\d+: owner:", ran.stderr)
    missing = eipkeeper("--config", str(tmp_path / "nope.toml"), "addresses", env=cloud.env)
    assert missing.code == 2 and "eipkeeper sandbox" in missing.stderr
