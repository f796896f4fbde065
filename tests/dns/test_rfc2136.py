"""The RFC 2136 provider against a real BIND: round trips, compare-and-swap, batching, errors."""

from __future__ import annotations

import socket
import threading

import pytest

from eipkeeper.dns.provider import ApplyConflict, ApplyInterrupted, ApplyTransient
from eipkeeper.dns.records import Change, Record
from eipkeeper.dns.rfc2136 import Rfc2136Provider
from eipkeeper.dns.tsig import TsigKey, load_key
from eipkeeper.errors import ConflictError, OperationError, TransientError
from eipkeeper.sandbox.bind import LocalBind, free_port
from tests.support.dnsproxy import dns_proxy

from .conftest import ZONE, rfc2136, seed

SPF = "v=spf1 ip4:192.0.2.0/24 ip4:198.51.100.7 -all"


def test_a_aaaa_mx_txt_and_spf_read_back_as_written(provider: Rfc2136Provider) -> None:
    written = [
        Record(f"mx1.{ZONE}", "A", 300, ["127.0.0.10"]),
        Record(f"mx1.{ZONE}", "AAAA", 300, ["2001:DB8::10", "2001:db8:0:0::11"]),
        # BIND refuses an MX whose in-zone target has no address: mx2 lies outside.
        Record(ZONE, "MX", 300, ["10 mx1.example.test", "20 MX2.Example.NET."]),
        Record(ZONE, "TXT", 60, [SPF, '"google-site-verification=abc"']),
        Record(f"long.{ZONE}", "TXT", 60, ['"part one" "part \\"two\\""', "x" * 300]),
    ]
    provider.apply([Change.create(record) for record in written])
    zone = provider.read_zone()
    for record in written:
        assert zone.get(record.name, record.type) == record
    assert zone.get(ZONE, "MX") == Record(
        ZONE, "MX", 300, ("10 mx1.example.test.", "20 mx2.example.net.")
    )
    assert f'"{SPF}"' in zone.get(ZONE, "TXT").values  # type: ignore[union-attr]
    assert zone.get(f"ns1.{ZONE}", "A") is not None  # what LocalBind's zone file holds


def test_update_and_delete_replace_exactly_what_was_read(provider: Rfc2136Provider) -> None:
    old = Record(f"www.{ZONE}", "A", 300, ["127.0.0.5"])
    first = provider.apply([Change.create(old)])
    new = Record(f"www.{ZONE}", "A", 60, ["127.0.0.6", "127.0.0.7"])
    second = provider.apply([Change.update(old, new)])
    assert provider.read_zone().get(new.name, "A") == new
    assert second.serial is not None and first.serial is not None
    assert second.serial > first.serial
    provider.apply([Change.delete(new)])
    assert provider.read_zone().get(new.name, "A") is None


def test_two_writers_on_one_rrset_exactly_one_wins(bind: LocalBind) -> None:
    seed(rfc2136(bind), Record(f"race.{ZONE}", "A", 300, ["127.0.0.1"]))
    writers = [rfc2136(bind), rfc2136(bind)]
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
    final = writers[0].read_zone().get(f"race.{ZONE}", "A")
    assert final is not None and final.values == (f"127.0.1.{winner + 1}",)


def test_a_create_fails_when_someone_created_the_rrset_first(provider: Rfc2136Provider) -> None:
    seed(provider, Record(f"taken.{ZONE}", "A", 300, ["127.0.0.2"]))
    with pytest.raises(ConflictError, match="prerequisite"):
        provider.apply([Change.create(Record(f"taken.{ZONE}", "A", 300, ["127.0.0.3"]))])
    assert provider.read_zone().get(f"taken.{ZONE}", "A").values == ("127.0.0.2",)  # type: ignore[union-attr]


def test_a_stale_delete_leaves_the_new_values_alone(provider: Rfc2136Provider) -> None:
    old = Record(f"stale.{ZONE}", "A", 300, ["127.0.0.2"])
    seed(provider, old)
    newer = Record(old.name, "A", 300, ["127.0.0.2", "127.0.0.3"])
    provider.apply([Change.update(old, newer)])  # another writer added a value
    with pytest.raises(ConflictError):
        provider.apply([Change.delete(old)])
    assert provider.read_zone().get(old.name, "A") == newer


def test_a_large_change_set_is_split_into_messages_that_all_apply(
    provider: Rfc2136Provider,
) -> None:
    changes = [
        Change.create(Record(f"host{i}.{ZONE}", "TXT", 300, [f"some text for host {i} " * 3]))
        for i in range(3000)
    ]
    result = provider.apply(changes)
    assert result.batches >= 3
    assert len(result.applied) == 3000
    zone = provider.read_zone()
    assert all(zone.get(c.record.name, "TXT") == c.new for c in changes)


def test_a_failed_batch_keeps_the_earlier_batches_and_reports_them(bind: LocalBind) -> None:
    provider = rfc2136(bind, max_message=600)
    changes = [
        Change.create(Record(f"n{i:02}.{ZONE}", "A", 300, [f"127.0.2.{i}"])) for i in range(40)
    ]
    seed(provider, Record(f"n25.{ZONE}", "A", 300, ["127.0.3.1"]))  # a concurrent writer
    with pytest.raises(ApplyConflict) as caught:
        provider.apply(changes)
    error = caught.value
    assert isinstance(error, ConflictError) and isinstance(error, ApplyInterrupted)
    assert error.batches_applied > 0
    assert list(error.applied) + list(error.not_applied) == changes
    assert changes[25] in error.not_applied
    assert "re-read and re-plan" in error.message
    zone = provider.read_zone()
    for change in error.applied:
        assert zone.get(change.record.name, "A") == change.new
    for change in error.not_applied:
        if change is not changes[25]:
            assert zone.get(change.record.name, "A") is None


def test_an_atomic_unit_too_large_for_one_message_is_refused(bind: LocalBind) -> None:
    provider = rfc2136(bind, max_message=300)
    unit = tuple(Change.create(Record(f"u{i}.{ZONE}", "TXT", 300, ["y" * 100])) for i in range(4))
    with pytest.raises(OperationError, match="too large"):
        provider.apply([unit])


def test_a_wrong_secret_is_reported_as_badsig(bind: LocalBind) -> None:
    good = load_key(bind.key_file)
    provider = rfc2136(bind)
    provider.key = TsigKey(good.name, good.algorithm, b"not the secret" * 2, source="wrong.key")
    with pytest.raises(OperationError, match="BADSIG") as caught:
        provider.read_zone()
    assert "wrong.key" in caught.value.message
    with pytest.raises(OperationError, match="BADSIG"):
        provider.apply([Change.create(Record(f"x.{ZONE}", "A", 300, ["127.0.0.9"]))])


def test_an_unknown_key_is_reported_as_badkey_by_name(bind: LocalBind) -> None:
    good = load_key(bind.key_file)
    provider = rfc2136(bind)
    provider.key = TsigKey("no-such-key", good.algorithm, good.secret)
    with pytest.raises(OperationError, match="BADKEY") as caught:
        provider.apply([Change.create(Record(f"x.{ZONE}", "A", 300, ["127.0.0.9"]))])
    assert "no-such-key" in caught.value.message
    assert good.secret.hex() not in caught.value.message


def test_a_skewed_clock_is_reported_as_badtime_with_a_hint(provider: Rfc2136Provider) -> None:
    provider.tsig_time = lambda: 1_000_000_000.0  # 2001: far outside the 300 s fudge
    with pytest.raises(OperationError, match="BADTIME") as caught:
        provider.apply([Change.create(Record(f"x.{ZONE}", "A", 300, ["127.0.0.9"]))])
    assert "clock" in caught.value.message


def test_a_zone_the_server_does_not_serve_is_notauth(bind: LocalBind) -> None:
    provider = Rfc2136Provider(
        "other.test", server=bind.host, port=bind.port, key=load_key(bind.key_file)
    )
    with pytest.raises(OperationError, match="NOTAUTH"):
        provider.apply([Change.create(Record("x.other.test", "A", 300, ["127.0.0.9"]))])


def test_a_zone_without_update_policy_is_refused() -> None:
    with LocalBind(ZONE, allow_update=False, allow_transfer=False) as server:
        provider = rfc2136(server)
        with pytest.raises(OperationError, match="REFUSED") as caught:
            provider.apply([Change.create(Record(f"x.{ZONE}", "A", 300, ["127.0.0.9"]))])
        assert "update-policy" in caught.value.message
        with pytest.raises(OperationError, match="zone transfer") as refused:
            provider.read_zone()
        assert "allow-transfer" in refused.value.message


def test_a_server_that_is_down_is_transient() -> None:
    provider = Rfc2136Provider(
        ZONE,
        server="127.0.0.1",
        port=free_port(),
        key=TsigKey("k", "hmac-sha256", b"0" * 32),
        timeout=2,
    )
    with pytest.raises(TransientError, match="refused the connection"):
        provider.read_zone()
    with pytest.raises(TransientError) as caught:
        provider.apply([Change.create(Record(f"x.{ZONE}", "A", 300, ["127.0.0.9"]))])
    assert "none of the 1 changes was applied" in caught.value.message


def test_a_server_that_never_answers_is_transient() -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # connections queue up and are never read
        provider = Rfc2136Provider(
            ZONE,
            server="127.0.0.1",
            port=silent.getsockname()[1],
            key=TsigKey("k", "hmac-sha256", b"0" * 32),
            timeout=0.5,
        )
        with pytest.raises(TransientError, match=r"did not answer within 0\.5 s"):
            provider.apply([Change.create(Record(f"x.{ZONE}", "A", 300, ["127.0.0.9"]))])


def test_an_update_answered_after_the_timeout_is_found_by_reading_the_zone_again(
    bind: LocalBind,
) -> None:
    # PowerDNS on SQLite answered one big message after 13 s, past the client's 10 s, and
    # eipkeeper said "none of the changes was applied" although the server committed them.
    with dns_proxy(bind.host, bind.port) as proxy:
        provider = Rfc2136Provider(
            ZONE,
            server="127.0.0.1",
            port=proxy.port,
            key=load_key(bind.key_file),
            verify_servers=[bind.server],
            timeout=0.5,
            max_changes=2,
        )
        proxy.late.append(1.5)
        records = [Record(f"n{i}.{ZONE}", "A", 60, [f"127.0.0.{i + 1}"]) for i in range(3)]
        with pytest.raises(ApplyTransient) as caught:
            provider.apply([Change.create(r) for r in records])
    message = caught.value.message
    assert "did not answer within 0.5 s" in message
    assert "the zone holds 2 of the 3 changes whose answer did not come" in message
    assert [c.record.name for c in caught.value.applied] == [f"n0.{ZONE}", f"n1.{ZONE}"]
    assert [c.record.name for c in caught.value.not_applied] == [f"n2.{ZONE}"]
    assert "none of the" not in message
    # The rerun sends what is not in the zone, and its compare-and-swap holds: converged.
    rerun = rfc2136(bind)
    rerun.apply(caught.value.not_applied)
    zone = rerun.read_zone()
    assert all(zone.get(r.name, "A") == r for r in records)


def test_messages_stay_within_max_changes(provider: Rfc2136Provider) -> None:
    provider.max_changes = 3
    units = [
        (
            Change.create(Record(f"n{i}.{ZONE}", "A", 60, ["127.0.0.1"])),
            Change.create(Record(f"n{i}.{ZONE}", "TXT", 60, ["x"])),
        )
        for i in range(4)
    ]
    # A unit of two is never split: 2 + 2 would exceed 3, so each message holds one unit.
    assert [len(b) for b in provider.batches(units)] == [2, 2, 2, 2]
    provider.max_changes = 4
    assert [len(b) for b in provider.batches(units)] == [4, 4]


def test_changes_outside_the_zone_or_twice_on_one_rrset_are_rejected(
    provider: Rfc2136Provider,
) -> None:
    with pytest.raises(OperationError, match="not in zone"):
        provider.apply([Change.create(Record("x.elsewhere.test", "A", 300, ["127.0.0.9"]))])
    record = Record(f"x.{ZONE}", "A", 300, ["127.0.0.9"])
    with pytest.raises(ValueError, match="two changes"):
        provider.apply([Change.create(record), Change.delete(record)])


def test_a_long_apply_reports_its_progress_message_by_message(provider: Rfc2136Provider) -> None:
    provider.max_changes = 2
    seen: list[tuple[int, int]] = []
    provider.on_progress = lambda sent, total: seen.append((sent, total))
    records = [Record(f"p{i}.{ZONE}", "A", 60, ["127.0.0.1"]) for i in range(5)]
    provider.apply([Change.create(r) for r in records])
    assert seen == [(2, 5), (4, 5), (5, 5)]
