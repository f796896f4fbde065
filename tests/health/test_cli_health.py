"""The checks as the commands show them: the `instances` health column, `associate` waiting
until the address answers from the instance."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Cloud
from tests.health.monitor_support import from_cloud, tag_answer
from tests.support.cli import eipkeeper


def health_by_name(cloud: Cloud, env: dict[str, str] | None = None) -> dict[str, str]:
    ran = eipkeeper("-o", "json", "instances", env=env or cloud.env)
    assert ran.code == 0, ran.stderr
    return {row["name"]: row["health"] for row in ran.json()}


def test_instances_shows_each_check_result(cloud: Cloud) -> None:
    (scan_a,) = from_cloud(cloud, "scan-a")
    tag_answer(cloud, scan_a, "no")
    # The data plane takes a tick to close the listener; ask until the column says so.
    for _ in range(50):
        health = health_by_name(cloud)
        if health["scan-a"] != "healthy":
            break
    assert health == {
        "mx-a": "healthy",
        "mx-b": "healthy",
        "mx-c": "healthy",
        "scan-a": "unhealthy (connection refused)",
        "scan-b": "healthy",
    }


def test_instances_says_no_check_where_the_service_has_none(cloud: Cloud, tmp_path: Path) -> None:
    text = cloud.config.read_text()
    unchecked = "\n".join(
        line
        for line in text.splitlines()
        if not (line.startswith("check = ") and 'kind = "tcp"' in line)
    )
    config = tmp_path / "unchecked.toml"
    config.write_text(unchecked)
    health = health_by_name(cloud, {**cloud.env, "EIPKEEPER_CONFIG": str(config)})
    assert health["scan-a"] == health["scan-b"] == "no check"
    assert health["mx-a"] == "healthy"


def test_associate_waits_until_the_address_answers_from_the_instance(cloud: Cloud) -> None:
    ran = eipkeeper("-o", "table", "associate", "mx1.example.test", "mx-a", "--yes", env=cloud.env)
    assert ran.code == 0, ran.stderr
    assert "saw it in place, answering on port 2525" in ran.stdout


def test_associate_fails_when_the_instance_never_answers(cloud: Cloud) -> None:
    (mx_b,) = from_cloud(cloud, "mx-b")
    tag_answer(cloud, mx_b, "no")
    ran = eipkeeper(
        "associate", "mx2.example.test", "mx-b", "--yes", "--timeout", "3", env=cloud.env
    )
    assert ran.code == 1
    assert f"on {mx_b.instance_id} (mx-b) in EC2 but did not answer from it" in ran.stderr
    assert "before the timeout (last probe: connection refused)" in ran.stderr

    # mx1, not mx3: mx3 is reserved for bursts, and claiming it for mx-c is refused (S6).
    skipped = eipkeeper(
        "-o", "table", "associate", "mx1.example.test", "mx-c", "--yes", "--no-wait", env=cloud.env
    )
    assert skipped.code == 0 and "not waited for" in skipped.stdout
