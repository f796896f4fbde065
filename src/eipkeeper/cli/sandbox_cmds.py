"""`eipkeeper sandbox`: the embedded cloud of SPEC.md section 7, in the foreground until Ctrl-C."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

import click

from eipkeeper.cli.app import App
from eipkeeper.errors import UsageError

DEFAULT_CONFIG_OUT = Path("eipkeeper-sandbox.toml")


@contextlib.contextmanager
def _until_signalled() -> Iterator[threading.Event]:
    """An event set by SIGTERM (and SIGINT); the previous handlers come back on exit."""
    stop = threading.Event()

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield stop
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


@click.command("sandbox")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=5000,
    show_default=True,
    help="Port of the AWS endpoint on 127.0.0.1 (0 picks a free one).",
)
@click.option(
    "--config-out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_CONFIG_OUT,
    show_default=True,
    help="Where to write the eipkeeper config for the sample fleet.",
)
@click.option(
    "--association-delay",
    type=click.FloatRange(min=0),
    default=2.0,
    show_default=True,
    help="Seconds before a new EIP association reaches the data plane (EC2 takes a while).",
)
@click.option(
    "--smtp-port",
    type=click.IntRange(1, 65535),
    default=2525,
    show_default=True,
    help="Port on which every instance answers SMTP on its public address.",
)
@click.option("--empty", is_flag=True, help="No sample fleet: only the events queue.")
@click.option(
    "--bind", "use_bind", is_flag=True, help="Serve the zone from a local BIND instead of Route 53."
)
def sandbox(
    *,
    port: int,
    config_out: Path,
    association_delay: float,
    smtp_port: int,
    empty: bool,
    use_bind: bool,
) -> None:
    """Run a local AWS (moto, made to behave like EC2 for addresses) with a sample fleet.

    Every running instance answers SMTP on its public address (127.0.0.0/8) with a greeting
    that names it. Writes a config for the fleet, prints the lines to paste into a shell, and
    runs until Ctrl-C.
    """
    try:
        from eipkeeper.sandbox import Sandbox
    except ImportError as exc:  # moto is an optional extra
        raise UsageError(
            f"the sandbox needs moto ({exc.name} is missing): pip install 'eipkeeper[sandbox]'"
        ) from None

    app = click.get_current_context().find_object(App)
    region = (app.region if app is not None else None) or "us-east-1"
    with contextlib.ExitStack() as stack:
        dns_table = _start_bind(stack) if use_bind else None
        cloud = Sandbox(
            port=port,
            association_delay=association_delay,
            smtp_port=smtp_port,
            empty=empty,
            region=region,
        )
        stop = stack.enter_context(_until_signalled())
        stack.enter_context(cloud)
        cloud.write_config(config_out, dns=dns_table)
        click.echo(f"# eipkeeper sandbox at {cloud.endpoint}; paste these lines into a shell:")
        for line in cloud.export_lines():
            click.echo(line)
        click.echo(f"# EC2 state-change events queue: {cloud.events_queue_url}")
        click.echo(f"# every running instance answers SMTP on its public address, port {smtp_port}")
        click.echo(f"# config written to {cloud.config_path}; Ctrl-C to stop", err=True)
        while not stop.wait(0.5):  # a timed wait: signal handlers run between the waits
            pass
        click.echo("# sandbox stopped", err=True)


def _start_bind(stack: contextlib.ExitStack) -> str:
    """Start a local BIND for the sample zone; returns the config's `[dns]` table for it."""
    try:
        from eipkeeper.sandbox.bind import LocalBind
    except ImportError:
        raise UsageError("--bind is not available yet") from None
    from eipkeeper.sandbox.fleet import ZONE

    server = stack.enter_context(LocalBind(ZONE))
    return server.config_toml()


COMMANDS = [sandbox]
