"""Entry point: global options, commands loaded on demand, and the mapping of errors to exit codes.

`eipkeeper --help` and each command start fast because nothing heavy is imported here: a
command's module (and with it boto3, msgspec, rich) is imported only when that command runs.
The table below names each command's module and its one-line summary, so the group's help can
be printed without importing any of them; tests/cli/test_startup.py keeps it equal to the
commands themselves.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any, NamedTuple

import click

from eipkeeper import __version__
from eipkeeper.cli.app import global_options
from eipkeeper.errors import (
    ChangesPending,
    ConfigError,
    EipkeeperError,
    Interrupted,
    SafetyRefusal,
)


class Entry(NamedTuple):
    module: str
    summary: str
    """The first paragraph of the command's docstring, as `--help` shows it."""


COMMAND_TABLE: dict[str, Entry] = {
    "addresses": Entry(
        "address_cmds",
        "Every Elastic IP, its binding, its instance, the DNS names on it, its status and cost.",
    ),
    "allocate": Entry(
        "address_cmds",
        "Allocate an Elastic IP, tagged with owner, service and hostname in the same call.",
    ),
    "apply": Entry(
        "controller_cmds",
        "Make the fleet and the zone agree with the config, in order, verifying each step.",
    ),
    "associate": Entry(
        "address_cmds",
        "Associate a free ADDRESS with INSTANCE (never takes it from another: that is `move`).",
    ),
    "audit": Entry(
        "audit_cmds",
        "Dangling records, SPF entries and MX hosts on addresses the account does not hold, "
        "idle addresses and their monthly cost, and more (every finding: docs/reference.md).",
    ),
    "check-config": Entry(
        "config_cmds",
        "Validate the config; every error names the file, line and key (exit 2).",
    ),
    "demo": Entry(
        "demo_cmds",
        "The whole story on an embedded sandbox, step by step; exit 0 when every step held.",
    ),
    "disassociate": Entry(
        "address_cmds",
        "Take ADDRESS off its instance; it stays allocated (and keeps costing).",
    ),
    "drain": Entry(
        "drain_cmds",
        "Take INSTANCE out of service in order: DNS first, confirmed and waited out, then act.",
    ),
    "iam-policy": Entry(
        "config_cmds",
        "Print the least-privilege IAM policy (JSON) for the features the config uses.",
    ),
    "instances": Entry(
        "address_cmds",
        "Instances of the configured services, their public IP and whether it is elastic.",
    ),
    "move": Entry(
        "move_cmds",
        "Move ADDRESS to a healthy INSTANCE in one call; report what a client saw meanwhile.",
    ),
    "plan": Entry(
        "controller_cmds",
        "What `apply` would do, grouped by service, with a summary line and a checksum.",
    ),
    "records": Entry(
        "dns_cmds",
        "DNS records this owner manages, and those at its names or on the account's addresses.",
    ),
    "release": Entry(
        "address_cmds",
        "Give ADDRESS back to AWS: refused while associated, in DNS (S2) or in quarantine (S3).",
    ),
    "replace": Entry(
        "replace_cmds",
        "Upgrade INSTANCE with no mail deferred: launch a successor, wait for its check, let it "
        "take mail on a reserved MX address that MX already lists, move INSTANCE's EIP onto it, "
        "give the reserved address back and drain INSTANCE (it keeps running). Without MX, a "
        "plain move with the gap reported. Killed at any point, the same command, naming "
        "either instance, goes on where it stopped.",
    ),
    "run": Entry(
        "controller_cmds",
        "The controller: reconcile every interval and on EC2 events; with a lease, one acts.",
    ),
    "sandbox": Entry(
        "sandbox_cmds",
        "Run a local AWS (moto, made to behave like EC2 for addresses) with a sample fleet.",
    ),
}


class LazyGroup(click.Group):
    """A group that imports a command's module only when the command is used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(COMMAND_TABLE) | set(self.commands))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands:
            entry = COMMAND_TABLE.get(cmd_name)
            if entry is not None:
                import importlib

                module = importlib.import_module(f"eipkeeper.cli.{entry.module}")
                for command in module.COMMANDS:
                    self.add_command(command)
            else:
                register_all(self)  # a command the table does not know yet: load them all
        return self.commands.get(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = []
        for name in names:
            # A stand-in with the summary as its help shortens it exactly as the real one.
            command = self.commands.get(name) or click.Command(
                name, help=COMMAND_TABLE[name].summary
            )
            rows.append((name, command.get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def register_all(group: click.Group) -> None:
    from eipkeeper.cli import commands

    commands.register(group)


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@global_options
@click.version_option(version=__version__, prog_name="eipkeeper")
@click.pass_context
def cli(ctx: click.Context, /, **options: Any) -> None:
    """Stable names and addresses for an elastic EC2 fleet.

    eipkeeper manages Elastic IPs and DNS records (RFC 2136 or Route 53) for EC2 instances,
    above all mail front-ends, without ever letting a record point at an address the account
    no longer holds. Try it without an AWS account: `eipkeeper demo`, or `eipkeeper sandbox`.

    Every command, option, config key, exit code and safety rule: docs/reference.md in
    eipkeeper's source (`eipkeeper COMMAND --help` for one command).
    """
    from eipkeeper.cli.app import App

    ctx.obj = App.from_options(**options)


def run(argv: Sequence[str]) -> int:
    """Run the command line ARGV; print any failure as one line; return the exit code."""
    from eipkeeper.cli.pipes import QuietWhenClosed

    stdout = sys.stdout
    sys.stdout = QuietWhenClosed(stdout)
    try:
        return _run(list(argv))
    finally:
        sys.stdout = stdout


def _run(args: list[str]) -> int:
    verbose = any(a in ("-v", "--verbose") or a.startswith("-vv") for a in args)
    try:
        cli.main(args=args, prog_name="eipkeeper", standalone_mode=False)
    except EipkeeperError as exc:
        return _report(exc, verbose=verbose)
    except click.exceptions.Abort as exc:
        if isinstance(exc.__cause__, KeyboardInterrupt):
            # Ctrl-C outside any step (a question, a wait between rounds): nothing under way.
            click.echo("eipkeeper: interrupted", err=True)
            return 130
        click.echo("eipkeeper: aborted", err=True)
        return 1
    except click.exceptions.NoArgsIsHelpError as exc:
        exc.show()  # a bare `eipkeeper`: the help, as click prints it
        return 2
    except click.UsageError as exc:
        where = exc.ctx.command_path if exc.ctx is not None else "eipkeeper"
        click.echo(f"eipkeeper: {exc.format_message()} (see `{where} --help`)", err=True)
        return 2
    except click.ClickException as exc:
        click.echo(f"eipkeeper: {exc.format_message()}", err=True)
        return 2 if exc.exit_code != 0 else 0
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except KeyboardInterrupt:
        click.echo("eipkeeper: interrupted", err=True)
        return 130
    except BrokenPipeError:
        return _broken_pipe()
    except Exception as exc:
        from eipkeeper.cli.failures import translate_foreign

        known = translate_foreign(exc)
        if known is not None:
            return _report(known, verbose=verbose, cause=exc)
        if verbose:
            raise
        # A bug of ours: still one line, the traceback only with -v.
        click.echo(
            f"eipkeeper: internal error: {type(exc).__name__}: {exc} (run with -v for details)",
            err=True,
        )
        return 1
    return 0


EXIT_CODES: tuple[tuple[type[EipkeeperError], int], ...] = (
    (Interrupted, 130),
    (SafetyRefusal, 4),
    (ChangesPending, 3),
    (ConfigError, 2),  # UsageError too
    (EipkeeperError, 1),
)
"""SPEC.md section 4, the one table: the first class that matches gives the code."""


def exit_code(error: EipkeeperError) -> int:
    return next(code for kind, code in EXIT_CODES if isinstance(error, kind))


def _report(error: EipkeeperError, *, verbose: bool, cause: BaseException | None = None) -> int:
    if verbose:
        import traceback

        traceback.print_exception(cause or error)
    if error.message:
        for line in error.message.splitlines():
            click.echo(f"eipkeeper: {line}", err=True)
    return exit_code(error)


def _broken_pipe() -> int:
    # `eipkeeper addresses | head -1`: the reader left; say nothing, as `cat` would.
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return 0


def main() -> None:
    sys.exit(run(sys.argv[1:]))
