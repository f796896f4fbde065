"""Click parameter types shared by every command: durations as the config writes them.

Every duration option (`--interval`, `--timeout`, `--lease-ttl`, `--switch-grace`, ...) uses
`DURATION` (or `GRACE` where zero makes sense), so `30`, `30s`, `1.5` and `5m` mean the same
on every command and in the config file.
"""

from __future__ import annotations

import math

import click

from eipkeeper.durations import parse_seconds


class Duration(click.ParamType[float]):
    """Seconds, written as a bare number (`30`) or as the config writes them (`30s`, `5m`)."""

    name = "duration"

    def __init__(self, *, allow_zero: bool = False) -> None:
        self.allow_zero = allow_zero

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str:
        del param, ctx
        return "DURATION"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        if isinstance(value, bool):
            self.fail(f"{value!r} is not a duration", param, ctx)
        if isinstance(value, int | float):
            seconds = float(value)
        else:
            try:
                seconds = parse_seconds(str(value))
            except ValueError as exc:
                self.fail(str(exc), param, ctx)
        if not math.isfinite(seconds):
            self.fail(f"{value!r} is not a finite duration", param, ctx)
        if seconds < 0 or (seconds == 0 and not self.allow_zero):
            least = "zero or more" if self.allow_zero else "more than zero"
            self.fail(f"{value!r}: a duration must be {least}", param, ctx)
        return seconds


DURATION = Duration()
"""A wait, an interval or a timeout: more than zero."""

GRACE = Duration(allow_zero=True)
"""A grace period or margin: zero turns it off."""


class DurationRange(click.ParamType[tuple[float, float]]):
    """A range of seconds to draw from, `LOW-HIGH` (`0-3s`, `3-8s`), or one value (`2s`, `0`)."""

    name = "range"

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str:
        del param, ctx
        return "LOW-HIGH"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> tuple[float, float]:
        if isinstance(value, tuple):
            return (float(value[0]), float(value[1]))
        low_text, _, high_text = str(value).strip().partition("-")
        single = GRACE.convert(low_text, param, ctx)
        high = GRACE.convert(high_text, param, ctx) if high_text else single
        if high < single:
            self.fail(f"{value!r}: the low end is above the high end", param, ctx)
        return (single, high)


DURATION_RANGE = DurationRange()


class Name(click.ParamType[str]):
    """Something the user names (an ADDRESS, an INSTANCE, a checksum): never empty or blank.

    An unset shell variable (`release "$ADDR" --yes`) must not match an EIP whose hostname
    binding is empty, nor skip the checksum gate (SPEC S10): blank is a usage error, not a name.
    """

    name = "text"

    def __init__(self, what: str, metavar: str = "TEXT") -> None:
        self.what = what
        self.metavar = metavar

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str:
        del ctx
        if param.param_type_name == "argument":
            return param.human_readable_name.upper()
        return self.metavar

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> str:
        text = str(value)
        if not text.strip():
            self.fail(f"{self.what} is empty; name one", param, ctx)
        return text.strip()


ADDRESS = Name("ADDRESS", "ADDRESS")
"""A public IP, an allocation id or a bound hostname."""

INSTANCE = Name("INSTANCE", "INSTANCE")
"""An instance id or its Name tag."""

CHECKSUM = Name("the checksum")

TEXT = Name("the value")
"""Any other option whose value names something (a template, a type, a queue, a table)."""
