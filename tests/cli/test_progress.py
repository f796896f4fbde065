"""A long DNS apply's progress: a bar on a terminal, plain lines otherwise (SPEC.md section 4),
reached through the engine's Hooks."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from eipkeeper.cli.plans import step_hooks
from eipkeeper.cli.progress import counting
from eipkeeper.sandbox.bind import LocalBind
from tests.conftest import Cloud, swap_dns
from tests.support.cli import here


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_plain_lines_when_stderr_is_not_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    with counting("DNS changes accepted") as counter:
        counter.count(2, 5)
        counter.count(5, 5)
    err = capsys.readouterr().err
    assert err.splitlines() == ["  DNS changes accepted: 2 of 5", "  DNS changes accepted: 5 of 5"]


def test_a_bar_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    with counting("DNS changes accepted") as counter:
        counter.count(2, 5)
        counter.count(4, 5)
    drawn = terminal.getvalue()
    assert "4/5" in drawn  # the bar's count column, redrawn in place
    assert "of 5" not in drawn  # no plain line


def test_a_bar_is_not_drawn_for_an_apply_that_reports_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    with counting("DNS changes accepted"):
        pass
    assert terminal.getvalue() == ""


def test_the_commands_hooks_count_unless_quiet() -> None:
    assert step_hooks().counting is counting
    assert step_hooks(quiet=True).counting is not counting


def test_apply_tells_dns_progress_message_by_message(cloud: Cloud, tmp_path: Path) -> None:
    """The sandbox's first apply puts several records in DNS; one change a message makes each
    message a step the operator sees."""
    with LocalBind("example.test") as bind:
        table = bind.config_toml() + "max_changes_per_message = 1\n"
        config = tmp_path / "bind.toml"
        config.write_text(swap_dns(cloud.config.read_text(), table))
        ran = here("apply", "--yes", env={**cloud.env, "EIPKEEPER_CONFIG": str(config)})
    assert ran.code == 0, ran.stderr
    told = [line for line in ran.stderr.splitlines() if "DNS changes accepted" in line]
    counts = [tuple(map(int, line.rsplit(": ", 1)[1].split(" of "))) for line in told]
    assert all(total > 1 for _, total in counts)
    # One line per message (a unit of two changes stays in one message), up to the last.
    done = [sent for sent, _ in counts]
    assert len(done) > 1 and done == sorted(set(done)) and done[-1] == counts[-1][1]
