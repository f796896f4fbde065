"""Durations as operators write them: `2s`, `500ms`, `5m`, `24h`, `7d`, or `1h30m`."""

from __future__ import annotations

import re

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")


def parse_duration(text: str) -> float:
    """Seconds in TEXT; raises ValueError naming the accepted forms."""
    compact = text.strip().replace(" ", "")
    if not compact:
        raise ValueError("empty duration")
    pos = 0
    total = 0.0
    for match in _PART.finditer(compact):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if pos != len(compact):
        raise ValueError(f"{text!r} is not a duration (use e.g. 500ms, 2s, 5m, 24h, 7d, 1h30m)")
    return total


def parse_seconds(text: str) -> float:
    """Seconds in TEXT, which is a bare number of seconds (`30`, `1.5`, `-5`) or a duration
    (`30s`, `5m`), as the command line takes them; the sign and range are the caller's."""
    compact = text.strip()
    try:
        return float(compact)
    except ValueError:
        pass
    if compact.startswith("-"):
        return -parse_duration(compact[1:])
    return parse_duration(compact)


def format_duration(seconds: float) -> str:
    """The shortest readable form, e.g. 90 -> '1m30s', 0.25 -> '250ms'."""
    if seconds < 1:
        return f"{round(seconds * 1000)}ms"
    whole = round(seconds)
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, whole = divmod(whole, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"
