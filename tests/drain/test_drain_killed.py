"""A drain SIGKILLed right after each phase is recorded (and once just before), then run again:
it finishes, and S2 holds at every moment, as BIND serves the zone and EC2 shows the instance.

The kill is not left to timing: a gate in front of the sandbox holds the CreateTags call that
records the phase, after moto applied it or before, until the process is dead."""

from __future__ import annotations

import pytest

from tests.drain.support import Fleet, S2Watch, gate
from tests.support.cli import eipkeeper, start

SCAN = "scan.example.test"
DRAIN = ("drain", "scan-a", "--then", "terminate", "--yes")


@pytest.mark.parametrize(
    ("phase", "recorded", "left_at", "running"),
    [
        ("started", True, "started", True),  # before the DNS change
        ("dns-out", False, "started", True),  # DNS changed, not yet recorded
        ("dns-out", True, "dns-out", True),  # before the confirmation
        ("confirmed", True, "confirmed", True),  # before the wait
        ("waited", True, "waited", True),  # before the termination
        ("done", False, "waited", False),  # terminated, not yet recorded
    ],
)
def test_a_drain_killed_in_any_phase_finishes_when_run_again(
    fleet: Fleet, phase: str, recorded: bool, left_at: str, running: bool
) -> None:
    scan_a, ip = fleet.named("scan-a")
    _, other = fleet.named("scan-b")
    with S2Watch(fleet, scan_a, ip) as watch:
        with gate(fleet.env["AWS_ENDPOINT_URL"], phase=phase, applied=recorded) as held:
            process = start(*DRAIN, env={**fleet.env, "AWS_ENDPOINT_URL": held.url})
            try:
                assert held.held.wait(60), f"the drain never got to record {phase}"
            finally:
                process.kill()
                process.wait()
        watch.check_now()
        state, tag = fleet.described(scan_a)
        assert tag.split()[0] == left_at
        assert (state == "running") == running

        again = eipkeeper("-o", "json", *DRAIN, env=fleet.env)

        assert again.code == 0, again.stderr
    report = again.json()
    assert report["resumed_from"] == left_at
    assert report["phases"][-1] == "done" and report["action"] == "terminated"
    assert watch.violations == [], watch.violations
    assert watch.samples > 10
    assert fleet.described(scan_a)[0] in ("shutting-down", "terminated")
    assert fleet.served(SCAN) == {other}, "out of DNS; the other instance still in"


def test_the_watch_sees_s2_broken_when_it_is(fleet: Fleet) -> None:
    """The check above is only as good as the watch: terminate an instance still in DNS."""
    scan_a, ip = fleet.named("scan-a")
    watch = S2Watch(fleet, scan_a, ip)
    watch.check_now()
    assert watch.violations == []
    fleet.cloud.client("ec2").terminate_instances(InstanceIds=[scan_a])
    watch.check_now()
    assert len(watch.violations) == 2, watch.violations
