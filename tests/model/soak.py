"""The long profile of the model test: `make soak` (at least 10,000 steps in all).

Runs the model seed after seed until STEPS steps have run, and prints one JSON line at the
end: steps, the seeds, the violations, the S1 windows, the duration, and for every failed
seed the shrunk steps hypothesis printed. Replay one seed:
`EIPKEEPER_MODEL_SEED=N pytest tests/model` (short), or `python -m tests.model.soak --seed N`.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sys
import time
import traceback
from typing import Any

os.environ.setdefault("EIPKEEPER_MODEL_TWICE", "1")  # before the machine's rules are made
from tests.model.machine import STATS, STOP
from tests.model.profile import run_model


def failed(run_seed: int, failure: BaseException, *, raised: list[str]) -> dict[str, Any]:
    """What a failed seed showed: the violations with the steps that led to them (a
    FlakyFailure, when the real world did not repeat itself in a replay, carries the original
    failure inside; RAISED, what the model raised during the seed, holds it in any case), and
    the shrunk steps when hypothesis could shrink them."""
    causes = [failure, *getattr(failure, "exceptions", ())]
    notes = [line for c in causes for n in getattr(c, "__notes__", []) for line in n.splitlines()]
    return {
        "seed": run_seed,
        "error": "".join(traceback.format_exception_only(failure)).strip().splitlines()[0],
        "violations": [str(c) for c in causes if isinstance(c, AssertionError)] or raised[:1],
        "shrunk_steps": [line for line in notes if line.startswith("state")],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=10_000, help="stop after this many steps")
    parser.add_argument("--seed", type=int, default=None, help="first seed (default: random)")
    parser.add_argument("--examples", type=int, default=5, help="fresh worlds per seed")
    parser.add_argument("--length", type=int, default=50, help="steps per world at most")
    parser.add_argument("--no-shrink", action="store_true", help="report failures unshrunk")
    args = parser.parse_args()
    first = args.seed if args.seed is not None else random.SystemRandom().randrange(2**31)
    started = time.monotonic()
    seeds: list[int] = []
    failures: list[dict[str, Any]] = []
    run_seed = first
    interrupted = False
    # Stop after the current step, as Ctrl-C does; the JSON line still comes out.
    signal.signal(signal.SIGTERM, lambda signum, frame: STOP.set())
    signal.signal(signal.SIGINT, lambda signum, frame: STOP.set())
    while STATS["steps"] < args.steps and not interrupted:
        seeds.append(run_seed)
        before, raised_before = STATS["steps"], len(STATS["raised"])
        try:
            run_model(
                run_seed=run_seed,
                examples=args.examples,
                steps=args.length,
                shrink=not args.no_shrink,
            )
        except KeyboardInterrupt:
            interrupted = True  # the line below still says what ran
        except Exception as failure:
            failures.append(failed(run_seed, failure, raised=STATS["raised"][raised_before:]))
            print(json.dumps(failures[-1], indent=1), file=sys.stderr, flush=True)
        print(
            f"seed {run_seed}: {STATS['steps'] - before} steps, {STATS['steps']} in all, "
            f"{len(failures)} failed seeds, {time.monotonic() - started:.0f}s",
            file=sys.stderr,
            flush=True,
        )
        run_seed += 1
    windows = STATS["windows"]
    print(
        json.dumps(
            {
                "steps": STATS["steps"],
                "interrupted": interrupted,
                "examples": STATS["examples"],
                "seeds": seeds,
                "violations": len([v for v in STATS["violations"] if not v["known"]]),
                "known_today": len([v for v in STATS["violations"] if v["known"]]),
                "violation_kinds": sorted({v["rule"] for v in STATS["violations"]}),
                "failures": failures,
                "s1_windows": len(windows),
                "s1_window_max_s": round(max(windows, default=0.0), 2),
                "aws_calls_watched": STATS["calls"],
                "exits": dict(sorted(STATS["exits"].items())),
                "writes": dict(sorted(STATS["writes"].items())),
                "duration_s": round(time.monotonic() - started, 1),
                "seconds_by_step": {
                    k: {"count": n, "mean_s": round(t / n, 2)}
                    for k, (n, t) in sorted(STATS["seconds_by_step"].items())
                },
            }
        ),
        flush=True,
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
