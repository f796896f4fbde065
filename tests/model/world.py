"""The world the model test drives: the sandbox (moto's server, the SMTP data plane), a real
BIND with TSIG, and a fault proxy between eipkeeper and moto that also lets the test watch
every AWS call eipkeeper makes, at the moment it makes it.

The test's own boto3 clients talk to moto directly (never through the proxy, and past the
sandbox's lag and throttling), so the faults, the lag and the limits hit eipkeeper alone and
what the test sees is the truth.
"""

from __future__ import annotations

import dataclasses
import io
import re
import sys
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import dns.name
import dns.query
import dns.rdatatype
import dns.tsigkeyring
import dns.update
import dns.zone

from eipkeeper.dns.tsig import load_key
from eipkeeper.sandbox import Sandbox
from eipkeeper.sandbox.bind import LocalBind
from tests.conftest import swap_dns, user_env
from tests.support.faultproxy import FaultProxy, _handler

ZONE = "example.test"
OWNER = "sandbox"
QUARANTINE = 3.0
"""release_quarantine in the test's config: short, so that releases happen in a run."""
TTL = 2
DRAIN_MARGIN = 0.5
CHECK = 'interval = "200ms", timeout = "300ms", fail_after = 2, pass_after = 1'

OnCall = Callable[[str, dict[str, list[str]]], None]


def test_config(sandbox_text: str, bind: LocalBind) -> str:
    """The sandbox's sample config on BIND, with times short enough for hundreds of steps and
    reverse DNS kept."""
    text = swap_dns(sandbox_text, bind.config_toml())
    text = re.sub(r"^ttl = \d+$", f"ttl = {TTL}", text, flags=re.MULTILINE)
    text = re.sub(r'interval = "1s", timeout = "1s", fail_after = 3, pass_after = 2', CHECK, text)
    text = re.sub(r'interval = "1s", timeout = "1s"', CHECK, text)
    text = text.replace('cooldown = "1m"', 'cooldown = "2s"')
    # A 10 s period, not 60 s: moto averages the values of one period, the sandbox's quiet
    # 10 at start with the test's 900 among them (455, below scale_out_above), and a burst
    # was never launched in hundreds of steps. A value now counts for three periods (30 s).
    metric = 'dimensions = { Service = "mx" } }'
    assert metric in text
    text = text.replace(metric, 'dimensions = { Service = "mx" }, period = "10s" }')
    # Reverse DNS kept (`ptr = true`): a release must reset the PTR first (EC2 refuses it
    # otherwise), so the release and drain steps reach that path too.
    assert "replace_failed = true\n" in text
    text = text.replace("replace_failed = true\n", "replace_failed = true\nptr = true\n")
    return (
        text + f'\n[safety]\nrelease_quarantine = "{QUARANTINE:g}s"\n'
        f'drain_margin = "{int(DRAIN_MARGIN * 1000)}ms"\n'
    )


@dataclass
class Rrset:
    ttl: int
    values: tuple[str, ...]


@dataclass
class Snapshot:
    """One read of the real world: EC2 as DescribeAddresses/DescribeInstances say, the zone
    as BIND serves it by AXFR."""

    addresses: list[dict[str, Any]]
    instances: list[dict[str, Any]]
    zone: dict[tuple[str, str], Rrset]

    def tags(self, item: dict[str, Any]) -> dict[str, str]:
        return {t["Key"]: t["Value"] for t in item.get("Tags", [])}

    def live(self) -> list[dict[str, Any]]:
        return [i for i in self.instances if i["State"]["Name"] not in ("terminated",)]

    def by_name(self, name: str) -> dict[str, Any] | None:
        found = [i for i in self.live() if self.tags(i).get("Name") == name]
        return found[0] if len(found) == 1 else None

    def instance(self, instance_id: str) -> dict[str, Any] | None:
        return next((i for i in self.instances if i["InstanceId"] == instance_id), None)

    def pool(self) -> list[dict[str, Any]]:
        return [a for a in self.addresses if self.tags(a).get("eipkeeper:service") == "mx"]

    def role(self, item: dict[str, Any]) -> str:
        return self.tags(item).get("Role", "")


@dataclass
class World:
    sandbox: Sandbox
    bind: LocalBind
    proxy: FaultProxy
    config: Path
    env: dict[str, str]
    """What eipkeeper runs with: AWS_ENDPOINT_URL is the proxy."""
    on_call: list[OnCall] = field(default_factory=list)
    _clients: dict[str, Any] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def client(self, service: str) -> Any:
        with self._lock:
            if service not in self._clients:
                client = boto3.client(  # type: ignore[call-overload]
                    service,
                    endpoint_url=self.sandbox.endpoint,
                    region_name=self.sandbox.region,
                    aws_access_key_id="sandbox",
                    aws_secret_access_key="sandbox",
                )
                # The truth: past the sandbox's lag and throttling (eipkeeper gets both).
                client.meta.events.register("before-sign.*.*", _truth)
                self._clients[service] = client
            return self._clients[service]

    # -- reading the truth ------------------------------------------------------------------

    def zone(self) -> dict[tuple[str, str], Rrset]:
        key = load_key(self.bind.key_file)
        xfr = dns.query.xfr(
            self.bind.host,
            ZONE + ".",
            port=self.bind.port,
            keyring={dns.name.from_text(key.name): key.dns_key},
            timeout=5,
            relativize=False,
        )
        zone = dns.zone.from_xfr(xfr, relativize=False)
        out: dict[tuple[str, str], Rrset] = {}
        for name, node in zone.nodes.items():
            for rdataset in node.rdatasets:
                rdtype = dns.rdatatype.to_text(rdataset.rdtype)
                values = tuple(sorted(r.to_text() for r in rdataset))
                out[(name.to_text().rstrip("."), rdtype)] = Rrset(rdataset.ttl, values)
        return out

    def snapshot(self) -> Snapshot:
        ec2 = self.client("ec2")
        addresses = ec2.describe_addresses()["Addresses"]
        reservations = ec2.describe_instances()["Reservations"]
        instances = [i for r in reservations for i in r["Instances"]]
        return Snapshot(addresses=addresses, instances=instances, zone=self.zone())

    # -- writing DNS as someone else ---------------------------------------------------------

    def dns_update(self, build: Callable[[dns.update.UpdateMessage], None]) -> None:
        """An UPDATE signed with the zone's key, as `nsupdate -k` by an operator would."""
        key = load_key(self.bind.key_file)
        update = dns.update.UpdateMessage(ZONE, keyring=key.dns_key)
        build(update)
        reply = dns.query.tcp(update, self.bind.host, port=self.bind.port, timeout=5)
        assert reply.rcode() == 0, f"UPDATE refused: {reply.rcode()}"

    def set_delay(self, seconds: float) -> None:
        plane = self.sandbox.dataplane
        plane.configure(timing=dataclasses.replace(plane.timing, association_delay=seconds))


def _truth(request: Any, **_: Any) -> None:
    request.headers["X-Eipkeeper-Sandbox-Truth"] = "1"


def _watching_proxy(upstream: str, world_calls: list[OnCall]) -> Any:
    """A FaultProxy whose handler first shows each request to the watchers."""
    proxy = FaultProxy(upstream=upstream.rstrip("/"))
    base = _handler(proxy)

    class Watching(base):  # type: ignore[valid-type,misc]
        def _watch_then_relay(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""  # type: ignore[has-type]
            form = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
            action = form.get("Action", [""])[0]
            for watcher in list(world_calls):
                watcher(action, form)
            self.rfile = io.BytesIO(body)
            self._relay()

        do_POST = _watch_then_relay  # noqa: N815 - http.server names its hooks so
        do_GET = _watch_then_relay  # noqa: N815

    return proxy, Watching


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A command SIGKILLed mid-call leaves its reply nowhere to go: not worth a traceback."""
        error = sys.exc_info()[1]
        if not isinstance(error, ConnectionError):
            super().handle_error(request, client_address)


LAG = (0.0, 8.0)
"""EC2's Describe lag in the model's world (EC2 documents seconds, at worst minutes)."""
THROTTLE_CHANCE = 0.05
"""Calls of eipkeeper's answered RequestLimitExceeded besides AWS's buckets."""


@contextmanager
def world(tmp: Path, *, association_delay: float = 0.3) -> Iterator[World]:
    with ExitStack() as stack:
        bind = stack.enter_context(LocalBind(ZONE))
        # EC2 sets a PTR only where the forward name points at the address: the sandbox asks
        # the zone's BIND, as `eipkeeper sandbox --bind` does.
        sandbox = stack.enter_context(
            Sandbox(
                port=0,
                association_delay=association_delay,
                forward_dns=((bind.host, bind.port),),
                consistency_lag=LAG,
                throttle=True,
                throttle_chance=THROTTLE_CHANCE,
            )
        )
        sample = tmp / "sandbox.toml"
        sandbox.write_config(sample)
        config = tmp / "eipkeeper.toml"
        config.write_text(test_config(sample.read_text(), bind))
        calls: list[OnCall] = []
        proxy, handler = _watching_proxy(sandbox.endpoint, calls)
        server = _QuietServer(("127.0.0.1", 0), handler)
        proxy.url = f"http://127.0.0.1:{server.server_address[1]}"
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        stack.callback(server.server_close)
        stack.callback(server.shutdown)
        env = {**user_env(sandbox, config, tmp), "AWS_ENDPOINT_URL": proxy.url}
        yield World(sandbox=sandbox, bind=bind, proxy=proxy, config=config, env=env, on_call=calls)


def absolute(name: str) -> dns.name.Name:
    return dns.name.from_text(name)
