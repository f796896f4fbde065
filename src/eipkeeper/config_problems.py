"""Every problem in a config, not only the first, in words an operator reads.

msgspec stops at the first error it meets. So `validate` notes it, takes the offending key out
of a copy of the input and validates again, until the input passes or what is left cannot be
judged apart from what was taken out: a required key (taking it out only makes it missing), a
whole table (its own rules may fail for what it lacks) or a list item (taking it out renumbers
the rest). msgspec's messages (`Expected \\`int\\` >= 1 - at \\`$.dns.port\\``) become the config's
words (`dns.port: expected an integer >= 1, got 0`).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import msgspec

from eipkeeper.config_lines import Loc

MOST_PROBLEMS = 50
"""Stop after this many: a file this wrong is better fixed from the top."""

_WHERE = re.compile(r"^(?P<message>.*) - at (?:`key` in )?`\$(?P<path>[^`]*)`$", re.DOTALL)
_STEP = re.compile(r"\.(?P<key>[^.\[\]]+)|\[(?P<index>\d+)\]|(?P<any>\[\.\.\.\])")
_UNKNOWN = re.compile(r"^Object contains unknown field `(?P<key>[^`]+)`$")
_MISSING = re.compile(r"^Object missing required field `(?P<key>[^`]+)`$")
_EXPECTED = re.compile(r"^Expected `(?P<want>[^`]+)`(?P<rest>.*?)(?:, got `(?P<got>[^`]+)`)?$")
_ENUM = re.compile(r"^Invalid enum value (?P<value>.+)$")
_WORDS = {
    "int": "an integer",
    "float": "a number",
    "str": "a string",
    "bool": "true or false",
    "object": "a table",
    "array": "an array",
    "null": "nothing",
}


T = TypeVar("T")


@dataclass(frozen=True)
class Problem:
    loc: Loc
    """Where, as a key path (empty: the file as a whole)."""
    message: str


def validate(
    raw: dict[str, Any],
    kind: type[T],
    *,
    dec_hook: Callable[[type, Any], Any],
    not_keys: tuple[str, ...] = (),
) -> tuple[T | None, list[Problem]]:
    """RAW converted to KIND, or None and every problem found; top-level keys in NOT_KEYS are
    fields of KIND that the file may not set."""
    problems = [Problem((key,), "unknown key") for key in not_keys if key in raw]
    work = {k: v for k, v in raw.items() if k not in not_keys}
    dropped: set[Loc] = set()
    copied = False
    while len(problems) < MOST_PROBLEMS:
        try:
            converted = msgspec.convert(work, kind, dec_hook=dec_hook)
        except msgspec.ValidationError as exc:
            if not copied:  # keys are taken out of a copy; only the failing path pays for it
                work, copied = copy.deepcopy(work), True
            problem, drop = _read(str(exc), work, kind)
            if problem.loc in dropped:
                break  # missing because we took it out: not a problem of the file
            problems.append(problem)
            if drop is None:
                break
            _parent(work, drop).pop(str(drop[-1]))
            dropped.add(drop)
        else:
            return (None if problems else converted), problems
    return None, problems


def _read(text: str, work: dict[str, Any], kind: type) -> tuple[Problem, Loc | None]:
    """The problem msgspec's TEXT names, and the key to take out to look further (None: stop)."""
    where = _WHERE.match(text)
    message, loc = (where["message"], _loc(where["path"])) if where else (text, ())
    unknown = _UNKNOWN.match(message)
    if unknown:
        key = (*loc, unknown["key"])
        return Problem(key, "unknown key"), key
    missing = _MISSING.match(message)
    if missing:
        return Problem((*loc, missing["key"]), "required key is missing"), None
    value = _value(work, loc)
    # A table's own rule, or a list item (only keys of a table are taken out): stop there.
    droppable = bool(loc) and isinstance(loc[-1], str) and not isinstance(value, dict | None)
    return Problem(loc, _words(message, value, kind, loc)), loc if droppable else None


def _loc(path: str) -> Loc:
    loc: list[str | int] = []
    for step in _STEP.finditer(path):
        if step["any"]:
            break  # a value inside a table of free keys: name the table
        loc.append(step["key"] if step["key"] is not None else int(step["index"]))
    return tuple(loc)


def _parent(work: dict[str, Any], loc: Loc) -> dict[str, Any]:
    parent: Any = work
    for step in loc[:-1]:
        parent = parent[step]
    return parent  # type: ignore[no-any-return]


def _value(work: dict[str, Any], loc: Loc) -> Any:
    """The value at LOC, or None where there is none (TOML has no null)."""
    try:
        return _parent(work, loc)[loc[-1]] if loc else work  # type: ignore[index]
    except (KeyError, IndexError, TypeError):
        return None


def _words(message: str, value: Any, kind: type, loc: Loc) -> str:
    expected = _EXPECTED.match(message)
    if expected:
        want = " or ".join(
            _WORDS.get(w.strip(), w.strip()) for w in expected["want"].split("|") if w != " null"
        )
        scalar = isinstance(value, str | int | float)  # shown as written; a table is named
        got = _shown(value) if scalar else _WORDS.get(expected["got"] or "", _shown(value))
        rest = expected["rest"].replace("matching regex", "matching the pattern")
        return f"expected {want}{rest}, got {got}"
    enum = _ENUM.match(message)
    if enum:
        choices = ", ".join(_shown(c) for c in _choices(kind, loc))
        return f"{_shown(value)} is not one of {choices}"
    return message


def _shown(value: Any) -> str:
    """VALUE as TOML writes it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


def _choices(kind: type, loc: Loc) -> tuple[Any, ...]:
    """The values a Literal field at LOC of KIND takes."""
    import msgspec.inspect as mi  # only an error pays for it

    found: Any = mi.type_info(kind)
    for step in loc:
        found = _unwrap(found, mi)
        if isinstance(step, int) and isinstance(found, mi.ListType):
            found = found.item_type
        elif isinstance(found, mi.StructType):
            found = next((f.type for f in found.fields if f.encode_name == step), None)
    found = _unwrap(found, mi)
    return tuple(found.values) if isinstance(found, mi.LiteralType) else ()


def _unwrap(found: Any, mi: Any) -> Any:
    if isinstance(found, mi.Metadata):
        found = found.type
    if isinstance(found, mi.UnionType):
        found = next((t for t in found.types if not isinstance(t, mi.NoneType)), found)
    return found
