"""DNSBL lookups against responders planted on loopback: an error is never "clean"."""

from __future__ import annotations

import pytest

from eipkeeper.config import Config, ReputationConfig, SelectConfig, ServiceConfig
from eipkeeper.dns.dnsbl import Dnsbl, ReputationWatch
from eipkeeper.reputation import fcrdns, judge, query_name
from eipkeeper.sandbox.dnsbl import ZONE, DnsblAnswer, DnsblServer

IP = "127.9.8.7"


def _lookup(server: DnsblServer, *, timeout: float = 1.0) -> Dnsbl:
    return Dnsbl(ReputationConfig(dnsbl=[ZONE], resolver=server.address, timeout=timeout))


def _serve(reply: DnsblAnswer) -> DnsblServer:
    return DnsblServer(answer=lambda ip: reply).start()


def test_query_name_reverses_the_octets() -> None:
    assert query_name("1.2.3.4", "zen.spamhaus.org.") == "4.3.2.1.zen.spamhaus.org"


def test_nxdomain_is_clean() -> None:
    server = _serve(DnsblAnswer())
    try:
        listing = _lookup(server).listing(IP, ZONE)
    finally:
        server.stop()
    assert listing.state == "clean"


def test_a_listing_carries_its_code_and_the_zones_reason() -> None:
    server = _serve(DnsblAnswer(("127.0.0.2",), "on the SBL since Tuesday"))
    try:
        listing = _lookup(server).listing(IP, ZONE)
    finally:
        server.stop()
    assert (listing.state, listing.code, listing.reason) == (
        "listed",
        "127.0.0.2",
        "on the SBL since Tuesday",
    )


@pytest.mark.parametrize("code", ["127.255.255.252", "127.255.255.254", "127.255.255.255"])
def test_spamhaus_error_codes_are_errors_never_clean(code: str) -> None:
    server = _serve(DnsblAnswer((code,), "refused"))
    try:
        listing = _lookup(server).listing(IP, ZONE)
    finally:
        server.stop()
    assert listing.state == "error"
    assert listing.code == code


def test_a_zone_that_does_not_answer_is_an_error_never_clean() -> None:
    server = _serve(DnsblAnswer(silent=True))
    try:
        reputation = _lookup(server, timeout=0.3).check(IP, now=0.0)
    finally:
        server.stop()
    assert not reputation.clean
    assert [x.code for x in reputation.errors] == ["timeout"]


def test_an_answer_outside_the_listing_range_is_an_error() -> None:
    assert judge(IP, ZONE, answers=["10.0.0.1"]).state == "error"
    assert judge(IP, ZONE, answers=["127.0.0.1"]).state == "error"
    assert judge(IP, ZONE, answers=["127.0.0.254"]).state == "listed"


def test_the_watch_looks_again_only_after_recheck_and_always_after_an_error() -> None:
    replies: dict[str, DnsblAnswer] = {}
    with DnsblServer(answer=lambda ip: replies.get(ip, DnsblAnswer())) as server:
        config = ReputationConfig(dnsbl=[ZONE], resolver=server.address, recheck=3600.0)
        watch = ReputationWatch(config=_config(config))
        assert watch.reputations([(IP, "mx")], now=0.0)[IP].clean
        replies[IP] = DnsblAnswer(("127.0.0.2",), "caught")
        assert watch.reputations([(IP, "mx")], now=3599.0)[IP].clean  # within recheck
        assert watch.reputations([(IP, "mx")], now=3600.0)[IP].listed
        replies[IP] = DnsblAnswer(("127.255.255.254",))
        assert watch.reputations([(IP, "mx")], now=7200.0)[IP].errors
        replies[IP] = DnsblAnswer()
        assert watch.reputations([(IP, "mx")], now=7201.0)[IP].clean  # error not kept


def test_fcrdns_needs_the_ptr_names_a_records_to_include_the_address() -> None:
    assert fcrdns(IP, "mx1.example.test", [IP, "127.1.1.1"]) is None
    assert "resolves to 127.1.1.1" in (fcrdns(IP, "mx1.example.test", ["127.1.1.1"]) or "")
    assert "no reverse DNS" in (fcrdns(IP, "", [IP]) or "")


def _config(settings: ReputationConfig) -> Config:
    service = ServiceConfig(
        name="mx",
        select=SelectConfig(tags={"Role": "mx"}),
        addresses="elastic",
        hostnames=["mx1.example.test"],
        reputation=settings,
    )
    return Config(owner="t", services=[service])
