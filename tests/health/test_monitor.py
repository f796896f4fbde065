"""HealthMonitor: hysteresis per instance on a fake clock, callbacks, the switch grace, and the
background thread against the sandbox's data plane."""

from __future__ import annotations

import asyncio
import queue
from pathlib import Path

from eipkeeper.config import Config, load, parse
from eipkeeper.health.monitor import HealthChange, HealthMonitor
from eipkeeper.health.probes import ProbeResult, probe_tcp
from eipkeeper.model import Instance
from tests.conftest import Cloud
from tests.health.conftest import eventually
from tests.health.monitor_support import from_cloud, tag_answer
from tests.support.clock import FakeClock

CONFIG = """
owner = "test"

[[service]]
name = "mx"
select = { tags = { Role = "mx" } }
addresses = "elastic"
hostnames = ["mx1.example.test"]
check = { kind = "smtp", port = 2525, interval = "2s", fail_after = 3, pass_after = 2 }

[[service]]
name = "web"
select = { tags = { Role = "web" } }
addresses = "dynamic"
hostnames = ["www.example.test"]
"""
PASS = ProbeResult(ok=True, detail="220 ok")
FAIL = ProbeResult(ok=False, detail="connection refused")


def config() -> Config:
    return parse(CONFIG, Path("eipkeeper.toml"))


def mx(instance_id: str = "i-0000000000000000a", ip: str = "127.9.0.1") -> Instance:
    return Instance(instance_id=instance_id, state="running", public_ip=ip, tags={"Role": "mx"})


def test_changes_are_reported_once_with_the_first_failure_time() -> None:
    changes: list[HealthChange] = []
    monitor = HealthMonitor(config=config(), on_change=changes.append, clock=FakeClock())
    a = mx()
    monitor.watch([a])
    assert monitor.record(a.instance_id, PASS, at=10.0) is not None
    for at in (12.0, 14.0, 16.0):
        monitor.record(a.instance_id, FAIL, at=at)
    for at in (18.0, 20.0):
        monitor.record(a.instance_id, PASS, at=at)
    assert [(c.previous, c.state, c.at) for c in changes] == [
        ("unknown", "healthy", 10.0),
        ("healthy", "unhealthy", 16.0),
        ("unhealthy", "healthy", 20.0),
    ]
    failed = changes[1]
    assert failed.first_failure_at == 12.0 and not failed.healthy
    assert failed.at - failed.first_failure_at == 4.0, "interval x (fail_after - 1)"
    status = monitor.status(a.instance_id)
    assert status is not None and status.healthy and status.first_failure_at is None


def test_health_without_a_check_is_running_and_never_probed_is_unhealthy() -> None:
    monitor = HealthMonitor(config=config(), clock=FakeClock())
    web = Instance(instance_id="i-web", state="running", tags={"Role": "web"})
    stopped_web = Instance(instance_id="i-web2", state="stopped", tags={"Role": "web"})
    stopped_mx = Instance(instance_id="i-mx", state="stopped", tags={"Role": "mx"})
    assert monitor.health([web, stopped_web, stopped_mx]) == {
        "i-web": True,
        "i-web2": False,
        "i-mx": False,
    }
    assert monitor.statuses() == {}, "nothing with a check was running: nothing probed"


def test_an_instance_no_longer_watched_is_forgotten() -> None:
    monitor = HealthMonitor(config=config(), clock=FakeClock())
    a = mx()
    monitor.watch([a])
    monitor.record(a.instance_id, PASS, at=1.0)
    monitor.watch([])
    assert monitor.status(a.instance_id) is None
    assert monitor.record(a.instance_id, FAIL, at=2.0) is None, "a late result is dropped"


def test_failures_right_after_the_address_changed_do_not_count_within_the_grace() -> None:
    clock = FakeClock(100.0)
    monitor = HealthMonitor(config=config(), clock=clock, switch_grace=30.0)
    monitor.watch([mx(ip="127.9.0.1")])
    monitor.record("i-0000000000000000a", PASS, at=100.0)
    clock.now = 110.0
    monitor.watch([mx(ip="127.9.0.2")])  # an EIP landed on it: the data plane lags
    for at in (111.0, 113.0, 115.0, 139.0):
        assert monitor.record("i-0000000000000000a", FAIL, at=at) is None
    status = monitor.status("i-0000000000000000a")
    assert status is not None and status.healthy and status.last == FAIL
    for at in (141.0, 143.0):
        monitor.record("i-0000000000000000a", FAIL, at=at)
    change = monitor.record("i-0000000000000000a", FAIL, at=145.0)
    assert change is not None and change.state == "unhealthy"
    assert change.first_failure_at == 141.0


def test_a_broken_callback_does_not_stop_the_monitor() -> None:
    def explode(change: HealthChange) -> None:
        raise RuntimeError("boom")

    monitor = HealthMonitor(config=config(), on_change=explode, clock=FakeClock())
    monitor.watch([mx()])
    change = monitor.record("i-0000000000000000a", PASS, at=1.0)
    assert change is not None and change.healthy


def test_health_probes_new_instances_before_it_answers(cloud: Cloud) -> None:
    instances = from_cloud(cloud, "mx-a", "mx-b", "scan-a")
    tag_answer(cloud, instances[1], "no")
    silent = instances[1].public_ip
    eventually(lambda: not asyncio.run(probe_tcp(silent, 2525, timeout=2.0)).ok, what="mx-b silent")
    once = HealthMonitor(config=load(cloud.config)).health(instances)
    assert once == {
        instances[0].instance_id: True,
        instances[1].instance_id: None,  # probed once and failed: undecided, not failed (S6)
        instances[2].instance_id: True,
    }
    pauses: list[float] = []
    said: list[str] = []
    judging = HealthMonitor(
        config=load(cloud.config), sleep=pauses.append, on_probe_again=said.append
    )
    judged = judging.health(instances, judged=frozenset({instances[1].instance_id}))
    assert judged[instances[1].instance_id] is False
    fail_after = load(cloud.config).service("mx").check
    assert fail_after is not None
    assert len(pauses) == fail_after.fail_after - 1, "probed fail_after times, interval apart"
    assert all(0 <= pause <= fail_after.interval for pause in pauses)
    assert said and instances[1].instance_id in said[0]


def test_the_background_thread_sees_a_failure_and_a_recovery(cloud: Cloud) -> None:
    changes: queue.Queue[HealthChange] = queue.Queue()
    instances = from_cloud(cloud, "mx-a", "mx-b")
    a = instances[0]
    with HealthMonitor(config=load(cloud.config), on_change=changes.put) as monitor:
        assert monitor.health(instances) == {i.instance_id: True for i in instances}
        assert {changes.get(timeout=10).state for _ in instances} == {"healthy"}

        tag_answer(cloud, a, "no")
        failed = changes.get(timeout=60)
        assert (failed.instance_id, failed.previous, failed.state) == (
            a.instance_id,
            "healthy",
            "unhealthy",
        )
        assert failed.first_failure_at is not None and failed.first_failure_at < failed.at
        assert monitor.health(instances)[a.instance_id] is False
        assert monitor.health(instances)[instances[1].instance_id] is True

        tag_answer(cloud, a, "yes")
        recovered = changes.get(timeout=60)
        assert (recovered.instance_id, recovered.state) == (a.instance_id, "healthy")
        assert recovered.first_failure_at is None
    assert changes.empty(), "mx-b never changed"
