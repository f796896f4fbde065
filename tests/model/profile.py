"""Running the model under a given seed and size: the short profile (`make test`) and the
soak (`make soak`) share this, so a seed printed by one replays in the other."""

from __future__ import annotations

from hypothesis import HealthCheck, Phase, seed, settings
from hypothesis.stateful import get_state_machine_test

from tests.model.machine import EipkeeperModel


def run_model(*, run_seed: int, examples: int, steps: int, shrink: bool = True) -> None:
    """EXAMPLES fresh worlds of up to STEPS steps each, drawn from RUN_SEED; raises with the
    shrunk steps (hypothesis's notes on the exception) when a safety rule breaks."""
    phases = [Phase.explicit, Phase.generate, *([Phase.shrink] if shrink else [])]
    test = get_state_machine_test(
        EipkeeperModel,
        settings=settings(
            max_examples=examples,
            stateful_step_count=steps,
            deadline=None,
            derandomize=False,
            database=None,  # a replay is by seed, not from a local example database
            phases=phases,
            suppress_health_check=list(HealthCheck),
            report_multiple_bugs=False,
        ),
    )
    seed(run_seed)(test)()
