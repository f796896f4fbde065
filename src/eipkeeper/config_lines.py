"""Where in a TOML config a problem is: the line for a key path, and the dotted key to show.

tomllib keeps no positions, so `locate` walks the lines with the table headers in mind. Both
the validator's errors and the cross-service checks of `config.py` use it.
"""

from __future__ import annotations

import re
from typing import Any

Loc = tuple[str | int, ...]
"""A key path into the config: ("service", 0, "check", "port")."""

_HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\-\" ]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_.\-\"]+)\s*=")
_INLINE_KEY = re.compile(r"([A-Za-z0-9_\-]+)\s*=")


def dotted(loc: Loc) -> str:
    """LOC as the user reads it: `service[0].check.port`."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def locate(text: str, loc: Loc) -> int | None:
    """The line of TEXT that best matches the key path LOC.

    Pick the line whose path shares the longest prefix with LOC; keys inside an inline table
    on that line extend the match. A missing key resolves to its table's header line.
    """
    target = list(loc)
    best_line: int | None = None
    best_score = 0
    header: list[Any] = []
    array_counts: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.split("#", 1)[0] if '"' not in line else line
        head = _HEADER.match(stripped)
        path: list[Any]
        inline: list[str] = []
        if head:
            names = [n.strip().strip('"') for n in head.group(2).split(".")]
            if head.group(1) == "[[":
                joined = ".".join(names)
                index = array_counts.get(joined, -1) + 1
                array_counts[joined] = index
                header = [*names, index]
            else:
                header = names
            path = list(header)
        else:
            key = _KEY.match(stripped)
            if not key:
                continue
            path = [*header, *(k.strip('"') for k in key.group(1).split("."))]
            inline = _INLINE_KEY.findall(stripped[key.end() :])
        score = _prefix(path, target)
        if score == len(path) and score < len(target):
            rest = [p for p in target[score:] if isinstance(p, str)]
            for name in rest:
                if name in inline:
                    score += 1
                    inline = inline[inline.index(name) + 1 :]
                else:
                    break
        if score > best_score:
            best_score, best_line = score, number
    return best_line


def _prefix(path: list[Any], target: list[Any]) -> int:
    count = 0
    for mine, theirs in zip(path, target, strict=False):
        if mine != theirs:
            break
        count += 1
    return count
