"""`drain_ready`: the drain waits for the MTA's queue before it terminates, refuses past the
timeout unless --force-queue, and a rerun goes on from the phase it reached."""

from __future__ import annotations

from pathlib import Path

from tests.drain.support import Fleet
from tests.support.cli import eipkeeper


def with_queue_check(fleet: Fleet, tmp_path: Path, *, timeout: str) -> tuple[dict[str, str], Path]:
    """The scanners' service with a command readiness check: the queue counts as empty once
    the file EMPTY exists (what a real check would ask the MTA: `postqueue -j | wc -l`)."""
    empty = tmp_path / "queue-empty"
    text = Path(fleet.env["EIPKEEPER_CONFIG"]).read_text()
    marker = 'name = "scan"'
    assert marker in text
    line = (
        f'drain_ready = {{ kind = "command", command = "test -e {empty}", '
        f'interval = "0.2s", timeout = "{timeout}" }}'
    )
    config = tmp_path / "queue.toml"
    config.write_text(_in_service(text, "scan", line))
    return {**fleet.env, "EIPKEEPER_CONFIG": str(config)}, empty


def _in_service(text: str, name: str, line: str) -> str:
    """TEXT with LINE added to the [[service]] table named NAME."""
    head, sep, rest = text.partition(f'name = "{name}"\n')
    return head + sep + line + "\n" + rest


def test_a_full_queue_stops_the_terminate_and_force_queue_lifts_it(
    fleet: Fleet, tmp_path: Path
) -> None:
    env, _ = with_queue_check(fleet, tmp_path, timeout="1s")
    scan_a, _ = fleet.named("scan-a")
    refused = eipkeeper("drain", "scan-a", "--then", "terminate", "--yes", env=env)
    assert refused.code == 1, refused.stderr
    assert "mail is still queued" in refused.stderr and "--force-queue" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert fleet.described(scan_a)[0] == "running"

    forced = eipkeeper("drain", "scan-a", "--then", "terminate", "--force-queue", "--yes", env=env)
    assert forced.code == 0, forced.stderr
    assert fleet.described(scan_a)[0] in ("shutting-down", "terminated")


def test_an_empty_queue_lets_the_drain_finish(fleet: Fleet, tmp_path: Path) -> None:
    env, empty = with_queue_check(fleet, tmp_path, timeout="30s")
    empty.touch()
    scan_b, _ = fleet.named("scan-b")
    ran = eipkeeper("drain", "scan-b", "--then", "terminate", "--yes", env=env)
    assert ran.code == 0, ran.stderr
    assert "the mail queue on" in ran.stderr and "is empty" in ran.stderr
    assert fleet.described(scan_b)[0] in ("shutting-down", "terminated")
