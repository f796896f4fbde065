"""Entry point: global options, lazy config, and the mapping of errors to exit codes."""

from __future__ import annotations

import sys

import click

from eipkeeper.cli.app import App, global_options
from eipkeeper.errors import EipkeeperError


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@global_options
@click.version_option(package_name="eipkeeper")
@click.pass_context
def cli(ctx: click.Context, /, **options: object) -> None:
    """Stable names and addresses for an elastic EC2 fleet.

    eipkeeper manages Elastic IPs and DNS records (RFC 2136 or Route 53) for EC2 instances,
    above all mail front-ends, without ever letting a record point at an address the account
    no longer holds. Try it without an AWS account: `eipkeeper demo`, or `eipkeeper sandbox`.

    Every command, option, config key, exit code and safety rule: docs/reference.md in
    eipkeeper's source (`eipkeeper COMMAND --help` for one command).
    """
    ctx.obj = App.from_options(**options)  # type: ignore[arg-type]


def _register() -> None:
    # Each command module adds its commands to the group; imports stay one-way (cli -> core).
    from eipkeeper.cli import commands

    commands.register(cli)


def main() -> None:
    _register()
    verbose = "-v" in sys.argv or "--verbose" in sys.argv or "-vv" in sys.argv
    try:
        cli.main(standalone_mode=False)
    except EipkeeperError as exc:
        if verbose:
            import traceback

            traceback.print_exc()
        for line in exc.message.splitlines() or [exc.message]:
            click.echo(f"eipkeeper: {line}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("eipkeeper: aborted", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2 if exc.exit_code != 0 else 0)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("eipkeeper: interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # a bug of ours: still one line, the traceback only with -v
        if verbose:
            raise
        click.echo(
            f"eipkeeper: internal error: {type(exc).__name__}: {exc} (run with -v for details)",
            err=True,
        )
        sys.exit(1)
