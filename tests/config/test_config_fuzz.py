"""Any value at any key of a good config: it loads, or every problem is a ConfigError naming its
key; never another exception (which the command line would print as an internal error)."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from eipkeeper import config
from eipkeeper.errors import ConfigError
from tests.config.test_config import FULL

GOOD = tomllib.loads(FULL.replace('provider = "rfc2136"', 'provider = "route53"'))
_BARE = re.compile(r"^[A-Za-z0-9_-]+$")

toml_values = st.recursive(
    st.booleans()
    | st.integers(-(2**40), 2**40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(["", "5m", "-1s", "x", "mx1.example.com", "Ümlaut", "tcp", "elastic"]),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["name", "kind", "port", "x", "tags"]), inner, max_size=3)
    ),
    max_leaves=6,
)


def leaves(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path of VALUE, tables and lists included."""
    found = [path] if path else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += leaves(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += leaves(item, (*path, index))
    return found


def toml(value: Any) -> str:
    """VALUE as an inline TOML value (every table inline, so one writer covers any shape)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml(v) for v in value) + "]"
    return "{ " + ", ".join(f"{key(k)} = {toml(v)}" for k, v in value.items()) + " }"


def key(name: str) -> str:
    return name if _BARE.match(name) else json.dumps(name)


def with_value(path: tuple[Any, ...], new: Any) -> dict[str, Any]:
    raw: dict[str, Any] = json.loads(json.dumps(GOOD))
    parent: Any = raw
    for step in path[:-1]:
        parent = parent[step]
    if new is None:
        parent.pop(path[-1])
    else:
        parent[path[-1]] = new
    return raw


@settings(max_examples=300, deadline=None)
@given(path=st.sampled_from(leaves(GOOD)), new=st.none() | toml_values)  # None: key taken out
def test_any_value_anywhere_loads_or_names_its_problems(path: tuple[Any, ...], new: Any) -> None:
    raw = with_value(path, new)
    text = "\n".join(f"{key(k)} = {toml(v)}" for k, v in raw.items()) + "\n"
    file = Path("fuzz.toml")  # parse reads TEXT; the path is only named in messages
    try:
        loaded = config.parse(text, file)
    except ConfigError as exc:
        problems = getattr(exc, "problems", [exc])
        assert problems, text
        for problem in problems:
            assert problem.message.startswith(str(file)), problem.message
            assert "\n" not in problem.message, problem.message
    else:
        assert loaded.owner == raw["owner"]
