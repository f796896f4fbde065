"""The Route 53 provider through boto3 against moto's server (real HTTP, real botocore).

Every change is sent as the exact DELETE of what was read plus the CREATE, in one batch, which
Route 53 applies all or nothing. moto alone checks a DELETE against the history of the zone;
with the sandbox's fix (`route53_fixes`, installed by the fixture) it checks the current
values as Route 53 does, so a lost race shows here as it would on AWS.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from eipkeeper import config as config_module
from eipkeeper.dns.ownership import Registry, marker_name
from eipkeeper.dns.records import Change, Record
from eipkeeper.dns.route53 import Route53Provider
from eipkeeper.errors import (
    ConfigError,
    ConflictError,
    PermissionDeniedError,
    TransientError,
)
from tests.support.faultproxy import Fault, fault_proxy

from .conftest import OWNER, ZONE, aws_session, seed

if TYPE_CHECKING:
    from mypy_boto3_route53 import Route53Client

SPF = "v=spf1 ip4:192.0.2.0/24 -all"


def sent_batches(client: Route53Client) -> list[list[dict[str, Any]]]:
    """Record the change batches boto3 sends (botocore's own event hook)."""
    batches: list[list[dict[str, Any]]] = []

    def capture(params: dict[str, Any], **_: Any) -> None:
        batches.append(list(params["ChangeBatch"]["Changes"]))

    client.meta.events.register("provide-client-params.route53.ChangeResourceRecordSets", capture)
    return batches


def test_a_aaaa_mx_txt_and_spf_read_back_as_written(route53: Route53Provider) -> None:
    written = [
        Record(f"mx1.{ZONE}", "A", 300, ["127.0.0.10"]),
        Record(f"mx1.{ZONE}", "AAAA", 300, ["2001:db8::10"]),
        Record(ZONE, "MX", 300, ["10 mx1.example.test.", "20 mx2.example.net."]),
        Record(ZONE, "TXT", 60, [SPF, "google-site-verification=abc"]),
    ]
    route53.apply([Change.create(r) for r in written])
    zone = route53.read_zone()
    for record in written:
        assert zone.get(record.name, record.type) == record
    assert zone.get(ZONE, "NS") is not None  # moto's delegation set


def test_an_update_is_an_exact_delete_and_a_create_in_one_batch(route53: Route53Provider) -> None:
    old = Record(f"www.{ZONE}", "A", 300, ["127.0.0.5"])
    seed(route53, old)
    batches = sent_batches(route53.client)
    new = Record(old.name, "A", 60, ["127.0.0.6"])
    route53.apply([Change.update(old, new)])
    assert batches == [
        [
            {
                "Action": "DELETE",
                "ResourceRecordSet": {
                    "Name": f"www.{ZONE}.",
                    "Type": "A",
                    "TTL": 300,
                    "ResourceRecords": [{"Value": "127.0.0.5"}],
                },
            },
            {
                "Action": "CREATE",
                "ResourceRecordSet": {
                    "Name": f"www.{ZONE}.",
                    "Type": "A",
                    "TTL": 60,
                    "ResourceRecords": [{"Value": "127.0.0.6"}],
                },
            },
        ]
    ]
    assert route53.read_zone().get(old.name, "A") == new


def test_creating_an_rrset_that_exists_is_a_conflict(route53: Route53Provider) -> None:
    record = Record(f"taken.{ZONE}", "A", 300, ["127.0.0.2"])
    seed(route53, record)
    route53.apply([Change.delete(record)])
    seed(route53, record)
    with pytest.raises(ConflictError, match="already exists"):
        route53.apply([Change.create(record)])


def test_two_writers_on_one_rrset_exactly_one_wins(
    route53: Route53Provider, moto_endpoint: str
) -> None:
    seed(route53, Record(f"race.{ZONE}", "A", 300, ["127.0.0.1"]))
    writers = [Route53Provider(ZONE, session=aws_session(moto_endpoint)) for _ in "ab"]
    snapshots = [w.read_zone() for w in writers]
    start = threading.Barrier(2)
    outcome: dict[int, str] = {}

    def write(index: int) -> None:
        old = snapshots[index].get(f"race.{ZONE}", "A")
        assert old is not None
        new = Record(old.name, "A", 300, [f"127.0.1.{index + 1}"])
        start.wait()
        try:
            writers[index].apply([Change.update(old, new)])
            outcome[index] = "won"
        except ConflictError:
            outcome[index] = "conflict"

    threads = [threading.Thread(target=write, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcome.values()) == ["conflict", "won"]
    winner = next(i for i, result in outcome.items() if result == "won")
    final = route53.read_zone().get(f"race.{ZONE}", "A")
    assert final is not None and final.values == (f"127.0.1.{winner + 1}",)


def test_a_stale_update_or_delete_is_a_conflict_and_changes_nothing(
    route53: Route53Provider,
) -> None:
    old = Record(f"stale.{ZONE}", "A", 300, ["127.0.0.2"])
    seed(route53, old)
    newer = Record(old.name, "A", 300, ["127.0.0.2", "127.0.0.3"])
    route53.apply([Change.update(old, newer)])  # another writer added a value
    with pytest.raises(ConflictError, match="re-read"):
        route53.apply([Change.delete(old)])
    with pytest.raises(ConflictError):
        route53.apply([Change.update(old, Record(old.name, "A", 60, ["127.0.0.4"]))])
    assert route53.read_zone().get(old.name, "A") == newer


def test_a_unit_fails_whole_when_its_second_change_conflicts(route53: Route53Provider) -> None:
    """An RRset and its ownership record go together or not at all (S4, S5)."""
    seed(route53, Record(marker_name(f"mx9.{ZONE}", "A"), "TXT", 300, ['"owner=someone"']))
    unit = (
        Change.create(Record(f"mx9.{ZONE}", "A", 300, ["127.0.0.9"])),
        Change.create(Record(marker_name(f"mx9.{ZONE}", "A"), "TXT", 300, ['"owner=mail-prod"'])),
    )
    with pytest.raises(ConflictError):
        route53.apply([unit])
    assert route53.read_zone().get(f"mx9.{ZONE}", "A") is None


def test_listing_pages_through_a_large_zone(route53: Route53Provider) -> None:
    records = [
        Record(f"h{i:04}.{ZONE}", "A", 300, [f"127.0.{i // 250}.{i % 250}"]) for i in range(700)
    ]
    route53.apply([Change.create(r) for r in records])
    zone = route53.read_zone()
    assert all(zone.get(r.name, "A") == r for r in records)


def test_batches_stay_within_route53_limits(route53: Route53Provider) -> None:
    batches = sent_batches(route53.client)
    changes = [
        Change.create(Record(f"t{i:04}.{ZONE}", "TXT", 300, [f"{'v' * 40} {i}"]))
        for i in range(1500)
    ]
    result = route53.apply(changes)
    assert result.batches == len(batches) >= 2
    for batch in batches:
        records = [v for c in batch for v in c["ResourceRecordSet"]["ResourceRecords"]]
        assert len(records) <= 1000
        assert sum(len(v["Value"]) for v in records) <= 32000
    assert len(route53.read_zone().records) >= 1500


@pytest.mark.parametrize("code", ["Throttling", "PriorRequestNotComplete"])
def test_a_busy_route53_is_retried_by_botocore_alone(
    moto_endpoint: str, hosted_zone: str, code: str
) -> None:
    del hosted_zone
    with fault_proxy(moto_endpoint) as proxy:
        proxy.fail("ChangeResourceRecordSets", Fault(code, status=400, times=2))
        session = aws_session(proxy.url, max_attempts=3)
        provider = Route53Provider(ZONE, session=session)
        provider.apply([Change.create(Record(f"x.{ZONE}", "A", 300, ["127.0.0.9"]))])
        assert proxy.seen["ChangeResourceRecordSets"] == 3, "two refused, then the one that passed"
        assert provider.read_zone().get(f"x.{ZONE}", "A") is not None
    # The session's counter sees Route 53 as it sees EC2: one call, whatever botocore retried.
    assert session.counter.snapshot()["route53:ChangeResourceRecordSets"] == 1


def test_throttling_that_does_not_end_costs_the_configured_attempts_only(
    moto_endpoint: str, hosted_zone: str
) -> None:
    del hosted_zone
    with fault_proxy(moto_endpoint) as proxy:
        proxy.fail("ChangeResourceRecordSets", Fault("Throttling", status=400))
        session = aws_session(proxy.url, max_attempts=3)
        provider = Route53Provider(ZONE, session=session)
        with pytest.raises(TransientError, match=r"throttling.*\(Throttling\)"):
            provider.apply([Change.create(Record(f"x.{ZONE}", "A", 300, ["127.0.0.9"]))])
        assert proxy.seen["ChangeResourceRecordSets"] == session.max_attempts == 3


def test_route53_5xx_are_retried_and_then_transient(moto_endpoint: str, hosted_zone: str) -> None:
    del hosted_zone
    with fault_proxy(moto_endpoint) as proxy:
        proxy.fail("ListResourceRecordSets", Fault("ServiceUnavailable", status=503))
        session = aws_session(proxy.url, max_attempts=2)
        with pytest.raises(TransientError):
            Route53Provider(ZONE, session=session).read_zone()
        assert proxy.seen["ListResourceRecordSets"] == 2


def test_route53_denied_is_a_permission_error(moto_endpoint: str, hosted_zone: str) -> None:
    del hosted_zone
    with fault_proxy(moto_endpoint) as proxy:
        proxy.fail("ListHostedZonesByName", Fault("AccessDenied", status=403))
        with pytest.raises(PermissionDeniedError, match="iam-policy"):
            Route53Provider(ZONE, session=aws_session(proxy.url)).read_zone()
        assert proxy.seen["ListHostedZonesByName"] == 1, "a refusal is not retried"


def test_confirm_waits_for_insync(route53: Route53Provider) -> None:
    result = route53.apply([Change.create(Record(f"x.{ZONE}", "A", 300, ["127.0.0.9"]))])
    propagation = route53.confirm(result, timeout=10)
    assert propagation.complete
    assert [s.server for s in propagation.servers] == [
        f"route53 {result.change_ids[0].split('/')[-1]}"
    ]


def test_a_zone_that_does_not_exist_is_a_configuration_error(moto_endpoint: str) -> None:
    provider = Route53Provider("nowhere.test", session=aws_session(moto_endpoint))
    with pytest.raises(ConfigError, match=r"no Route 53 hosted zone named nowhere\.test"):
        provider.read_zone()


def test_aws_endpoint_url_is_honoured(
    moto_endpoint: str, hosted_zone: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    provider = Route53Provider.from_config(
        config_module.parse(
            f'owner = "o"\n[dns]\nprovider = "route53"\nzone = "{ZONE}"\n'
            f'hosted_zone_id = "/hostedzone/{hosted_zone}"\n',
            Path("eipkeeper.toml"),
        )
    )
    assert provider.zone_id == hosted_zone
    assert provider.read_zone().name == ZONE


def test_ownership_works_the_same_on_route53(route53: Route53Provider) -> None:
    seed(route53, Record(f"legacy.{ZONE}", "A", 300, ["127.0.5.1"]))
    registry = Registry(route53, owner=OWNER)
    zone = registry.read()
    registry.apply(
        [registry.change(zone, name=f"mx1.{ZONE}", rdtype="A", ttl=300, values=["127.0.0.10"])]
    )
    after = route53.read_zone()
    assert after.get(marker_name(f"mx1.{ZONE}", "A"), "TXT") is not None
    owned = registry.read().get(f"mx1.{ZONE}", "A")
    assert owned is not None and owned.owner == OWNER
    assert registry.read().get(f"legacy.{ZONE}", "A").owner == ""  # type: ignore[union-attr]
