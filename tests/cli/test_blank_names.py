"""Blank is never a name (SPEC S10): every command and option that takes an ADDRESS, an
INSTANCE, a checksum or a `--to` refuses an empty or blank value as a usage error (exit 2),
before anything is read. An unset shell variable (`release "$ADDR" --yes`) released an idle
address whose hostname binding was empty, and `apply --checksum ''` skipped the review gate.
"""

from __future__ import annotations

import click
import pytest

from eipkeeper.cli.main import cli, register_all
from eipkeeper.errors import UsageError
from eipkeeper.fleet import FleetView
from eipkeeper.model import Address
from tests.support.cli import here, without_aws_settings

NAMING = {"address", "instance", "checksum"}
"""The parameters whose value names something: blank must be refused."""


def _naming_params() -> list[tuple[str, click.Command, click.Parameter]]:
    register_all(cli)
    found = []
    for name, command in sorted(cli.commands.items()):
        for param in command.params:
            if param.name in NAMING or "--to" in getattr(param, "opts", []):
                found.append((name, command, param))
    return found


PARAMS = _naming_params()


def _line(command: click.Command, target: click.Parameter, value: str) -> list[str]:
    """A command line with VALUE for TARGET and a plausible value for every other argument."""
    args = [command.name or ""]
    for param in command.params:
        if isinstance(param, click.Argument):
            args.append(value if param is target else "x")
        elif param is target:
            args += [param.opts[0], value]
        elif param.required:
            args += [param.opts[0], "x"]
    return args


def test_the_walk_finds_every_naming_parameter() -> None:
    names = {(name, p.name) for name, _, p in PARAMS}
    for expected in [
        ("associate", "address"),
        ("associate", "instance"),
        ("disassociate", "address"),
        ("release", "address"),
        ("move", "address"),
        ("move", "instance"),
        ("drain", "instance"),
        ("replace", "instance"),
        ("apply", "checksum"),
    ]:
        assert expected in names


@pytest.mark.parametrize("value", ["", "   ", "\t"], ids=["empty", "spaces", "tab"])
@pytest.mark.parametrize(
    ("name", "command", "param"), PARAMS, ids=[f"{n}-{p.name}" for n, _, p in PARAMS]
)
def test_blank_is_a_usage_error(
    name: str,
    command: click.Command,
    param: click.Parameter,
    value: str,
) -> None:
    del name
    # No config and no cloud: the refusal must come from the command line itself.
    env: dict[str, str | None] = {"EIPKEEPER_CONFIG": "/nonexistent/eipkeeper.toml"}
    ran = here(*_line(command, param, value), env=without_aws_settings(env))
    assert ran.code == 2, ran.stderr
    assert "is empty; name one" in ran.stderr, ran.stderr
    assert ran.stderr.count("\n") == 1, ran.stderr


def test_the_fleet_never_matches_blank() -> None:
    unbound = Address(public_ip="127.1.0.1", allocation_id="eipalloc-1")
    fleet = FleetView(addresses=[unbound], instances=[])
    for text in ("", "  ", "."):
        with pytest.raises(UsageError, match="ADDRESS is empty"):
            fleet.resolve_address(text)
    with pytest.raises(UsageError, match="INSTANCE is empty"):
        fleet.resolve_instance(" ")
