"""Failover in `run` against the sandbox's data plane: the holder stops answering SMTP, its EIP
moves to the standby; without a standby, a replacement is launched (replace_failed) or the
address stays and is reported."""

from __future__ import annotations

import subprocess
import time
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from tests.conftest import Cloud
from tests.support.cli import background, eipkeeper, wait_for


def controller(cloud: Cloud, log: Path) -> AbstractContextManager[subprocess.Popen[bytes]]:
    args = ("-v", "run", "--interval", "30s", "--switch-grace", "5s")
    return background(*args, env=cloud.env, log=log)


def address_of(cloud: Cloud, hostname: str) -> dict[str, Any]:
    for address in cloud.client("ec2").describe_addresses()["Addresses"]:
        if {"Key": "eipkeeper:hostname", "Value": hostname} in address.get("Tags", []):
            return dict(address)
    raise AssertionError(hostname)


def silence(cloud: Cloud, instance_id: str) -> None:
    cloud.client("ec2").create_tags(
        Resources=[instance_id], Tags=[{"Key": "sandbox:answer", "Value": "no"}]
    )


def test_a_silent_holder_loses_its_address_to_the_standby(cloud: Cloud, tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    with controller(cloud, log):
        wait_for("mx1 held", lambda: bool(address_of(cloud, "mx1.example.test").get("InstanceId")))
        wait_for("mx2 held", lambda: bool(address_of(cloud, "mx2.example.test").get("InstanceId")))
        mx1 = address_of(cloud, "mx1.example.test")
        holders = {address_of(cloud, f"mx{n}.example.test")["InstanceId"] for n in (1, 2)}
        names = {cloud.instance(n)["InstanceId"]: n for n in ("mx-a", "mx-b", "mx-c")}
        standby = next(i for i in names if i not in holders)
        silence(cloud, mx1["InstanceId"])
        wait_for(
            "mx1's address on the standby",
            lambda: address_of(cloud, "mx1.example.test").get("InstanceId") == standby,
        )
        wait_for("the failover measured", lambda: "failover.call" in log.read_text())
        # Longer than fail_after x interval: the new holder's probes follow the address at
        # once, so it is not taken for failed while its old dynamic address is gone.
        time.sleep(6)
        assert address_of(cloud, "mx1.example.test").get("InstanceId") == standby
    text = log.read_text()
    assert text.count("eip.move") == 1, "one move, not a second one to a replacement"
    assert "instance.launched" not in text
    assert "health.changed" in text and "state=unhealthy" in text
    call_line = next(line for line in text.splitlines() if "failover.call" in line)
    seconds = float(call_line.rsplit("seconds=", 1)[1].split()[0])
    assert seconds > 0, "measured from the first failed probe"
    assert address_of(cloud, "mx1.example.test")["PublicIp"] == mx1["PublicIp"]


def test_without_a_standby_a_replacement_is_launched_and_takes_over(
    cloud: Cloud, tmp_path: Path
) -> None:
    assert eipkeeper("apply", "--yes", env=cloud.env).code == 0
    holders = {address_of(cloud, f"mx{n}.example.test")["InstanceId"] for n in (1, 2)}
    standby = next(
        cloud.instance(n)["InstanceId"]
        for n in ("mx-a", "mx-b", "mx-c")
        if cloud.instance(n)["InstanceId"] not in holders
    )
    cloud.client("ec2").stop_instances(InstanceIds=[standby])
    mx1 = address_of(cloud, "mx1.example.test")
    with controller(cloud, tmp_path / "run.log"):
        silence(cloud, mx1["InstanceId"])
        wait_for(
            "mx1's address on a replacement",
            lambda: (
                address_of(cloud, "mx1.example.test").get("InstanceId")
                not in (mx1["InstanceId"], None)
            ),
        )
    new_holder = address_of(cloud, "mx1.example.test")["InstanceId"]
    reply = cloud.client("ec2").describe_instances(InstanceIds=[new_holder])
    tags = {t["Key"]: t["Value"] for t in reply["Reservations"][0]["Instances"][0]["Tags"]}
    assert tags["eipkeeper:replaces"] == "mx1.example.test"
    assert tags["Role"] == "mx", "launched into the service"
    launched = [
        i
        for r in cloud.client("ec2").describe_instances()["Reservations"]
        for i in r["Instances"]
        if any(t["Key"] == "eipkeeper:replaces" for t in i.get("Tags", []))
    ]
    assert len(launched) == 1, "one replacement, however many rounds ran"


def test_without_standby_or_replacement_nothing_moves_and_it_is_said(
    cloud: Cloud, tmp_path: Path
) -> None:
    config = tmp_path / "no-replace.toml"
    config.write_text(
        cloud.config.read_text().replace("replace_failed = true", "replace_failed = false")
    )
    env = {**cloud.env, "EIPKEEPER_CONFIG": str(config)}
    assert eipkeeper("apply", "--yes", env=env).code == 0
    holders = {address_of(cloud, f"mx{n}.example.test")["InstanceId"] for n in (1, 2)}
    for name in ("mx-a", "mx-b", "mx-c"):
        instance_id = cloud.instance(name)["InstanceId"]
        if instance_id not in holders:
            cloud.client("ec2").stop_instances(InstanceIds=[instance_id])
    mx1 = address_of(cloud, "mx1.example.test")
    silence(cloud, mx1["InstanceId"])
    plan: dict[str, Any] = {}

    def reported() -> bool:
        plan.update(eipkeeper("-o", "json", "plan", env=env).json())
        return any(f["kind"] == "unbacked-mx" for f in plan["findings"])

    wait_for("the unbacked finding", reported)
    assert not [a for a in plan["actions"] if a["kind"] in ("move", "claim", "launch")]
    assert address_of(cloud, "mx1.example.test")["InstanceId"] == mx1["InstanceId"]
