"""`eipkeeper demo`."""

from __future__ import annotations

import sys

import click

from eipkeeper.cli.params import GRACE


@click.command("demo")
@click.option(
    "--association-delay",
    type=GRACE,
    default="1s",
    show_default=True,
    help="Seconds before a new association reaches the sandbox's data plane.",
)
def demo(association_delay: float) -> None:
    """The whole story on an embedded sandbox, step by step; exit 0 when every step held."""
    from eipkeeper.demo.story import run_demo

    sys.exit(run_demo(association_delay=association_delay))


COMMANDS = [demo]
