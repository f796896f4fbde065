"""`run` on a signal (SPEC.md section 4, issue 18): Ctrl-C (SIGINT) exits 130 after one line
saying which steps of the round in flight were done and which not, or that none was in
flight; SIGTERM, how a service manager stops a controller, is a clean stop (exit 0). Real
`run` processes against the sandbox."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import pytest

from tests.conftest import Cloud
from tests.controller.test_failover import address_of
from tests.support.cli import start, wait_for
from tests.support.faultproxy import fault_proxy


def _stop(process: subprocess.Popen[bytes]) -> int:
    try:
        return process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_ctrl_c_in_a_round_says_what_was_done_and_not_and_exits_130(
    cloud: Cloud, tmp_path: Path
) -> None:
    log = tmp_path / "run.log"
    with fault_proxy(cloud.env["AWS_ENDPOINT_URL"] or "") as proxy, log.open("wb") as out:
        gate = proxy.hold("AssociateAddress")  # the first claim stays under way
        env = {**cloud.env, "AWS_ENDPOINT_URL": proxy.url}
        process = start("run", "--interval", "30s", env=env, log=out)
        try:
            wait_for("a claim under way", lambda: proxy.seen["AssociateAddress"] >= 1)
            process.send_signal(signal.SIGINT)
            wait_for("the stop heard", lambda: " run.stopping " in log.read_text())
        finally:
            gate.set()
        code = _stop(process)
    text = log.read_text()
    assert code == 130, text
    last = text.splitlines()[-1]
    assert last.startswith("eipkeeper: interrupted. done: claim "), text
    assert "not done: claim " in last, "the second claim waits for the next run"
    assert last.endswith("(not begun: the next round does them)"), last
    assert proxy.seen["AssociateAddress"] == 1, "nothing more was started after Ctrl-C"
    assert " run.stopped " not in text


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 0)])
def test_between_rounds_ctrl_c_exits_130_and_sigterm_stops_cleanly(
    cloud: Cloud, tmp_path: Path, sig: signal.Signals, code: int
) -> None:
    log = tmp_path / "run.log"
    with log.open("wb") as out:
        process = start("run", "--interval", "30s", env=cloud.env, log=out)
        try:
            wait_for("the first round", lambda: " round.changed " in log.read_text())
            wait_for(
                "mx1 held", lambda: bool(address_of(cloud, "mx1.example.test").get("InstanceId"))
            )
        finally:
            process.send_signal(sig)
        assert _stop(process) == code, log.read_text()
    lines = log.read_text().splitlines()
    if sig == signal.SIGINT:
        assert lines[-1] == "eipkeeper: interrupted between rounds; nothing in flight"
    else:
        assert " run.stopped " in lines[-1] and "interrupted" not in "\n".join(lines)
