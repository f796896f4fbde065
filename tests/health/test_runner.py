"""Which check applies to what, and many probes at once against the sandbox's data plane."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import msgspec

from eipkeeper.config import CheckConfig, Config, load, parse
from eipkeeper.health.probes import ProbeResult
from eipkeeper.health.runner import CheckTarget, check_of, check_once, instance_target
from eipkeeper.health.tls import TlsContexts
from eipkeeper.model import TAG_SERVICE, Address, Instance
from tests.conftest import Cloud
from tests.health.conftest import eventually, silent_server
from tests.health.monitor_support import from_cloud

CONFIG = """
owner = "test"

[[service]]
name = "mx"
select = { tags = { Role = "mx" } }
addresses = "elastic"
hostnames = ["mx1.example.test"]
check = { kind = "smtp", port = 2525 }

[[service]]
name = "web"
select = { tags = { Role = "web" } }
addresses = "dynamic"
hostnames = ["www.example.test"]
"""


def config() -> Config:
    return parse(CONFIG, Path("eipkeeper.toml"))


def test_the_check_is_the_instances_service_else_the_addresses_pool() -> None:
    mx = Instance(instance_id="i-1", state="running", public_ip="127.9.0.1", tags={"Role": "mx"})
    web = Instance(instance_id="i-2", state="running", tags={"Role": "web"}, private_ip="10.0.0.2")
    stray = Instance(instance_id="i-3", state="running")
    pool = Address(public_ip="127.9.0.9", allocation_id="eipalloc-1", tags={TAG_SERVICE: "mx"})
    check = check_of(config(), mx)
    assert check is not None and check.kind == "smtp"
    assert check_of(config(), web) is None
    assert check_of(config(), stray, address=pool) == check
    assert check_of(config(), stray) is None

    target = instance_target(config(), mx)
    assert target == CheckTarget(key="i-1", host="127.9.0.1", check=check, expect="i-1")
    assert instance_target(config(), web) is None


def test_every_sample_instance_passes_its_own_check_at_once(cloud: Cloud) -> None:
    sandbox_config = load(cloud.config)
    instances = from_cloud(cloud, "mx-a", "mx-b", "mx-c", "scan-a", "scan-b")
    targets = [t for i in instances if (t := instance_target(sandbox_config, i))]
    assert len(targets) == 5

    def all_pass() -> dict[str, str] | None:
        results = check_once(targets, tls=TlsContexts())
        ok = all(r.ok for r in results.values())
        return {key: r.answered_by for key, r in results.items()} if ok else None

    answered = eventually(all_pass, what="the whole sample fleet answering")
    for instance in instances:
        kind = "smtp" if instance.tags["Role"] == "mx" else "tcp"
        expected = instance.instance_id if kind == "smtp" else ""
        assert answered[instance.instance_id] == expected, kind


def test_an_answer_from_another_instance_is_a_failure(cloud: Cloud) -> None:
    a, b = from_cloud(cloud, "mx-a", "mx-b")
    check = CheckConfig(kind="smtp", port=2525)
    impostor = CheckTarget(key="b-on-a", host=a.public_ip, check=check, expect=b.instance_id)
    honest = CheckTarget(key="a", host=a.public_ip, check=check, expect=a.instance_id)

    def when_a_answers() -> Mapping[str, ProbeResult] | None:
        results = check_once([impostor, honest], tls=TlsContexts())
        return results if results["a"].ok else None

    results = eventually(when_a_answers, what="mx-a answering")
    assert not results["b-on-a"].ok
    assert results["b-on-a"].detail == f"answered by {a.instance_id}, not {b.instance_id}"


def test_many_slow_targets_each_get_their_own_result() -> None:
    check = CheckConfig(kind="smtp", port=1, timeout=0.2)
    with silent_server() as port:
        slow = msgspec.structs.replace(check, port=port)
        targets = [CheckTarget(key=f"t{n}", host="127.0.0.1", check=slow) for n in range(40)]
        results = check_once(targets, tls=TlsContexts(), limit=16)
    assert sorted(results) == sorted(t.key for t in targets)
    assert {r.detail for r in results.values()} == {"no answer within 0.2s"}
    assert check_once([], tls=TlsContexts()) == {}
