"""The mail scenarios need root (Postfix's daemons start as root and drop to `postfix`; the
resolver takes a loopback address of its own) and Debian's postfix: `make test` provides both.
Without them the harness fails with a message saying so; it never skips."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from tests.mail.harness import Outcome, run_scenario
from tests.mail.scenarios import SCENARIOS


@pytest.fixture
def scenario(record_property: Callable[[str, object], None]) -> Callable[[str], Outcome]:
    """Run one scenario of tests/mail/scenarios.py; its JSON line (bench/mail.py's) is kept in
    the test's report (`junitxml`) and shown when the test fails."""

    def run(name: str) -> Outcome:
        outcome = run_scenario(SCENARIOS[name])
        line = json.dumps(outcome.json(), sort_keys=True)
        record_property("mail", line)
        print(line)  # pytest shows captured output for a failed test
        return outcome

    return run
