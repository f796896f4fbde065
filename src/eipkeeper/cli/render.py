"""Output in the three formats of SPEC.md section 4: table for people, tsv for pipes, json.

`table` is the default on a terminal; `tsv` (one line per object, columns in the table's order,
no header) when stdout is not a terminal, so that `eipkeeper addresses | cut -f1` works.

rich is imported only to draw a table or styled text: a command's `--help` and a tsv or JSON
listing in a script's loop do not pay for it.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

OutputFormat = Literal["table", "tsv", "json"]


@dataclass(frozen=True)
class Column:
    key: str
    header: str = ""
    justify: Literal["left", "right"] = "left"

    @property
    def title(self) -> str:
        return self.header or self.key.replace("_", " ").upper()


def default_format() -> OutputFormat:
    return "table" if sys.stdout.isatty() else "tsv"


def cell(value: Any) -> str:
    """How one value reads in a table or tsv cell."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list | tuple | frozenset | set):
        return ",".join(cell(v) for v in value)
    return str(value)


def render_rows(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[Column],
    fmt: OutputFormat,
    *,
    title: str = "",
    footer: str = "",
    err: bool = False,
) -> None:
    """ROWS in FMT on stdout (on stderr with ERR: a plan shown before a command's result)."""
    out = sys.stderr if err else sys.stdout
    if fmt == "json":
        print(json.dumps([dict(row) for row in rows], indent=2, default=str), file=out)
        return
    if fmt == "tsv":
        for row in rows:
            print("\t".join(cell(row.get(c.key)).replace("\t", " ") for c in columns), file=out)
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title or None, caption=footer or None, header_style="bold")
    for column in columns:
        table.add_column(column.title, justify=column.justify, overflow="fold")
    for row in rows:
        table.add_row(*(cell(row.get(c.key)) for c in columns))
    # Off a terminal (`-o table` into a file) rich would wrap at 80 columns; do not.
    Console(file=out, width=None if out.isatty() else 250).print(table)


def render_object(obj: Mapping[str, Any], fmt: OutputFormat, *, text: str) -> None:
    """One result object (`allocate`, `associate`): a JSON object, or TEXT for people and pipes."""
    if fmt == "json":
        print(json.dumps(dict(obj), indent=2, default=str))
    elif fmt == "tsv":
        print("\t".join(cell(v) for v in obj.values()))
    else:
        from rich.console import Console

        Console(soft_wrap=True, markup=False, highlight=False).print(text)
