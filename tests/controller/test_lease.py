"""The lease against the sandbox's DynamoDB (moto's server, real conditional writes), with fake
clocks: one holder at a time, each tenure its own id, and a fence that fails for good
once the tenure a round started with is over."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from eipkeeper.cloud.aws import AwsSession
from eipkeeper.controller.lease import Lease, LeaseLost
from eipkeeper.errors import ConfigError
from tests.conftest import Cloud
from tests.controller.test_replicas import TABLE, create_lease_table
from tests.support.clock import FakeClock

TTL = 30.0


@pytest.fixture
def session(cloud: Cloud, monkeypatch: pytest.MonkeyPatch) -> Iterator[AwsSession]:
    for key, value in cloud.env.items():
        monkeypatch.setenv(key, value)
    create_lease_table(cloud)
    yield AwsSession(region=cloud.env["AWS_DEFAULT_REGION"])


def lease(session: AwsSession, holder: str, wall: FakeClock, mono: FakeClock) -> Lease:
    return Lease(
        session, table=TABLE, name="fleet", holder=holder, ttl=TTL, clock=wall, monotonic=mono
    )


def stored(cloud: Cloud) -> dict[str, str]:
    item = cloud.client("dynamodb").get_item(TableName=TABLE, Key={"name": {"S": "fleet"}})
    return {k: next(iter(v.values())) for k, v in item.get("Item", {}).items()}


def test_one_holder_at_a_time_and_a_renewal_keeps_the_tenure(
    cloud: Cloud, session: AwsSession
) -> None:
    wall, mono = FakeClock(1000.0), FakeClock(0.0)
    a, b = lease(session, "a", wall, mono), lease(session, "b", wall, mono)
    assert a.acquire() and a.token() == a.tenure != ""
    tenure = a.tenure
    assert not b.acquire() and b.token() == ""
    wall.now, mono.now = 1010.0, 10.0
    assert a.acquire() and a.tenure == tenure, "a renewal is the same tenure"
    assert stored(cloud) == {
        "name": "fleet",
        "holder": "a",
        "tenure": tenure,
        "expires": "1040.000",
    }
    a.fence(tenure)  # still held: no error, and the expiry moves on
    assert not b.acquire()


def test_a_takeover_is_a_new_tenure_and_fences_the_old_holder_for_good(
    session: AwsSession,
) -> None:
    wall_a, wall_b, mono = FakeClock(1000.0), FakeClock(1000.0), FakeClock(0.0)
    a, b = lease(session, "a", wall_a, mono), lease(session, "b", wall_b, mono)
    assert a.acquire()
    token = a.token()
    wall_b.now = 1031.0  # a's lease expired by b's clock: a froze, or lost its network
    assert b.acquire() and b.tenure != token
    with pytest.raises(LeaseLost, match="lost"):
        a.fence(token)
    assert not a.held and a.losses == 1
    # b lets it go; a takes it back: a new tenure, and the old round's token stays dead.
    b.release()
    assert a.acquire() and a.tenure not in (token, b.tenure)
    with pytest.raises(LeaseLost):
        a.fence(token)
    a.fence(a.token())


def test_a_lease_not_renewed_within_its_ttl_lapses_locally_without_asking(
    session: AwsSession,
) -> None:
    wall, mono = FakeClock(1000.0), FakeClock(0.0)
    a = lease(session, "a", wall, mono)
    assert a.acquire()
    token = a.token()
    mono.now = TTL * 0.8  # the heartbeat could not renew (DynamoDB unreachable, a pause)
    calls = session.counter.total()
    assert not a.held
    with pytest.raises(LeaseLost):
        a.fence(token)
    assert session.counter.total() == calls, "decided locally: no call, nothing written"
    assert a.losses == 1


def test_release_frees_the_lease_at_once(cloud: Cloud, session: AwsSession) -> None:
    wall, mono = FakeClock(1000.0), FakeClock(0.0)
    a, b = lease(session, "a", wall, mono), lease(session, "b", wall, mono)
    assert a.acquire()
    a.release()
    assert stored(cloud) == {}, "DeleteItem removed it"
    assert b.acquire() and b.tenure != a.tenure


def test_a_missing_table_is_a_configuration_error(session: AwsSession) -> None:
    missing = Lease(session, table="no-such-table", name="fleet", holder="a")
    with pytest.raises(ConfigError, match="--lease-table no-such-table: no such DynamoDB table"):
        missing.acquire()
