"""Start-up stays fast without a wall-clock assertion: `eipkeeper --help` and the commands that
need no AWS import neither boto3, botocore, rich nor msgspec (bench/cli_start.py measures the
time), and the table that lets the group's help skip the command modules says what they say."""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest

from eipkeeper import __version__
from eipkeeper.cli import commands
from eipkeeper.cli.main import COMMAND_TABLE
from tests.support.cli import eipkeeper

HEAVY = ("boto3", "botocore", "rich", "msgspec", "moto", "psutil", "dns", "prometheus_client")
PROBE = """
import json, os, sys
from eipkeeper.cli.main import run
code = run(sys.argv[1:])
heavy = sorted({name.split(".")[0] for name in sys.modules} & set(os.environ["HEAVY"].split()))
print(json.dumps({"code": code, "heavy": heavy}), file=sys.stderr)
"""


def imported(*args: str, env: dict[str, str] | None = None) -> tuple[int, list[str]]:
    """Run `eipkeeper ARGS` in a fresh interpreter; its exit code and the heavy packages loaded."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**(env or os.environ), "HEAVY": " ".join(HEAVY)},
    )
    report = json.loads(done.stderr.strip().splitlines()[-1])
    return int(report["code"]), list(report["heavy"])


@pytest.mark.parametrize("args", [("--help",), ("-h",), ("--version",)])
def test_help_and_version_import_nothing_heavy(args: tuple[str, ...]) -> None:
    code, heavy = imported(*args)
    assert code == 0
    assert heavy == []


@pytest.mark.parametrize("command", sorted(COMMAND_TABLE))
def test_each_commands_help_imports_nothing_heavy(command: str) -> None:
    """A command's module holds its options and imports the engine, boto3 and the rest in the
    command's body: `eipkeeper COMMAND --help` is as quick as `eipkeeper --help`."""
    code, heavy = imported(command, "--help")
    assert code == 0
    assert heavy == []


def test_check_config_offline_needs_no_aws_nor_rich(tmp_path: Path) -> None:
    config = tmp_path / "eipkeeper.toml"
    config.write_text('owner = "o"\n[dns]\nprovider = "route53"\nzone = "example.test"\n')
    import os

    code, heavy = imported("--config", str(config), "check-config", "--offline", env={**os.environ})
    assert code == 0
    assert heavy == ["msgspec"], "the config's models, and nothing for AWS or tables"


def test_the_command_table_says_what_the_commands_say() -> None:
    group = click.Group()
    commands.register(group)
    real = {
        name: (command.callback.__module__.rsplit(".", 1)[-1], _summary(command))
        for name, command in group.commands.items()
    }
    table = {name: (entry.module, entry.summary) for name, entry in COMMAND_TABLE.items()}
    assert table == real


def _summary(command: click.Command) -> str:
    return " ".join((command.help or "").split("\n\n")[0].split())


def test_the_group_help_is_the_same_with_and_without_the_modules() -> None:
    lazy = eipkeeper("--help", env={})
    assert lazy.code == 0, lazy.stderr
    eager = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from eipkeeper.cli.main import cli, register_all, run; "
            "register_all(cli); sys.exit(run(['--help']))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "addresses" in lazy.stdout and "check-config" in lazy.stdout
    assert lazy.stdout == eager


def test_version_is_the_package_version() -> None:
    assert __version__ == importlib.metadata.version("eipkeeper")
