"""Prometheus metrics of `run` (SPEC.md section 6), on their own registry."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._of_rounds()
        self._of_fleet()

    def _of_rounds(self) -> None:
        """What the rounds did, and how fast a failover was."""
        r = self.registry
        self.rounds = Counter(
            "eipkeeper_rounds", "Reconcile rounds by outcome", ["outcome"], registry=r
        )
        self.round_seconds = Histogram(
            "eipkeeper_round_duration_seconds", "Duration of a reconcile round", registry=r
        )
        self.changes = Counter(
            "eipkeeper_changes", "Changes applied, by kind", ["kind"], registry=r
        )
        self.failovers = Counter(
            "eipkeeper_failovers", "EIPs moved off a failed holder", registry=r
        )
        self.failover_seconds = Histogram(
            "eipkeeper_failover_seconds",
            "From the first failed probe to the AssociateAddress call (stage=call) and to the "
            "first good answer from the new holder (stage=answer)",
            ["stage"],
            registry=r,
        )
        self.calls = Gauge(
            "eipkeeper_api_calls", "AWS and DNS calls made, by operation", ["operation"], registry=r
        )
        self.last_success = Gauge(
            "eipkeeper_last_success_timestamp_seconds", "When the last round succeeded", registry=r
        )

    def _of_fleet(self) -> None:
        """What the fleet and the lease look like now."""
        r = self.registry
        self.health = Gauge(
            "eipkeeper_instance_healthy",
            "1 when the instance passes its check",
            ["instance_id", "service"],
            registry=r,
        )
        self.addresses = Gauge(
            "eipkeeper_addresses", "Elastic IPs by status", ["status"], registry=r
        )
        self.leader = Gauge(
            "eipkeeper_lease_held", "1 while this replica holds the lease", registry=r
        )
        self.listed = Gauge(
            "eipkeeper_address_listed",
            "1 while a DNSBL zone lists the address (services with `reputation`)",
            ["public_ip", "zone"],
            registry=r,
        )
        self.lease_lost = Counter(
            "eipkeeper_lease_lost",
            "Times this replica lost a lease it held (taken over, or not renewed in its TTL)",
            registry=r,
        )

    def serve(self, port: int, address: str = "127.0.0.1") -> None:
        start_http_server(port, addr=address, registry=self.registry)
