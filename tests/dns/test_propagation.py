"""Confirming a change by the SOA serial on every authoritative server."""

from __future__ import annotations

from dataclasses import replace

import pytest

from eipkeeper.dns.propagation import (
    Target,
    parse_server,
    poll_serials,
    serial_after,
    serial_at_least,
)
from eipkeeper.dns.records import Change, Record
from eipkeeper.dns.rfc2136 import Rfc2136Provider
from eipkeeper.errors import ConfigError
from eipkeeper.sandbox.bind import LocalBind, free_port
from tests.support.clock import FakeClock
from tests.support.dnsproxy import udp_delay_proxy

from .conftest import ZONE, rfc2136


def test_a_change_is_confirmed_on_the_primary_and_a_notified_secondary() -> None:
    secondary_port = free_port()
    with (
        LocalBind(ZONE, also_notify=[secondary_port]) as primary,
        LocalBind(ZONE, primary=primary, port=secondary_port) as secondary,
    ):
        provider = rfc2136(primary, verify_servers=[primary.server, secondary.server])
        result = provider.apply([Change.create(Record(f"new.{ZONE}", "A", 60, ["127.0.0.4"]))])
        propagation = provider.confirm(result, timeout=30)
        assert propagation.complete, propagation
        assert propagation.lagging == ()
        assert propagation.serial == result.serial
        assert {s.serial for s in propagation.servers} == {result.serial}
        assert propagation.confirmed_at is not None
        assert propagation.confirmed_at >= result.finished_at


def test_a_server_still_on_the_old_serial_is_reported_as_lagging() -> None:
    clock = FakeClock()
    with LocalBind(ZONE) as primary, LocalBind(ZONE) as stale:
        # `stale` serves the zone but never hears of the change: a secondary that lags.
        provider = rfc2136(primary, verify_servers=[primary.server, stale.server])
        provider.clock, provider.sleep = clock, clock.sleep
        result = provider.apply([Change.create(Record(f"new.{ZONE}", "A", 60, ["127.0.0.4"]))])
        propagation = provider.confirm(result, timeout=5)
    assert not propagation.complete
    assert propagation.lagging == (stale.server,)
    assert propagation.confirmed_at is None
    lagging = next(s for s in propagation.servers if s.server == stale.server)
    assert lagging.serial == 1
    # Its serial and the primary's, and where to look: NOTIFY and the transfer.
    assert f"serves serial 1, the primary {result.serial}" in lagging.error
    assert "NOTIFY" in lagging.error
    assert clock.now >= 1_800_000_005.0  # it kept asking until the timeout


def test_a_server_whose_serial_moved_but_serves_the_old_value_is_not_confirmed() -> None:
    # A secondary that refused the transfer yet serves a serial that looks current (changed
    # by another write, or PowerDNS EPOCH serials): the serial alone confirmed it before.
    clock = FakeClock()
    with (
        LocalBind(ZONE, records=["www 60 IN A 127.0.0.3"]) as primary,
        LocalBind(ZONE, records=["www 60 IN A 127.0.0.3"]) as stale,
    ):
        provider = rfc2136(primary, verify_servers=[primary.server, stale.server])
        provider.clock, provider.sleep = clock, clock.sleep
        old = Record(f"www.{ZONE}", "A", 60, ["127.0.0.3"])
        result = provider.apply([Change.update(old, Record(old.name, "A", 60, ["127.0.0.4"]))])
        other = rfc2136(stale)
        other.apply([Change.create(Record(f"unrelated.{ZONE}", "A", 60, ["127.0.0.9"]))])
        assert stale.soa_serial() == result.serial  # the serial looks current
        propagation = provider.confirm(result, timeout=3)
    assert propagation.lagging == (stale.server,)
    check = next(s for s in propagation.servers if s.server == stale.server)
    assert f"www.{ZONE} A lacks 127.0.0.4 and still has 127.0.0.3" in check.error


def test_a_serial_that_went_backwards_is_an_error_naming_the_setting(bind: LocalBind) -> None:
    provider = rfc2136(bind)
    result = provider.apply([Change.create(Record(f"new.{ZONE}", "A", 60, ["127.0.0.4"]))])
    assert result.serial_before == 1 and result.serial == 2
    # As PowerDNS with SOA-EDIT-DNSUPDATE=EPOCH answered: 2026120702 -> 1796686324.
    backwards = replace(result, serial_before=2026120702, serial=1796686324)
    propagation = provider.confirm(backwards, timeout=1)
    assert not propagation.complete
    assert "went backwards" in propagation.problem
    assert "2026120702 -> 1796686324" in propagation.problem
    assert "SOA-EDIT-DNSUPDATE" in propagation.problem
    unmoved = replace(result, serial_before=result.serial)
    assert "did not move" in provider.confirm(unmoved, timeout=1).problem


def test_a_verify_server_slower_than_a_round_is_waited_for(bind: LocalBind) -> None:
    # Every answer 1.5 s late (a round waits 1 s): it confirmed never, and drain stayed at
    # dns-out for good. The clock is fake: the timeout is not what is being measured.
    clock = FakeClock()
    with udp_delay_proxy(bind.host, bind.port, delay=1.5) as port:
        slow = f"127.0.0.1:{port}"
        provider = rfc2136(bind, verify_servers=[slow])
        provider.clock, provider.sleep = clock, clock.sleep
        result = provider.apply([Change.create(Record(f"new.{ZONE}", "A", 60, ["127.0.0.4"]))])
        propagation = provider.confirm(result, timeout=30)
    assert propagation.complete, propagation.explain()


def test_an_unreachable_server_is_reported_with_its_error(bind: LocalBind) -> None:
    clock = FakeClock()
    nobody = f"127.0.0.1:{free_port()}"
    provider = rfc2136(bind, verify_servers=[bind.server, nobody])
    provider.clock, provider.sleep = clock, clock.sleep
    result = provider.apply([Change.create(Record(f"new.{ZONE}", "A", 60, ["127.0.0.4"]))])
    propagation = provider.confirm(result, timeout=2)
    assert propagation.lagging == (nobody,)
    checks = {s.server: s for s in propagation.servers}
    assert checks[bind.server].confirmed_at is not None
    assert checks[nobody].serial is None
    assert checks[nobody].error in ("Connection refused", "no answer")


def test_without_verify_servers_the_zone_ns_set_is_asked(bind: LocalBind) -> None:
    provider = rfc2136(bind, verify_servers=[])
    targets = provider.verify_targets()
    # LocalBind's zone: NS ns1.example.test with glue 127.0.0.1, on the standard port.
    assert targets == [Target(f"ns1.{ZONE} (127.0.0.1)", "127.0.0.1", 53)]


def test_nothing_applied_needs_no_confirmation(provider: Rfc2136Provider) -> None:
    result = provider.apply([])
    assert provider.confirm(result, timeout=1).complete


def test_polling_stops_at_the_timeout_on_a_fake_clock() -> None:
    clock = FakeClock()
    target = Target("nowhere", "127.0.0.1", free_port())
    propagation = poll_serials(
        [target], zone=ZONE, serial=5, timeout=3, clock=clock, sleep=clock.sleep
    )
    assert propagation.lagging == ("nowhere",)
    assert clock.now >= 1_800_000_003.0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ns1.example.test", ("ns1.example.test", 53)),
        ("192.0.2.53:5353", ("192.0.2.53", 5353)),
        ("[2001:db8::53]:5300", ("2001:db8::53", 5300)),
        ("2001:db8::53", ("2001:db8::53", 53)),
    ],
)
def test_verify_servers_are_host_or_host_and_port(text: str, expected: tuple[str, int]) -> None:
    assert parse_server(text) == expected


@pytest.mark.parametrize("text", ["host:port", "host:0", ":53"])
def test_a_malformed_verify_server_is_a_config_error(text: str) -> None:
    with pytest.raises(ConfigError):
        parse_server(text)


def test_strictly_greater_by_rfc_1982_arithmetic() -> None:
    assert serial_after(6, 5)
    assert not serial_after(5, 5)
    assert not serial_after(1796686324, 2026120702)
    assert serial_after(3, 2**32 - 3)
    assert not serial_after(5 + 2**31, 5)  # undefined in RFC 1982: never "greater"


def test_serials_compare_by_rfc_1982_arithmetic() -> None:
    assert serial_at_least(5, 5)
    assert serial_at_least(6, 5)
    assert not serial_at_least(4, 5)
    assert serial_at_least(3, 2**32 - 3)  # wrapped around
    assert not serial_at_least(2**32 - 3, 3)
