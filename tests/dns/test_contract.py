"""One provider contract, run against BIND 9, Knot DNS and PowerDNS (each really started).

The same tests on the three servers: what eipkeeper reads is what it wrote, every change is a
compare-and-swap the server honours, values added by hand stay someone else's, and a change
is confirmed only when every verify server serves it. The servers' differences (FACTS.md,
"DNS servers other than BIND") show up in the errors, never in what a test may expect.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from eipkeeper.dns.ownership import Registry
from eipkeeper.dns.provider import ApplyConflict
from eipkeeper.dns.records import Change, Record
from eipkeeper.dns.rfc2136 import Rfc2136Provider
from eipkeeper.dns.tsig import TsigKey, load_key
from eipkeeper.errors import OperationError
from eipkeeper.sandbox.bind import LocalBind, free_port
from eipkeeper.sandbox.dnsservers import local_dns
from eipkeeper.sandbox.knot import LocalKnot
from eipkeeper.sandbox.localdns import DNS_KINDS, DnsKind, LocalServer
from eipkeeper.sandbox.pdns import LocalPdns

from .conftest import OWNER, ZONE

SEED = [
    "www 60 IN A 127.0.0.3",
    "www 60 IN A 127.0.0.4",
    "@ 300 IN MX 10 mx1.example.test.",
    "mx1 300 IN A 127.0.0.10",
    'spf 3600 IN TXT "v=spf1 ip4:127.0.0.10 -all"',
]

Server = LocalServer | LocalBind


@pytest.fixture(params=DNS_KINDS)
def server(request: pytest.FixtureRequest) -> Iterator[Server]:
    with local_dns(request.param, ZONE, records=SEED) as started:
        yield started


def provider_for(
    server: Server, *, key: TsigKey | None = None, **kwargs: object
) -> Rfc2136Provider:
    return Rfc2136Provider(
        ZONE,
        server=server.host,
        port=server.port,
        key=key or load_key(server.key_file),
        verify_servers=kwargs.pop("verify_servers", [server.server]),  # type: ignore[arg-type]
        **kwargs,  # type: ignore[arg-type]
    )


def test_read_gives_the_zone_as_written(server: Server) -> None:
    zone = provider_for(server).read_zone()
    assert zone.get(f"www.{ZONE}", "A") == Record(
        f"www.{ZONE}", "A", 60, ["127.0.0.3", "127.0.0.4"]
    )
    assert zone.get(ZONE, "MX") == Record(ZONE, "MX", 300, ["10 mx1.example.test."])
    assert zone.get(f"spf.{ZONE}", "TXT") == Record(
        f"spf.{ZONE}", "TXT", 3600, ['"v=spf1 ip4:127.0.0.10 -all"']
    )
    assert zone.serial == 1


def test_create_update_delete_each_confirmed(server: Server) -> None:
    provider = provider_for(server)
    new = Record(f"new.{ZONE}", "A", 60, ["127.0.0.5"])
    steps = [
        Change.create(new),
        Change.update(new, Record(new.name, "A", 60, ["127.0.0.6", "127.0.0.7"])),
        Change.delete(Record(new.name, "A", 60, ["127.0.0.6", "127.0.0.7"])),
    ]
    for change in steps:
        result = provider.apply([change])
        assert result.serial_before is not None and result.serial is not None
        assert result.serial > result.serial_before  # one message, the serial moved
        propagation = provider.confirm(result, timeout=10)
        assert propagation.complete, propagation.explain()
        assert provider.read_zone().get(new.name, "A") == change.new


def test_compare_and_swap_refuses_what_changed_since_the_read(server: Server) -> None:
    provider = provider_for(server)
    www = Record(f"www.{ZONE}", "A", 60, ["127.0.0.3"])  # one value short of what is there
    with pytest.raises(ApplyConflict):
        provider.apply([Change.update(www, Record(www.name, "A", 60, ["127.0.0.9"]))])
    with pytest.raises(ApplyConflict):
        provider.apply([Change.create(Record(f"mx1.{ZONE}", "A", 300, ["127.0.0.11"]))])
    with pytest.raises(ApplyConflict):
        provider.apply([Change.delete(Record(f"mx1.{ZONE}", "A", 300, ["127.0.0.99"]))])
    zone = provider.read_zone()
    assert zone.get(f"www.{ZONE}", "A") is not None
    assert zone.get(f"www.{ZONE}", "A").values == ("127.0.0.3", "127.0.0.4")  # type: ignore[union-attr]
    assert zone.get(f"mx1.{ZONE}", "A").values == ("127.0.0.10",)  # type: ignore[union-attr]


def test_a_value_added_by_hand_stays_someone_elses(server: Server) -> None:
    provider = provider_for(server)
    registry = Registry(provider, owner=OWNER)
    name = f"mail.{ZONE}"
    registry.apply(
        [registry.change(registry.read(), name=name, rdtype="A", ttl=300, values=["127.0.0.20"])]
    )
    ours = provider.read_zone().get(name, "A")
    assert ours is not None
    provider.apply([Change.update(ours, Record(name, "A", 300, ["127.0.0.20", "127.0.0.99"]))])
    owned = registry.read().get(name, "A")
    assert owned is not None
    assert owned.owner_of("127.0.0.99") == "" and owned.owner_of("127.0.0.20") == OWNER
    # Ours moves to .21; the hand-added value is kept.
    unit = registry.change(registry.read(), name=name, rdtype="A", ttl=300, values=["127.0.0.21"])
    result = registry.apply([unit])
    assert provider.confirm(result, timeout=10).complete
    after = provider.read_zone().get(name, "A")
    assert after is not None and after.values == ("127.0.0.21", "127.0.0.99")
    marker = registry.read().marker(name, "A")
    assert marker is not None and "values=127.0.0.21" in marker.values[0]


def test_txt_quoting_and_mixed_ttls_read_back_exactly(server: Server) -> None:
    provider = provider_for(server)
    records = [
        Record(f"t1.{ZONE}", "TXT", 60, ['"quote \\" and backslash \\\\ and ; semicolon"']),
        Record(f"t2.{ZONE}", "TXT", 120, ['"one" "two strings"', '"a second value"']),
        Record(f"t3.{ZONE}", "TXT", 300, ["x" * 300]),  # split into 255 + 45
        Record(f"ttl.{ZONE}", "A", 30, ["127.0.0.30"]),
        Record(f"ttl.{ZONE}", "AAAA", 3600, ["2001:db8::1"]),
    ]
    result = provider.apply([Change.create(r) for r in records])
    assert provider.confirm(result, timeout=10).complete
    zone = provider.read_zone()
    for record in records:
        assert zone.get(record.name, record.type) == record
    # A TTL-only change is a change like any other, and confirmed by its served TTL's values.
    old = records[3]
    result = provider.apply([Change.update(old, Record(old.name, "A", 90, old.values))])
    assert provider.confirm(result, timeout=10).complete
    assert provider.read_zone().get(old.name, "A").ttl == 90  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("kind", "secondary_kind"),
    [(k, "bind") for k in DNS_KINDS] + [("knot", "knot"), ("pdns", "pdns")],
)
def test_a_change_reaches_a_notified_secondary(kind: DnsKind, secondary_kind: str) -> None:
    port = free_port()
    with local_dns(kind, ZONE, records=SEED, also_notify=[port]) as primary:
        make = {"bind": LocalBind, "knot": LocalKnot, "pdns": LocalPdns}[secondary_kind]
        with make(ZONE, primary=primary, port=port) as secondary:
            provider = provider_for(primary, verify_servers=[primary.server, secondary.server])
            www = Record(f"www.{ZONE}", "A", 60, ["127.0.0.3", "127.0.0.4"])
            result = provider.apply([Change.update(www, Record(www.name, "A", 60, ["127.0.0.8"]))])
            propagation = provider.confirm(result, timeout=30)
            assert propagation.complete, propagation.explain()
            assert secondary.soa_serial() == result.serial


def test_a_large_zone_goes_in_bounded_messages_and_reads_back(server: Server) -> None:
    provider = provider_for(server, max_changes=250)
    records = [
        Record(f"h{i}.{ZONE}", "A", 300, [f"127.0.{i // 250}.{i % 250 + 1}"]) for i in range(600)
    ]
    result = provider.apply([Change.create(r) for r in records])
    assert result.batches == 3
    assert provider.confirm(result, timeout=60).complete
    zone = provider.read_zone()
    assert all(zone.get(r.name, "A") == r for r in records)


def test_bad_keys_and_an_acl_that_denies_name_the_cause(server: Server) -> None:
    good = load_key(server.key_file)
    wrong_secret = provider_for(server, key=TsigKey(good.name, good.algorithm, b"x" * 32))
    unknown = provider_for(server, key=TsigKey("nobody", good.algorithm, good.secret))
    create = [Change.create(Record(f"x.{ZONE}", "A", 60, ["127.0.0.9"]))]
    for provider in (wrong_secret, unknown):
        with pytest.raises(OperationError) as caught:
            provider.apply(create)
        text = caught.value.message
        assert "malformed" not in text
        assert any(cause in text for cause in ("BADSIG", "BADKEY", "without a TSIG record"))


@pytest.mark.parametrize("kind", DNS_KINDS)
def test_a_key_that_may_not_update_is_told_so_by_check_and_by_apply(kind: DnsKind) -> None:
    with local_dns(kind, ZONE, records=SEED, allow_update=False) as server:
        provider = provider_for(server)
        assert len(provider.read_zone()) > 0  # it may read
        with pytest.raises(OperationError) as probed:
            provider.check_update()
        with pytest.raises(OperationError) as applied:
            provider.apply([Change.create(Record(f"x.{ZONE}", "A", 60, ["127.0.0.9"]))])
        assert server.soa_serial() == 1
    for text in (probed.value.message, applied.value.message):
        assert "does not know" not in text  # Knot's BADKEY is its acl, not an unknown key
        assert "may not update" in text or "does not let it update" in text


def test_powerdns_epoch_serials_that_go_backwards_are_never_confirmed() -> None:
    # As found: SOA-EDIT-DNSUPDATE=EPOCH took 2026120702 to the Unix time (smaller), a
    # secondary kept the old value, and eipkeeper said confirmed=True.
    port = free_port()
    with (
        LocalPdns(
            ZONE, records=SEED, soa_edit="EPOCH", serial=2026120702, also_notify=[port]
        ) as primary,
        LocalBind(ZONE, primary=primary, port=port) as secondary,
    ):
        provider = provider_for(primary, verify_servers=[primary.server, secondary.server])
        www = Record(f"www.{ZONE}", "A", 60, ["127.0.0.3", "127.0.0.4"])
        result = provider.apply([Change.update(www, Record(www.name, "A", 60, ["127.0.0.8"]))])
        assert result.serial is not None and result.serial < 2026120702
        propagation = provider.confirm(result, timeout=5)
    assert not propagation.complete
    assert "went backwards" in propagation.problem
    assert "SOA-EDIT-DNSUPDATE" in propagation.problem
