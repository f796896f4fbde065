"""`eipkeeper sandbox`: the embedded cloud of SPEC.md section 7, in the foreground until Ctrl-C."""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

import click

from eipkeeper.cli.app import App
from eipkeeper.cli.params import DURATION_RANGE, GRACE
from eipkeeper.environment import SANDBOX_MAIL_ENV_VAR as MAIL_ENV_VAR
from eipkeeper.errors import UsageError

if TYPE_CHECKING:  # the sandbox needs moto, an optional extra: import it only to run it
    from eipkeeper.sandbox.bind import LocalBind
    from eipkeeper.sandbox.listeners import Unanswered
    from eipkeeper.sandbox.localdns import LocalServer
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
    type=GRACE,
    default="2s",
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
@click.option(
    "--unanswered",
    type=click.Choice(["drop", "refuse"]),
    default="drop",
    show_default=True,
    help="What a connection to an address nobody answers gets: dropped (a connect timeout, "
    "as on EC2) or refused at once (quick tests).",
)
@click.option(
    "--boot-delay",
    type=GRACE,
    default="20s",
    show_default=True,
    help="Seconds from a launch or start until an instance answers (the sample fleet has booted).",
)
@click.option(
    "--reuse-after",
    type=GRACE,
    default="2s",
    show_default=True,
    help="Seconds after which another customer (the stranger) takes an address the account "
    "gave up, and answers it.",
)
@click.option(
    "--queue-port",
    type=click.IntRange(1, 65535),
    default=8025,
    show_default=True,
    help="Port on which every instance answers GET /queue-empty (200 empty, 503 queued).",
)
@click.option(
    "--queue-drain-rate",
    type=click.FloatRange(min=0, min_open=True),
    default=10.0,
    show_default=True,
    help="Messages a second an instance's mail queue empties at (tag sandbox:queue=N fills it).",
)
@click.option(
    "--mail-port",
    type=click.IntRange(0, 65535),
    default=0,
    show_default=True,
    help="Port on 127.0.0.1 of the mailboxes' JSON endpoint (0 picks a free one).",
)
@click.option(
    "--listed",
    type=click.IntRange(min=0),
    default=3,
    show_default=True,
    help="The blocklist dnsbl.example.test lists every Nth address the account allocates, as "
    "fresh EC2 addresses can be (0: none). Tag an EIP sandbox:dnsbl=listed to list it by hand.",
)
@click.option(
    "--dnsbl-port",
    type=click.IntRange(0, 65535),
    default=0,
    show_default=True,
    help="Port on 127.0.0.1 (UDP) of the blocklist's DNS responder (0 picks a free one).",
)
@click.option(
    "--consistency-lag",
    type=DURATION_RANGE,
    default="0-3s",
    show_default=True,
    help="Describe calls show each write only after a lag drawn from this range, as EC2's "
    "(0: at once).",
)
@click.option(
    "--no-throttle",
    is_flag=True,
    help="No token buckets: never answer RequestLimitExceeded (AWS's sizes otherwise).",
)
@click.option("--empty", is_flag=True, help="No sample fleet: only the events queue.")
@click.option(
    "--dns",
    "dns_server",
    type=click.Choice(["bind", "knot", "pdns"]),
    default=None,
    help="Serve the zone from a local BIND 9, Knot DNS or PowerDNS (TSIG, loopback) instead "
    "of Route 53.",
)
@click.option("--bind", "use_bind", is_flag=True, help="The same as --dns bind.")
def sandbox(
    *,
    port: int,
    config_out: Path,
    association_delay: float,
    smtp_port: int,
    unanswered: Unanswered,
    boot_delay: float,
    reuse_after: float,
    queue_port: int,
    queue_drain_rate: float,
    mail_port: int,
    listed: int,
    dnsbl_port: int,
    consistency_lag: tuple[float, float],
    no_throttle: bool,
    empty: bool,
    dns_server: str | None,
    use_bind: bool,
) -> None:
    """Run a local AWS (moto, made to behave like EC2 for addresses) with a sample fleet.

    Every running instance answers SMTP on its public address (127.0.0.0/8) with a greeting
    that names it and keeps the mail it accepts; an address nobody answers drops connections;
    a stranger takes every address the account gives up. Writes a config for the fleet,
    prints the lines to paste into a shell, and runs until Ctrl-C. What the data plane does
    (an address changing hands, an instance booting, the stranger, mail counts) is logged on
    stderr.

    The API answers as EC2's does: Describe calls lag each write (`--consistency-lag`),
    RunInstances honours ClientToken, and AWS's token buckets throttle (`--no-throttle`).
    """
    try:
        from eipkeeper.sandbox import Sandbox
    except ImportError as exc:  # moto is an optional extra
        raise UsageError(
            f"the sandbox needs moto ({exc.name} is missing): pip install 'eipkeeper[sandbox]'"
        ) from None

    app = click.get_current_context().find_object(App)
    region = (app.region if app is not None else None) or "us-east-1"
    _log_the_data_plane()
    with contextlib.ExitStack() as stack:
        if use_bind and dns_server not in (None, "bind"):
            raise UsageError(f"--bind and --dns {dns_server} name two servers: give one")
        kind = "bind" if use_bind else dns_server
        bind = _start_dns(stack, kind) if kind else None
        cloud = Sandbox(
            port=port,
            association_delay=association_delay,
            smtp_port=smtp_port,
            empty=empty,
            region=region,
            boot_delay=boot_delay,
            unanswered=unanswered,
            reuse_after=reuse_after,
            queue_port=queue_port,
            queue_drain_rate=queue_drain_rate,
            mail_port=mail_port,
            listed=listed,
            dnsbl_port=dnsbl_port,
            forward_dns=((bind.host, bind.port),) if bind is not None else (),
            consistency_lag=consistency_lag,
            throttle=not no_throttle,
        )
        stop = stack.enter_context(_until_signalled())
        stack.enter_context(cloud)
        cloud.write_config(config_out, dns=bind.config_toml() if bind is not None else None)
        click.echo(f"# eipkeeper sandbox at {cloud.endpoint}; paste these lines into a shell:")
        for line in cloud.export_lines():
            click.echo(line)
        if bind is not None:
            click.echo(
                f"# {_NAMES[kind or 'bind']} serves {bind.zone} on {bind.host} port {bind.port} "
                f"(TCP and UDP), TSIG key file {bind.key_file}"
            )
        click.echo(
            f"# every running instance answers SMTP on its public address, port {smtp_port}, "
            f"and GET /queue-empty on port {queue_port}"
        )
        click.echo(
            f"# mail accepted, per instance and the stranger's: curl {cloud.mail_url} "
            f"(${MAIL_ENV_VAR})"
        )
        every = f"every {listed}th address allocated" if listed else "no address"
        click.echo(
            f"# blocklist dnsbl.example.test on {cloud.dnsbl_address} (UDP) lists {every}; "
            "tag an EIP sandbox:dnsbl=listed to list it by hand"
        )
        click.echo(f"# EC2 state-change events queue: {cloud.events_queue_url}")
        click.echo(f"# config written to {cloud.config_path}; Ctrl-C to stop", err=True)
        while not stop.wait(0.5):  # a timed wait: signal handlers run between the waits
            pass
        click.echo("# sandbox stopped", err=True)


def _log_the_data_plane() -> None:
    """The data plane's events (info) are what a sandbox user watches: show them without -v."""
    logger = logging.getLogger("eipkeeper.sandbox")
    if logger.getEffectiveLevel() > logging.INFO:
        logger.setLevel(logging.INFO)


_NAMES = {"bind": "BIND", "knot": "Knot DNS", "pdns": "PowerDNS"}


def _start_dns(stack: contextlib.ExitStack, kind: str) -> LocalServer | LocalBind:
    """Start a local primary of KIND for the sample zone."""
    from eipkeeper.sandbox.dnsservers import local_dns
    from eipkeeper.sandbox.fleet import ZONE

    server = local_dns("knot" if kind == "knot" else "pdns" if kind == "pdns" else "bind", ZONE)
    server.start()
    stack.callback(server.stop)
    return server


COMMANDS = [sandbox]
