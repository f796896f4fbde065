"""docs/reference.md stays current: it names every command and option the program has, every
config key, audit finding and metric, and the help points at it rather than at a file users
do not have.

When one of these fails after a change, add what it names to docs/reference.md.
"""

from __future__ import annotations

import ast
import re
import types
import typing
from collections.abc import Iterator
from pathlib import Path

import click
import msgspec
import pytest

from eipkeeper import config as config_module
from eipkeeper.cli.main import cli, register_all
from eipkeeper.controller.metrics import Metrics
from tests.support.cli import eipkeeper

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "docs" / "reference.md"
PACKAGE = ROOT / "src" / "eipkeeper"


def reference() -> str:
    return REFERENCE.read_text(encoding="utf-8")


def section(heading: str) -> str:
    """The text under the `### HEADING` (or `## HEADING`) line, up to the next heading."""
    text = reference()
    match = re.search(rf"^#{{2,3}} {re.escape(heading)}\s*$", text, flags=re.MULTILINE)
    assert match, f"docs/reference.md has no heading {heading!r}"
    following = re.search(r"^#{2,3} ", text[match.end() :], flags=re.MULTILINE)
    return text[match.end() : match.end() + following.start() if following else len(text)]


def names(text: str, word: str) -> bool:
    """TEXT names WORD in code: `WORD`, `WORD ARG...`, and not as a prefix of a longer name."""
    return re.search(rf"`{re.escape(word)}(?![\w-])", text) is not None


def commands() -> dict[str, click.Command]:
    register_all(cli)
    return dict(sorted(cli.commands.items()))


def shown_options(command: click.Command) -> list[str]:
    """The option names `--help` shows for COMMAND (not the help option itself)."""
    found = []
    for param in command.params:
        if isinstance(param, click.Option) and not param.hidden:
            found += [o for o in (*param.opts, *param.secondary_opts) if o not in ("-h", "--help")]
    return found


@pytest.mark.parametrize("name", list(commands()))
def test_every_command_has_a_section_naming_each_of_its_options(name: str) -> None:
    text = section(f"eipkeeper {name}")
    missing = [o for o in shown_options(commands()[name]) if not names(text, o)]
    assert not missing, f"docs/reference.md, `eipkeeper {name}`: options not named: {missing}"


def test_every_command_is_in_the_summary_table() -> None:
    table = section("Commands")
    missing = [name for name in commands() if not names(table, name)]
    assert not missing, f"docs/reference.md, Commands table: {missing}"


def test_the_global_options_are_all_named() -> None:
    text = section("Global options")
    shown = [*shown_options(cli), "--help", "-h"]
    missing = [o for o in shown if not names(text, o)]
    assert not missing, f"docs/reference.md, Global options: {missing}"


Table = type[msgspec.Struct]


def _nested_model(annotation: object) -> Table | None:
    """The table (a msgspec Struct) inside ANNOTATION (`X | None`, `list[X]`), if there is one."""
    if isinstance(annotation, type) and issubclass(annotation, msgspec.Struct):
        return annotation
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is not None:
        for argument in typing.get_args(annotation):
            found = _nested_model(argument)
            if found is not None:
                return found
    return None


def keys(model: Table) -> list[tuple[str, object]]:
    """(key as the file writes it, type) of each key of MODEL's table."""
    return [
        (field.encode_name, field.type)
        for field in msgspec.structs.fields(model)
        if field.encode_name not in config_module.NOT_KEYS
    ]


def config_tables() -> Iterator[tuple[str, Table]]:
    """(dotted path, model) for the config file and every table in it: `""`, `dns`, `service`,
    `service.check`..."""
    pending: list[tuple[str, Table]] = [("", config_module.Config)]
    while pending:
        path, model = pending.pop(0)
        yield path, model
        for key, annotation in keys(model):
            nested = _nested_model(annotation)
            if nested is not None:
                pending.append((f"{path}.{key}" if path else key, nested))


def _table_heading(path: str) -> str:
    if not path:
        return "Top level"
    if path == "service":
        return "`[[service]]`"
    if "." not in path:
        return f"`[{path}]`"
    return f"`{path}`"


@pytest.mark.parametrize(("path", "model"), list(config_tables()))
def test_every_config_key_is_in_its_tables_section(path: str, model: Table) -> None:
    text = section(_table_heading(path))
    missing = [key for key, _ in keys(model) if not names(text, key)]
    assert not missing, f"docs/reference.md, {_table_heading(path)}: keys not named: {missing}"


def test_the_config_tables_are_found() -> None:
    paths = [path for path, _ in config_tables()]
    assert {"", "dns", "safety", "service", "service.check", "service.burst.metric"} <= set(paths)


def audit_kinds() -> set[str]:
    """The finding kinds audit makes: the first argument (or `kind=`) of each AuditFinding(...)
    anywhere in the package (audit.py, and the mail findings beside it)."""
    kinds = set()
    for source in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "AuditFinding":
                values = [*node.args[:1], *(k.value for k in node.keywords if k.arg == "kind")]
                kinds |= {v.value for v in values if isinstance(v, ast.Constant)}
    return {str(kind) for kind in kinds}


def test_every_audit_finding_is_listed() -> None:
    kinds = audit_kinds()
    assert "dangling-record" in kinds  # the reading of audit.py still works
    text = section("Audit findings")
    assert not [k for k in sorted(kinds) if not names(text, k)]


def test_every_metric_is_listed() -> None:
    exported = {family.name for family in Metrics().registry.collect()}
    assert "eipkeeper_rounds" in exported
    text = section("Metrics")
    assert not [m for m in sorted(exported) if not names(text, m)]


def test_the_safety_rules_and_exit_codes_are_all_there() -> None:
    rules = section("Safety rules")
    assert all(f"**S{n} " in rules for n in range(1, 9))
    codes = section("Exit codes")
    assert all(names(codes, str(code)) for code in range(5))


def test_the_help_points_at_the_reference_and_never_at_spec() -> None:
    ran = eipkeeper("--help", env={})
    assert ran.code == 0 and "docs/reference.md" in ran.stdout
    root = click.Context(cli, info_name="eipkeeper")
    for name, command in commands().items():
        shown = command.get_help(click.Context(command, info_name=name, parent=root))
        assert "SPEC" not in shown, f"`eipkeeper {name} --help` sends readers to SPEC.md"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "SPEC" not in readme and "docs/reference.md" in readme
