"""`move ADDRESS --to INSTANCE`: the deliberate move of an EIP, with the switch measured."""

from __future__ import annotations

import json

import click

from eipkeeper import moving
from eipkeeper.cli.address_cmds import fleet_for_instance
from eipkeeper.cli.app import App, pass_app
from eipkeeper.cli.progress import progress
from eipkeeper.cli.render import cell, render_object
from eipkeeper.errors import NotFoundError, OperationError
from eipkeeper.fleet import FleetView
from eipkeeper.health.tls import TlsContexts


@click.command("move")
@click.argument("address")
@click.option("--to", "instance", required=True, help="The instance (id or Name) to move it to.")
@click.option("--yes", is_flag=True, help="Do not ask before taking away a dynamic public IP.")
@click.option("--timeout", default=300.0, show_default=True, help="Seconds to wait for the switch.")
@pass_app
def move(app: App, address: str, instance: str, yes: bool, timeout: float) -> None:
    """Move ADDRESS to a healthy INSTANCE in one call; report what a client saw meanwhile."""
    view = fleet_for_instance(app, instance)
    eip = view.resolve_address(address)
    if eip.instance_id and view.instance_by_id(eip.instance_id) is None:
        # The holder too, so the report can name it (one more call).
        try:
            holder = app.ec2.instances(instance_ids=[eip.instance_id])
        except NotFoundError:
            holder = []  # gone meanwhile: the report names it by id
        view = FleetView(addresses=view.addresses, instances=[*view.instances, *holder])
    preview = moving.preview_move(
        config=app.config,
        view=view,
        address=eip,
        instance=view.resolve_instance(instance),
        dns=app.dns_references(),
    )
    target = preview.instance
    if preview.already:
        render_object(
            {
                "public_ip": eip.public_ip,
                "allocation_id": eip.allocation_id,
                "new_instance_id": target.instance_id,
                "changed": False,
            },
            app.output,
            text=f"{eip.public_ip} is already on {target.label}; nothing to do",
        )
        return
    tls = TlsContexts(relative=app.config.relative)
    moving.check_target(preview, tls=tls)
    if preview.check is None:
        click.echo(
            f"warning: {target.label}'s service has no check: its health cannot be confirmed "
            "and the switch will not be measured",
            err=True,
        )
    if preview.warning:
        click.echo(f"warning: {preview.warning}", err=True)
        app.confirm(f"Take {preview.lost_ip} away from {target.label}?", yes=yes)
    with progress(f"moving {eip.public_ip} to {target.instance_id}", timeout) as bar:
        report = moving.move(
            ec2=app.ec2, preview=preview, tls=tls, timeout=timeout, on_tick=bar.tick
        )
    data = report.to_data()
    if app.output == "json":
        click.echo(json.dumps(data, indent=2))
    elif app.output == "tsv":
        click.echo("\t".join(cell(v) for v in data.values()))
    else:
        click.echo("\n".join(report.lines()))
    if report.timeline is not None and not report.timeline.steady:
        raise OperationError(
            f"{eip.public_ip} is on {target.label} in EC2 but did not answer steadily from it "
            f"within {timeout:g}s"
        )


COMMANDS = [move]
