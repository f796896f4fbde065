"""Durations on the command line: a bare number is seconds, the config's forms work too, and
waits of zero or less are refused with exit 2 (through the real command line)."""

from __future__ import annotations

import click
import pytest

from eipkeeper.cli.params import DURATION, GRACE
from eipkeeper.durations import parse_seconds
from tests.support.cli import here


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30", 30.0),
        ("1.5", 1.5),
        (" 45 ", 45.0),
        ("30s", 30.0),
        ("5m", 300.0),
        ("1h30m", 5400.0),
        ("500ms", 0.5),
        ("2d", 172800.0),
        ("-5", -5.0),
        ("-5m", -300.0),
    ],
)
def test_parse_seconds(text: str, seconds: float) -> None:
    assert parse_seconds(text) == seconds


@pytest.mark.parametrize("text", ["", "abc", "5x", "m5", "5s5", "--5"])
def test_parse_seconds_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        parse_seconds(text)


def test_one_type_for_every_duration_option() -> None:
    assert DURATION.convert("30", None, None) == 30.0
    assert DURATION.convert("5m", None, None) == 300.0
    assert DURATION.convert(2.5, None, None) == 2.5  # a default given as a number
    assert GRACE.convert("0", None, None) == 0.0
    for bad in ("0", "0s", "-1", "nan", "inf", "-inf", "soon"):
        with pytest.raises(click.BadParameter):
            DURATION.convert(bad, None, None)
    with pytest.raises(click.BadParameter, match="zero or more"):
        GRACE.convert("-1s", None, None)


def test_every_duration_option_uses_it() -> None:
    from eipkeeper.cli.main import cli, register_all

    register_all(cli)
    seen = {}
    for name, command in cli.commands.items():
        for param in command.params:
            if param.name in {"interval", "timeout", "lease_ttl", "switch_grace"} or (
                param.name or ""
            ).endswith("_delay"):
                seen[f"{name} --{(param.name or '').replace('_', '-')}"] = param.type
    assert set(seen) >= {
        "run --interval",
        "run --lease-ttl",
        "run --switch-grace",
        "move --timeout",
        "associate --timeout",
        "drain --timeout",
        "replace --timeout",
        "sandbox --association-delay",
        "demo --association-delay",
    }
    assert all(kind in (DURATION, GRACE) for kind in seen.values()), seen


@pytest.mark.parametrize("value", ["0", "-5", "-1m"])
def test_zero_or_negative_interval_exits_2(value: str) -> None:
    ran = here("run", "--once", "--interval", value, env={})
    assert ran.code == 2
    err = ran.stderr
    assert err.startswith("eipkeeper: Invalid value for '--interval'")
    assert "must be more than zero" in err and len(err.splitlines()) == 1
