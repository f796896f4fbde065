"""One actor among `run --lease-table` replicas when a round blocks past the lease's TTL.

Each replica reaches AWS through its own counting proxy and BIND through its own DNS proxy,
so the AssociateAddress calls and UPDATE messages each one really sent are counted at the
wire. A round blocked on a stalled DNS server keeps its lease (the heartbeat renews it apart
from the round), and a replica whose lease was taken meanwhile writes nothing (the fence)."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest

from eipkeeper.sandbox.bind import LocalBind
from tests.conftest import Cloud, swap_dns
from tests.controller.test_replicas import TABLE, create_lease_table, holder, renewed_for
from tests.support.cli import background, wait_for
from tests.support.dnsproxy import DnsProxy, dns_proxy
from tests.support.faultproxy import FaultProxy, fault_proxy

TTL = 2.0
STALL = 3 * TTL
"""Longer than the lease's TTL, shorter than the DNS client's 10 s timeout."""


@dataclass
class Replica:
    name: str
    aws: FaultProxy
    dns: DnsProxy
    env: dict[str, str]
    log: Path

    def start(self) -> AbstractContextManager[subprocess.Popen[bytes]]:
        args = ("run", "--interval", "1s", "--lease-table", TABLE, "--lease-ttl", f"{TTL:g}s")
        return background(*args, env=self.env, log=self.log)

    @property
    def associations(self) -> int:
        return self.aws.seen["AssociateAddress"]

    @property
    def writes(self) -> int:
        """Every mutating EC2 call this replica sent."""
        return sum(n for action, n in self.aws.seen.items() if action and not _read(action))

    def said(self, event: str) -> bool:
        return f" {event} " in self.log.read_text()


def _read(action: str) -> bool:
    return action.startswith(("Describe", "Get", "List"))


@pytest.fixture
def replicas(cloud: Cloud, tmp_path: Path) -> Iterator[tuple[Replica, Replica, LocalBind]]:
    create_lease_table(cloud)
    with LocalBind("example.test") as bind, ExitStack() as stack:
        made = []
        for name in ("a", "b"):
            aws = stack.enter_context(fault_proxy(cloud.env["AWS_ENDPOINT_URL"]))
            dns = stack.enter_context(dns_proxy(bind.host, bind.port))
            table = (
                '[dns]\nprovider = "rfc2136"\nzone = "example.test"\n'
                f'server = "127.0.0.1"\nport = {dns.port}\n'
                f'tsig_key_file = "{bind.key_file}"\nverify_servers = ["{bind.server}"]\n'
            )
            text = swap_dns(cloud.config.read_text(), table)
            config = tmp_path / f"{name}.toml"
            config.write_text(text)
            env = {**cloud.env, "EIPKEEPER_CONFIG": str(config), "AWS_ENDPOINT_URL": aws.url}
            made.append(Replica(name, aws, dns, env, tmp_path / f"{name}.log"))
        yield made[0], made[1], bind


def mx1_published(bind: LocalBind) -> bool:
    import dns.message
    import dns.query

    query = dns.message.make_query("mx1.example.test.", "A")
    return bool(dns.query.tcp(query, bind.host, port=bind.port, timeout=2).answer)


def test_a_round_blocked_past_the_ttl_keeps_the_lease_and_only_one_replica_acts(
    cloud: Cloud, replicas: tuple[Replica, Replica, LocalBind]
) -> None:
    a, b, bind = replicas
    a.dns.stall()
    with a.start() as first:
        wait_for("a holds the lease", lambda: str(first.pid) in holder(cloud))
        wait_for("a's round blocked on DNS", lambda: a.dns.waiting > 0)
        with b.start():
            renewed_for(cloud, STALL)  # the stall outlasts the TTL three times over
            assert str(first.pid) in holder(cloud), "the heartbeat renewed a's lease meanwhile"
            a.dns.resume()
            wait_for("the fleet published", lambda: mx1_published(bind))
            renewed_for(cloud, 3 * TTL)  # more rounds of both
    assert b.associations == 0 and b.dns.updates == 0 and b.writes == 0, "b did nothing"
    assert a.associations == 2 and a.dns.updates >= 1, "a claimed mx1 and mx2 and published"
    assert a.said("round.changed")
    assert not b.said("lease.acquired") and b.said("run.follower")


def test_a_replica_whose_lease_was_taken_mid_round_writes_nothing_more(
    cloud: Cloud, replicas: tuple[Replica, Replica, LocalBind]
) -> None:
    a, _, bind = replicas
    a.dns.stall()
    with a.start() as first:
        wait_for("a holds the lease", lambda: str(first.pid) in holder(cloud))
        wait_for("a's round blocked on DNS", lambda: a.dns.waiting > 0)
        # Another replica takes over (as after a's lease expired by its clock): a new tenure.
        cloud.client("dynamodb").update_item(
            TableName=TABLE,
            Key={"name": {"S": "sandbox"}},
            UpdateExpression="SET holder = :other, expires = :later, tenure = :new",
            ExpressionAttributeValues={
                ":other": {"S": "another-replica"},
                ":later": {"N": f"{time.time() + 600:.3f}"},
                ":new": {"S": "another-tenure"},
            },
        )
        wait_for("a's heartbeat notices", lambda: a.said("lease.lost"))
        a.dns.resume()  # the round's zone read completes; it has claims and DNS to write
        wait_for(
            "a's round refused by the fence, or a write",
            lambda: a.said("round.fenced") or a.writes > 0 or a.dns.updates > 0,
        )
        # a keeps running as a follower: its heartbeat asks for the lease again, several times.
        asked = a.aws.seen[""]  # DynamoDB's JSON calls, which carry no query Action
        wait_for("a asking for the lease again", lambda: a.aws.seen[""] >= asked + 6)
    assert a.associations == 0 and a.writes == 0, "no EC2 write after the lease was lost"
    assert a.dns.updates == 0, "no DNS UPDATE either"
    assert not mx1_published(bind)
    fenced = next(line for line in a.log.read_text().splitlines() if " round.fenced " in line)
    assert 'attempted="claim ' in fenced, "the claim it was about to make is named"
