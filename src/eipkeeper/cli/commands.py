"""The list of command modules. Each defines click commands; this adds them to the group."""

from __future__ import annotations

import click


def register(group: click.Group) -> None:
    from eipkeeper.cli import (
        address_cmds,
        audit_cmds,
        config_cmds,
        controller_cmds,
        demo_cmds,
        dns_cmds,
        drain_cmds,
        move_cmds,
        replace_cmds,
        sandbox_cmds,
    )

    for module in (
        address_cmds,
        move_cmds,
        replace_cmds,
        drain_cmds,
        controller_cmds,
        config_cmds,
        sandbox_cmds,
        demo_cmds,
        dns_cmds,
        audit_cmds,
    ):
        for command in module.COMMANDS:
            group.add_command(command)
