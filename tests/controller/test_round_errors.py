"""What a round's error leads to is the error's to say (errors.Handling), through one switch in
the loop: on a fake engine and a fake clock, each kind of error gives its outcome, its
`eipkeeper_rounds_total` label, and the loop goes on or stops as it says."""

from __future__ import annotations

import logging

import pytest

from eipkeeper.controller.lease import LeaseLost
from eipkeeper.controller.loop import Controller
from eipkeeper.errors import (
    ConfigError,
    ConflictError,
    EipkeeperError,
    OperationError,
    PermissionDeniedError,
    SafetyRefusal,
    TransientError,
)
from tests.controller.test_loop_pacing import CountedRounds, controller, fake


def _rounds(loop: Controller) -> CountedRounds:
    engine = loop.engine
    assert isinstance(engine, CountedRounds)
    return engine


def _count(loop: Controller, outcome: str) -> float:
    value = loop.metrics.registry.get_sample_value("eipkeeper_rounds_total", {"outcome": outcome})
    return value or 0.0


@pytest.mark.parametrize(
    ("error", "outcome", "label"),
    [
        (TransientError("throttled"), "retry", "retry"),
        (ConflictError("the RRset changed"), "retry", "retry"),
        (OperationError("DescribeAddresses failed"), "retry", "error"),
        (SafetyRefusal("S7", "too many"), "refused", "refused"),
        (LeaseLost("another replica holds it"), "fenced", "fenced"),
    ],
)
def test_each_error_says_what_its_round_comes_to(
    error: EipkeeperError, outcome: str, label: str
) -> None:
    loop = controller()
    _rounds(loop).raises = [error]
    assert loop.one_round() == outcome
    assert _count(loop, label) == 1.0
    assert loop.one_round() == "ok", "the next round reads the world afresh"


@pytest.mark.parametrize(
    "error", [ConfigError("bad key"), PermissionDeniedError("AccessDenied: ec2:DescribeAddresses")]
)
def test_an_error_that_retrying_cannot_help_stops_run(error: EipkeeperError) -> None:
    loop = controller()
    _rounds(loop).raises = [error]
    with pytest.raises(type(error)):
        loop.run()
    assert _rounds(loop).starts == [0.0], "no second round"
    assert _count(loop, "error") == 1.0


def test_an_unexpected_exception_is_said_counted_and_run_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A bug of ours in one round (here a KeyError) does not end the controller: it says the
    error on the run logger, counts the round as an error, backs off and plans again."""
    caplog.set_level(logging.INFO, logger="eipkeeper.run")
    loop = controller(interval=30.0)
    _rounds(loop).raises = [KeyError("mx9.example.test")]
    fake(loop).at(40.0, loop.request_stop)
    loop.run()
    starts = _rounds(loop).starts
    assert len(starts) == 3 and starts[1] < 3.0, "backed off (at most 2 s), not a full interval"
    assert _count(loop, "error") == 1.0 and _count(loop, "ok") == 2.0
    crashed = [r for r in caplog.records if r.getMessage() == "round.crashed"]
    assert len(crashed) == 1
    assert crashed[0].__dict__["eipkeeper_fields"]["error"] == "KeyError: 'mx9.example.test'"


def test_once_raises_what_failed_the_round() -> None:
    loop = controller()
    _rounds(loop).raises = [TransientError("throttled")]
    with pytest.raises(TransientError):
        loop.run(once=True)
