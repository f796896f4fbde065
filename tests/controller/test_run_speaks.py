"""`run` says what it does on stderr without -v (SPEC.md section 4): a start line, one line per
round that changed something or failed, failovers and burst instances by name; nothing for a
round that changed nothing. Read from real `run` processes against the sandbox."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.conftest import Cloud
from tests.controller.test_burst import put_load
from tests.controller.test_failover import address_of, silence
from tests.support.cli import background, eipkeeper, wait_for
from tests.support.faultproxy import Fault, fault_proxy


def events(stderr: str) -> list[str]:
    """The event names of text log lines (`<time> <level> <event> key=value...`)."""
    return [line.split()[2] for line in stderr.splitlines() if len(line.split()) > 2]


def line_of(text: str, event: str) -> str:
    return next(line for line in text.splitlines() if f" {event} " in line)


def test_run_once_says_it_started_and_what_its_round_changed(cloud: Cloud) -> None:
    first = eipkeeper("run", "--once", "--interval", "45", env=cloud.env)
    assert first.code == 0, first.stderr
    assert events(first.stderr) == ["run.started", "round.changed", "run.stopped"]
    started = line_of(first.stderr, "run.started")
    assert f"config={cloud.config}" in started
    assert "owner=sandbox" in started and "interval=45s" in started and "lease=off" in started
    changed = line_of(first.stderr, "round.changed")
    mx1 = address_of(cloud, "mx1.example.test")
    assert f"claim {mx1['PublicIp']} for {mx1['InstanceId']}" in changed, "what was done"
    assert "is healthy and holds none" in changed, "why"
    assert "trigger=start" in changed and "seconds=" in changed, "how long"

    again = eipkeeper("run", "--once", env=cloud.env)
    assert again.code == 0, again.stderr
    assert events(again.stderr) == ["run.started", "run.stopped"], "a no-op round is silent"


def test_run_speaks_json_with_log_format_json(cloud: Cloud) -> None:
    ran = eipkeeper("--log-format", "json", "run", "--once", env=cloud.env)
    assert ran.code == 0, ran.stderr
    lines = [json.loads(line) for line in ran.stderr.splitlines()]
    assert [line["event"] for line in lines] == ["run.started", "round.changed", "run.stopped"]
    assert lines[0]["owner"] == "sandbox" and lines[0]["min_interval"] == "1s"
    assert lines[1]["changes"] >= 2 and "claim " in lines[1]["done"]


def test_a_failover_is_named_with_the_address_and_both_instances(
    cloud: Cloud, tmp_path: Path
) -> None:
    log = tmp_path / "run.log"
    with background("run", "--interval", "30s", "--switch-grace", "5s", env=cloud.env, log=log):
        wait_for("mx1 held", lambda: bool(address_of(cloud, "mx1.example.test").get("InstanceId")))
        wait_for("mx2 held", lambda: bool(address_of(cloud, "mx2.example.test").get("InstanceId")))
        mx1 = address_of(cloud, "mx1.example.test")
        holders = {address_of(cloud, f"mx{n}.example.test")["InstanceId"] for n in (1, 2)}
        standby = next(
            cloud.instance(n)["InstanceId"]
            for n in ("mx-a", "mx-b", "mx-c")
            if cloud.instance(n)["InstanceId"] not in holders
        )
        silence(cloud, mx1["InstanceId"])
        wait_for("the failover said", lambda: " failover " in log.read_text())
    text = log.read_text()
    failover = line_of(text, "failover")
    assert f"public_ip={mx1['PublicIp']}" in failover
    assert f"from_instance={mx1['InstanceId']}" in failover
    assert f"to_instance={standby}" in failover
    assert "since_first_failed_probe=" in failover
    round_line = next(
        line for line in text.splitlines() if " round.changed " in line and "move " in line
    )
    assert f"move {mx1['PublicIp']} from {mx1['InstanceId']} to {standby}" in round_line
    # The failed check wakes a round; the move itself may wait for a later one (switch grace).
    assert re.search(r" trigger=(health|interval)\b", round_line), round_line


def test_burst_instances_are_named_when_launched_and_retired(cloud: Cloud, tmp_path: Path) -> None:
    config = tmp_path / "fast.toml"
    text = cloud.config.read_text().replace('cooldown = "1m"', 'cooldown = "0s"')
    text = text.replace('{ Service = "mx" } }', '{ Service = "mx" }, period = "10s" }')
    config.write_text(text)
    env = {**cloud.env, "EIPKEEPER_CONFIG": str(config)}
    assert eipkeeper("run", "--once", env=env).code == 0

    put_load(cloud, 2000)
    launched = eipkeeper("run", "--once", env=env)
    assert launched.code == 0, launched.stderr
    line = line_of(launched.stderr, "burst.launched")
    instance_id = line.split("instance_id=")[1].split()[0]
    assert instance_id.startswith("i-") and "hostname=mx3.example.test" in line
    assert "scale_out_above 500" in line, "why"
    assert eipkeeper("run", "--once", env=env).code == 0  # mx3 claimed by the burst instance

    put_load(cloud, 10, ahead=25)
    retired = eipkeeper("run", "--once", env=env)
    assert retired.code == 0, retired.stderr
    assert f"instance_id={instance_id}" in line_of(retired.stderr, "burst.retired")


def test_a_failed_round_says_what_it_attempted_why_it_failed_and_how_long(cloud: Cloud) -> None:
    with fault_proxy(cloud.env["AWS_ENDPOINT_URL"]) as proxy:
        proxy.fail("AssociateAddress", Fault("InvalidParameterValue", message="no, not today"))
        ran = eipkeeper("run", "--once", env={**cloud.env, "AWS_ENDPOINT_URL": proxy.url})
    assert ran.code == 1, ran.stderr
    assert events(ran.stderr)[:2] == ["run.started", "round.failed"]
    failed = line_of(ran.stderr, "round.failed")
    assert "no, not today" in failed and "seconds=" in failed and "trigger=start" in failed
    assert 'attempted="claim ' in failed
    assert ran.stderr.splitlines()[-1].startswith("eipkeeper: "), "then the one error line"
