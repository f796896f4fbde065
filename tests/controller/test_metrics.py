"""`run --metrics-port`: Prometheus metrics of SPEC.md section 6, scraped over HTTP."""

from __future__ import annotations

import urllib.request
from pathlib import Path

from eipkeeper.sandbox.bind import free_port
from tests.conftest import Cloud
from tests.support.cli import background, wait_for


def scrape(port: int) -> str:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as reply:
            return str(reply.read().decode())
    except OSError:
        return ""


def test_run_serves_rounds_changes_addresses_health_and_calls(cloud: Cloud, tmp_path: Path) -> None:
    port = free_port()
    args = ("run", "--interval", "2s", "--metrics-port", str(port))
    with background(*args, env=cloud.env, log=tmp_path / "run.log"):
        wait_for("a first round", lambda: 'eipkeeper_rounds_total{outcome="ok"}' in scrape(port))
        wait_for(
            "the fleet published",
            lambda: 'eipkeeper_changes_total{kind="claim"} 2.0' in scrape(port),
        )
        wait_for(
            "a second round", lambda: 'eipkeeper_addresses{status="in-use"} 2.0' in scrape(port)
        )
        text = scrape(port)
    assert 'eipkeeper_addresses{status="idle"} 1.0' in text, "mx3 waits for a burst"
    assert 'eipkeeper_api_calls{operation="ec2:AssociateAddress"} 2.0' in text
    assert "eipkeeper_round_duration_seconds_count" in text
    assert "eipkeeper_last_success_timestamp_seconds" in text
    healthy = [line for line in text.splitlines() if line.startswith("eipkeeper_instance_healthy{")]
    assert len(healthy) == 5 and all(line.endswith(" 1.0") for line in healthy)
