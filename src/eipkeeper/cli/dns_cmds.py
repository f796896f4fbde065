"""`records`: the managed and relevant DNS records, and what each value points at."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from eipkeeper.cli.app import App, pass_app
from eipkeeper.cli.render import Column, render_rows
from eipkeeper.errors import UsageError

if TYPE_CHECKING:  # imported in the command: `records --help` does not pay for dnspython
    from eipkeeper.dns.inventory import AccountAddresses
    from eipkeeper.dns.ownership import OwnedZone

RECORD_COLUMNS = [
    Column("name"),
    Column("type"),
    Column("ttl", justify="right"),
    Column("values"),
    Column("owner"),
    Column("points_at"),
]


def read_zone(app: App) -> OwnedZone:
    registry = app.registry
    if registry is None:
        raise UsageError(f"{app.config_path} has no [dns] table; there are no records to list")
    return registry.read()


def read_account(app: App) -> AccountAddresses:
    """Every EIP and every live instance of the account: one call each (instances paginated).
    Not only the services' instances: a record may point at any address the account holds."""
    from eipkeeper.dns.inventory import AccountAddresses

    return AccountAddresses.of(app.ec2.addresses(), app.ec2.instances())


@click.command("records")
@pass_app
def records(app: App) -> None:
    """DNS records this owner manages, and those at its names or on the account's addresses.

    OWNER says who manages the values of the row: a record shared by several owners is one row
    per owner, and `-` is a value nobody claims (one added by hand or by another tool), which
    eipkeeper keeps and never changes. POINTS AT says, for each value, what it is in the
    account: eip:ALLOCATION_ID, instance:INSTANCE_ID (a running instance's dynamic public IP)
    or unknown; for an MX value, what its target's address is.
    """
    from eipkeeper.dns.inventory import inventory

    zone = read_zone(app)
    rows = inventory(app.config, zone, read_account(app))
    rrsets = {(r.name, r.type) for r in rows}
    managed = {(r.name, r.type) for r in rows if app.config.owner in r.owner.split(",")}
    render_rows(
        [r.as_dict() for r in rows],
        RECORD_COLUMNS,
        app.output,
        footer=f"{len(rrsets)} records in {zone.zone.name}, {len(managed)} managed by "
        f"{app.config.owner}",
    )


COMMANDS = [records]
