"""The short profile of the model test, run by `make test`: a few dozen steps against the
sandbox and a real BIND, from a fixed seed so that a failure replays
(`EIPKEEPER_MODEL_SEED=N pytest tests/model`). No shrinking here (it would take minutes);
`make soak SOAK_ARGS="--seed N --examples 2 --length 20 --steps 1"` shrinks a failing seed."""

from __future__ import annotations

import os

from tests.model.machine import STATS
from tests.model.profile import run_model

SEED = int(os.environ.get("EIPKEEPER_MODEL_SEED", "20261201"))


def test_the_safety_rules_hold_through_commands_cloud_events_faults_and_kills() -> None:
    before = STATS["steps"]
    try:
        run_model(run_seed=SEED, examples=2, steps=20, shrink=False)
    except BaseException as failure:
        failure.add_note(f"seed {SEED}: replay with EIPKEEPER_MODEL_SEED={SEED}")
        raise
    assert STATS["steps"] - before >= 20, STATS
