"""The address commands: addresses, instances, allocate, associate, disassociate, release."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import click

from eipkeeper.cli.app import App, pass_app
from eipkeeper.cli.params import ADDRESS, DURATION, INSTANCE
from eipkeeper.cli.progress import progress
from eipkeeper.cli.render import Column, render_object, render_rows
from eipkeeper.controller.intents import AssociateAddress, DisassociateAddress, ReleaseAddress
from eipkeeper.errors import OperationError, UsageError
from eipkeeper.model import TAG_HOSTNAME, TAG_OWNER, TAG_SERVICE, Address, Instance

if TYPE_CHECKING:
    from eipkeeper.allocation import Try
    from eipkeeper.config import ReputationConfig
    from eipkeeper.controller.observation import Observation
    from eipkeeper.controller.plan import Plan
    from eipkeeper.controller.reading import ListingKind

ADDRESS_COLUMNS = [
    Column("public_ip"),
    Column("allocation_id"),
    Column("service"),
    Column("hostname"),
    Column("instance_id"),
    Column("instance_state"),
    Column("dns_names"),
    Column("status"),
    Column("monthly_cost", justify="right"),
    Column("ptr"),
]
INSTANCE_COLUMNS = [
    Column("instance_id"),
    Column("name"),
    Column("state"),
    Column("type"),
    Column("service"),
    Column("public_ip"),
    Column("ip_kind"),
    Column("dns_names"),
    Column("health"),
]


def _survey(app: App, listing: ListingKind) -> Observation:
    """The engine's read for a listing (`Engine.survey`): the world once, no plan."""
    from eipkeeper.cli.plans import make_engine
    from eipkeeper.controller.observation import RunningIsHealthy

    # `addresses` probes nothing; `instances` takes one round of the services' checks.
    health = RunningIsHealthy() if listing == "addresses" else None
    return make_engine(app, health=health).survey(listing)


@click.command("addresses")
@pass_app
def addresses(app: App) -> None:
    """Every Elastic IP, its binding, its instance, the DNS names on it, its status and cost."""
    from eipkeeper.fleet import FleetView, monthly_cost

    seen = _survey(app, "addresses")
    view = FleetView(addresses=list(seen.addresses), instances=list(seen.instances))
    cost = monthly_cost(app.config.cost.ipv4_hourly)
    rows = []
    for address in view.addresses:
        instance = view.instance_by_id(address.instance_id)
        rows.append(
            {
                "public_ip": address.public_ip,
                "allocation_id": address.allocation_id,
                "service": address.service,
                "hostname": address.hostname,
                "instance_id": address.instance_id,
                "instance_state": instance.state if instance else "",
                "dns_names": seen.references(address.public_ip),
                "status": view.address_status(address),
                "monthly_cost": cost,
                "ptr": seen.reverse.get(address.allocation_id, ""),
            }
        )
    total = cost * len(rows)
    render_rows(
        rows,
        ADDRESS_COLUMNS,
        app.output,
        footer=f"{len(rows)} addresses, ${total:.2f} a month at ${app.config.cost.ipv4_hourly}/h",
    )


@click.command("instances")
@pass_app
def instances(app: App) -> None:
    """Instances of the configured services, their public IP and whether it is elastic."""
    from eipkeeper.fleet import FleetView, health_label, last_association, service_of
    from eipkeeper.health.runner import instance_target

    config = app.config
    if not config.services:
        raise UsageError(f"{app.config_path} configures no [[service]]; nothing to list")
    seen = _survey(app, "instances")
    view = FleetView(addresses=list(seen.addresses), instances=list(seen.instances))

    def health(instance: Instance) -> str:
        member = service_of(config, instance)
        return health_label(
            instance,
            checked=instance_target(config, instance) is not None,
            ok=seen.probe_ok.get(instance.instance_id),
            detail=seen.health_detail.get(instance.instance_id, ""),
            associated_at=last_association(view.addresses, instance),
            switch_grace=member.check.switch_grace if member and member.check else 0.0,
            now=seen.now,
        )

    rows = []
    for instance in sorted(view.instances, key=lambda i: (i.name, i.instance_id)):
        member = service_of(config, instance)
        kind = "none"
        if instance.public_ip:
            kind = "elastic" if instance.public_ip in view.elastic_ips() else "dynamic"
        rows.append(
            {
                "instance_id": instance.instance_id,
                "name": instance.name,
                "state": instance.state,
                "type": instance.instance_type,
                "service": member.name if member else "",
                "public_ip": instance.public_ip,
                "ip_kind": kind,
                "dns_names": seen.references(instance.public_ip),
                "health": health(instance),
            }
        )
    render_rows(rows, INSTANCE_COLUMNS, app.output)


def _parse_tags(pairs: tuple[str, ...]) -> dict[str, str]:
    tags = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"--tag {pair!r}: write it as KEY=VALUE")
        if key.startswith("eipkeeper:"):
            raise UsageError(f"--tag {pair!r}: eipkeeper: tags are set by eipkeeper itself")
        tags[key] = value
    return tags


def _address_row(address: Address, **extra: Any) -> dict[str, Any]:
    return {
        "public_ip": address.public_ip,
        "allocation_id": address.allocation_id,
        "service": address.service,
        "hostname": address.hostname,
        **extra,
    }


@click.command("allocate")
@click.option("--service", "service_name", default="", help="Put the address in this pool.")
@click.option("--hostname", default="", help="Bind it to this hostname of the service.")
@click.option("--tag", "extra_tags", multiple=True, metavar="K=V", help="More tags (repeatable).")
@pass_app
def allocate(app: App, service_name: str, hostname: str, extra_tags: tuple[str, ...]) -> None:
    """Allocate an Elastic IP, tagged with owner, service and hostname in the same call."""
    from eipkeeper.fleet import monthly_cost

    config = app.config
    tags = _parse_tags(extra_tags)
    tags[TAG_OWNER] = config.owner
    hostname = hostname.lower().rstrip(".")
    if hostname and not service_name:
        matches = [s for s in config.services if hostname in s.hostnames]
        if not matches:
            raise UsageError(f"--hostname {hostname} belongs to no configured service")
        service_name = matches[0].name
    if service_name:
        service = config.service(service_name)
        if service.addresses != "elastic":
            raise UsageError(f"service {service_name} is dynamic; its hostnames take no EIP")
        if hostname and hostname not in service.hostnames:
            raise UsageError(f"{hostname} is not a hostname of service {service_name}")
        tags[TAG_SERVICE] = service_name
        if hostname:
            bound = [a for a in app.ec2.addresses() if a.hostname == hostname]
            if bound:
                raise UsageError(f"{hostname} is already bound to {bound[0].public_ip}")
            tags[TAG_HOSTNAME] = hostname
    settings = config.service(service_name).reputation if service_name else None
    tries: list[dict[str, Any]] = []
    if settings is None:
        address = app.ec2.allocate(tags=tags)
    else:
        address, made = _allocate_clean(app, settings, tags)
        tries = [{"public_ip": t.public_ip, "verdict": t.verdict, "detail": t.detail} for t in made]
    hourly = config.cost.ipv4_hourly
    extra = {"tries": tries} if settings is not None else {}
    render_object(
        _address_row(address, hourly_cost=hourly, monthly_cost=monthly_cost(hourly), **extra),
        app.output,
        text=(
            f"allocated {address.public_ip} ({address.allocation_id})"
            + (f" in pool {service_name}" if service_name else "")
            + (f", bound to {hostname}" if hostname else "")
            + f"; it costs ${hourly}/hour (${monthly_cost(hourly):.2f}/month), in use or idle"
        ),
    )


def _allocate_clean(
    app: App, settings: ReputationConfig, tags: dict[str, str]
) -> tuple[Address, list[Try]]:
    """Allocate until an address is on no blocklist; each try is one line on stderr."""
    from eipkeeper.allocation import allocate_clean
    from eipkeeper.cli.plans import make_engine
    from eipkeeper.controller.observation import RunningIsHealthy

    engine = make_engine(app, health=RunningIsHealthy())
    return allocate_clean(
        ec2=app.ec2,
        engine=engine,
        settings=settings,
        tags=tags,
        clock=time.time,
        on_try=lambda attempt: click.echo(attempt.line(settings.max_tries), err=True),
    )


@click.command("associate")
@click.argument("address", type=ADDRESS)
@click.argument("instance", type=INSTANCE)
@click.option("--yes", is_flag=True, help="Do not ask before taking away a dynamic public IP.")
@click.option("--no-wait", is_flag=True, help="Return once AWS accepted the call.")
@click.option(
    "--timeout", type=DURATION, default="300s", show_default=True, help="How long to wait for it."
)
@pass_app
def associate(
    app: App, address: str, instance: str, yes: bool, no_wait: bool, timeout: float
) -> None:
    """Associate a free ADDRESS with INSTANCE (never takes it from another: that is `move`)."""
    from eipkeeper.cli.plans import make_engine, step_hooks
    from eipkeeper.controller.plan import Claim
    from eipkeeper.health.runner import check_of

    engine = make_engine(app)
    prepared = engine.prepare(AssociateAddress(address, instance)).checked()
    plan = prepared.plan
    if plan.empty:
        render_object(
            {"changed": False, "note": "; ".join(plan.notes)},
            app.output,
            text=f"{'; '.join(plan.notes)}; nothing to do",
        )
        return
    claim = plan.actions[0]
    assert isinstance(claim, Claim)
    eip = prepared.seen.address(claim.allocation_id)
    target = prepared.seen.instance(claim.instance_id)
    assert eip is not None and target is not None
    for finding in plan.findings:
        click.echo(f"warning: {finding.message}", err=True)
        connections = local_connections(finding.subject)
        if connections:
            click.echo(f"  open connections to it: {', '.join(connections)}", err=True)
    if plan.findings:
        app.confirm("Take that address away for good?", yes=yes)
    check = check_of(app.config, target, address=eip)
    with progress(f"waiting for {eip.public_ip} on {target.instance_id}", timeout) as bar:
        hooks = step_hooks(timeout=timeout, on_tick=bar.tick, wait_visible=not no_wait)
        outcome = engine.execute(prepared, hooks)
    if outcome.timeline is not None and not outcome.timeline.steady:
        raise OperationError(
            f"{eip.public_ip} is on {target.label} in EC2 but did not answer from it on port "
            f"{check.port if check else '?'} before the timeout (last probe: {outcome.last_probe})"
        )
    association = outcome.report.associations.get(eip.allocation_id, "")
    answering = f", answering on port {check.port}" if check is not None else ""
    render_object(
        _address_row(eip, instance_id=target.instance_id, association_id=association, changed=True),
        app.output,
        text=f"associated {eip.public_ip} with {target.label}"
        + (" (not waited for)" if no_wait else f" and saw it in place{answering}"),
    )


def local_connections(ip: str) -> list[str]:
    """Connections from this machine to IP, which an association would break (the seed's ssh)."""
    import psutil

    try:
        connections = psutil.net_connections(kind="inet")
    except (psutil.AccessDenied, OSError):
        return []
    found = []
    for conn in connections:
        remote = conn.raddr
        if remote and getattr(remote, "ip", None) == ip and conn.status == "ESTABLISHED":
            local = conn.laddr
            found.append(
                f"{getattr(local, 'ip', '')}:{getattr(local, 'port', '')} -> {ip}:{remote.port}"
            )
    return sorted(found)


def _nothing(app: App, plan: Plan) -> bool:
    if plan.empty:
        render_object(
            {"changed": False, "note": "; ".join(plan.notes)},
            app.output,
            text=f"{'; '.join(plan.notes) or 'the plan is empty'}; nothing to do",
        )
    return plan.empty


@click.command("disassociate")
@click.argument("address", type=ADDRESS)
@click.option("--yes", is_flag=True, help="Do not ask when managed DNS points at ADDRESS.")
@pass_app
def disassociate(app: App, address: str, yes: bool) -> None:
    """Take ADDRESS off its instance; it stays allocated (and keeps costing)."""
    from eipkeeper.cli.plans import make_engine
    from eipkeeper.controller.observation import RunningIsHealthy
    from eipkeeper.controller.plan import Disassociate

    engine = make_engine(app, health=RunningIsHealthy())
    prepared = engine.prepare(DisassociateAddress(address)).checked()
    if _nothing(app, prepared.plan):
        return
    action = prepared.plan.actions[0]
    assert isinstance(action, Disassociate)
    for finding in prepared.plan.findings:
        click.echo(f"warning: {finding.message}", err=True)
        app.confirm(f"Disassociate {action.public_ip} all the same?", yes=yes)
    engine.execute(prepared)
    eip = prepared.seen.address(action.allocation_id)
    assert eip is not None
    render_object(
        _address_row(eip, instance_id=eip.instance_id, changed=True),
        app.output,
        text=f"disassociated {eip.public_ip} from {eip.instance_id}; it stays allocated",
    )


@click.command("release")
@click.argument("address", type=ADDRESS)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_app
def release(app: App, address: str, yes: bool) -> None:
    """Give ADDRESS back to AWS: refused while associated, in DNS (S2) or in quarantine (S3)."""
    from eipkeeper.cli.plans import make_engine
    from eipkeeper.controller.observation import RunningIsHealthy
    from eipkeeper.controller.plan import Release

    engine = make_engine(app, health=RunningIsHealthy())
    prepared = engine.prepare(ReleaseAddress(address)).checked()
    action = prepared.plan.actions[0]
    assert isinstance(action, Release)
    app.confirm(
        f"Release {action.public_ip}? Another AWS customer may receive it afterwards.", yes=yes
    )
    engine.execute(prepared)
    eip = prepared.seen.address(action.allocation_id)
    assert eip is not None
    render_object(
        _address_row(eip, changed=True),
        app.output,
        text=f"released {eip.public_ip} ({eip.allocation_id})",
    )


COMMANDS = [addresses, instances, allocate, associate, disassociate, release]
