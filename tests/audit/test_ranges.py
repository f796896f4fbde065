"""The cloud's ranges: parsing ip-ranges.json, lookups, and where the ranges come from.

Nothing here touches the network: the download is always a function the test passes.
"""

from __future__ import annotations

import ipaddress
import json
import os
import random
from pathlib import Path

import pytest

from eipkeeper.cloud import ranges
from eipkeeper.cloud.ranges import CloudRanges, Unavailable
from eipkeeper.errors import ConfigError
from eipkeeper.sandbox.addresses import AddressPool

REAL = "https://ec2.eu-west-1.amazonaws.com"
NOW = 2_000_000_000.0


def document(*prefixes: tuple[str, str]) -> bytes:
    """An ip-ranges.json with PREFIXES as (prefix, service), in the shape AWS publishes."""
    v4 = [
        {"ip_prefix": p, "region": "eu-west-1", "service": s, "network_border_group": "eu-west-1"}
        for p, s in prefixes
        if ":" not in p
    ]
    v6 = [{"ipv6_prefix": p, "region": "eu-west-1", "service": s} for p, s in prefixes if ":" in p]
    body = {"syncToken": "1", "createDate": "2026-01-01-00-00-00", "prefixes": v4}
    return json.dumps({**body, "ipv6_prefixes": v6}).encode()


SAMPLE = document(
    ("198.51.100.0/25", "EC2"),
    ("198.51.100.128/25", "EC2"),  # adjacent: one span with the one above
    ("203.0.113.0/24", "AMAZON"),  # Amazon's, but not handed to instances
    ("2001:db8::/32", "EC2"),
)


def never(*_: object) -> bytes:
    raise AssertionError("the ranges were downloaded")


def test_only_ec2_prefixes_count() -> None:
    parsed = ranges.parse(SAMPLE, source="sample")
    assert parsed.contains("198.51.100.7") and parsed.contains("198.51.100.255")
    assert not parsed.contains("203.0.113.7")
    assert parsed.contains("2001:db8::1") and not parsed.contains("2001:db9::1")


@pytest.mark.parametrize(
    ("network", "covered"),
    [
        ("198.51.100.0/24", 256),  # two adjacent /25s: wholly inside
        ("198.51.100.128/26", 64),
        ("198.51.100.0/23", 256),  # half inside
        ("203.0.113.0/24", 0),
        ("2001:db8::/127", 2),
    ],
)
def test_covered_counts_addresses_inside(network: str, covered: int) -> None:
    parsed = ranges.parse(SAMPLE, source="sample")
    assert parsed.covered(ipaddress.ip_network(network)) == covered


def test_a_lookup_in_thousands_of_prefixes_is_a_binary_search() -> None:
    many = CloudRanges(
        networks=tuple(ipaddress.ip_network(f"10.{i // 256}.{i % 256}.0/25") for i in range(8000)),
        source="many",
    )
    assert many.contains("10.31.63.127") and not many.contains("10.31.63.128")


@pytest.mark.parametrize(
    "body", [b"not json", b"{}", json.dumps({"prefixes": [{"ip_prefix": "x", "service": "EC2"}]})]
)
def test_a_document_that_is_not_ip_ranges_is_a_config_error(body: str | bytes) -> None:
    with pytest.raises(ConfigError, match="sample"):
        ranges.parse(body, source="sample")


def test_the_local_copy_comes_first(tmp_path: Path) -> None:
    copy = tmp_path / "ip-ranges.json"
    copy.write_bytes(SAMPLE)
    found = ranges.load(
        local_copy=copy, endpoint="http://127.0.0.1:5000", cache=tmp_path / "c", fetch=never
    )
    assert isinstance(found, CloudRanges) and str(copy) in found.source
    assert found.contains("198.51.100.1") and not found.contains("127.0.0.2")


def test_a_missing_local_copy_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"audit\.cloud_ranges: cannot read"):
        ranges.load(local_copy=tmp_path / "nope.json", endpoint=REAL, cache=tmp_path, fetch=never)


@pytest.mark.parametrize(
    "endpoint", ["http://127.0.0.1:5000", "http://localhost:5000/", "http://[::1]:1"]
)
def test_the_sandbox_is_what_it_hands_out(tmp_path: Path, endpoint: str) -> None:
    found = ranges.load(local_copy=None, endpoint=endpoint, cache=tmp_path / "c", fetch=never)
    assert isinstance(found, CloudRanges) and found.contains("127.201.3.4")
    assert not found.contains("198.51.100.1")
    # This machine's own addresses (the sandbox BIND's ns1, resolvers): never a customer's.
    for own in ("127.0.0.1", "127.0.0.53", "127.0.1.1", "127.255.255.255"):
        assert not found.contains(own), own


def test_the_sandbox_ranges_cover_every_address_the_sandbox_draws() -> None:
    found = ranges.sandbox_ranges("http://127.0.0.1:5000")
    pool = AddressPool(in_use=list, rng=random.Random(7))
    assert all(found.contains(pool.draw()) for _ in range(2000))
    for inside in ("127.1.0.1", "127.254.255.254"):
        assert found.contains(inside), inside
    for outside in ("127.0.255.255", "127.255.0.1"):
        assert not found.contains(outside), outside


def test_a_download_is_cached_and_the_cache_used_for_a_day(tmp_path: Path) -> None:
    cache = tmp_path / "eipkeeper" / "ip-ranges.json"
    first = ranges.load(local_copy=None, endpoint="", cache=cache, fetch=lambda: SAMPLE)
    assert isinstance(first, CloudRanges) and "downloaded now" in first.source
    assert cache.read_bytes() == SAMPLE
    again = ranges.load(
        local_copy=None, endpoint=REAL, cache=cache, fetch=never, now=lambda: cache.stat().st_mtime
    )
    assert isinstance(again, CloudRanges) and "cached copy" in again.source


def test_a_stale_cache_is_refreshed_and_kept_when_the_download_fails(tmp_path: Path) -> None:
    cache = tmp_path / "ip-ranges.json"
    cache.write_bytes(SAMPLE)
    os.utime(cache, (NOW - 2 * 86400, NOW - 2 * 86400))
    newer = document(("192.0.2.0/24", "EC2"))
    fresh = ranges.load(
        local_copy=None, endpoint=REAL, cache=cache, fetch=lambda: newer, now=lambda: NOW
    )
    assert isinstance(fresh, CloudRanges) and fresh.contains("192.0.2.1")
    os.utime(cache, (NOW - 2 * 86400, NOW - 2 * 86400))

    def offline() -> bytes:
        raise OSError("Network is unreachable")

    stale = ranges.load(local_copy=None, endpoint=REAL, cache=cache, fetch=offline, now=lambda: NOW)
    assert isinstance(stale, CloudRanges) and stale.contains("192.0.2.1")


def test_no_copy_no_cache_no_download_is_unavailable_with_the_way_out(tmp_path: Path) -> None:
    def offline() -> bytes:
        raise OSError("Network is unreachable")

    found = ranges.load(local_copy=None, endpoint=REAL, cache=tmp_path / "c", fetch=offline)
    assert isinstance(found, Unavailable)
    assert "Network is unreachable" in found.reason and "[audit] cloud_ranges" in found.reason
