"""`run`'s wiring: the engine, its health source, the event queue, the lease and the metrics,
put together once so that the command only parses its options and says what it runs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from eipkeeper.cloud.aws import AwsSession
from eipkeeper.cloud.ec2 import Ec2
from eipkeeper.config import Config
from eipkeeper.controller.engine import Engine
from eipkeeper.controller.events import EventQueue
from eipkeeper.controller.lease import Lease
from eipkeeper.controller.loop import Controller, replica_name
from eipkeeper.controller.reading import health_source
from eipkeeper.dns.dnsbl import ReputationWatch
from eipkeeper.dns.ownership import Registry
from eipkeeper.errors import UsageError
from eipkeeper.health.monitor import HealthChange, HealthMonitor


@dataclass(frozen=True)
class RunOptions:
    """`run`'s options, parsed."""

    interval: float
    min_interval: float
    events_queue: str = ""
    lease_table: str = ""
    lease_ttl: float = 30.0
    switch_grace: float | None = None
    metrics_port: int = 0
    metrics_address: str = "127.0.0.1"


def build_controller(
    config: Config,
    *,
    session: AwsSession,
    ec2: Ec2,
    registry: Registry | None,
    options: RunOptions,
    on_probe_again: Callable[[str], None] | None = None,
) -> Controller:
    """The controller of `run`, ready to start: one engine whose health is the monitor (or
    the running state), the monitor waking the loop on a change of health."""
    grace = options.switch_grace
    if grace is not None:
        # One grace for the monitor (in memory) and the planner (the EIP's associated-at tag).
        config = config.with_switch_grace(grace)
    else:
        grace = max((s.check.switch_grace for s in config.services if s.check), default=60.0)
    wake: list[Callable[[HealthChange], None]] = []
    health = health_source(
        config,
        on_change=lambda change: [tell(change) for tell in wake],
        switch_grace=grace,
        on_probe_again=on_probe_again,
    )
    # Blocklist verdicts are kept between rounds, looked up again after each `recheck`.
    reputation = ReputationWatch(config=config)
    engine = Engine(config=config, ec2=ec2, registry=registry, health=health, reputation=reputation)
    controller = Controller(
        engine=engine,
        interval=options.interval,
        min_interval=options.min_interval,
        calls=session.counter,
    )
    wake.append(controller.on_health_change)
    if isinstance(health, HealthMonitor):
        controller.monitor = health
    _attach(controller, session, config, options)
    return controller


def _attach(
    controller: Controller, session: AwsSession, config: Config, options: RunOptions
) -> None:
    """The event queue, the lease and the metrics endpoint, as the options ask."""
    if options.events_queue:
        controller.events = EventQueue(session, options.events_queue)
        controller.events.check()
    if options.lease_table:
        controller.lease = Lease(
            session,
            table=options.lease_table,
            name=config.owner,
            holder=replica_name(),
            ttl=options.lease_ttl,
        )
    if options.metrics_port:
        _serve_metrics(controller, options.metrics_port, options.metrics_address)


def _serve_metrics(controller: Controller, port: int, address: str) -> None:
    try:
        controller.metrics.serve(port, address)
    except OSError as exc:
        raise UsageError(
            f"--metrics-port {port}: cannot listen on {address}:{port} ({exc.strerror or exc})"
        ) from None
