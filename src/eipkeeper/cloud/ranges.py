"""The cloud's address ranges: which addresses another AWS customer could be handed.

`audit` calls a record dangling only when its address lies in these ranges, so that an
on-premises address is never called dangling. The ranges are the `EC2` entries of AWS's
published ip-ranges.json, taken in this order:

1. the local copy named in `[audit] cloud_ranges` (air-gapped hosts, reproducible CI);
2. the sandbox's addresses when AWS_ENDPOINT_URL is a loopback URL (a download would be
   about the real cloud, not the one being audited): 127.1.0.0 to 127.254.255.255, the part
   of 127.0.0.0/8 the sandbox hands out. Not 127.0.x.x: that is this machine's own
   (127.0.0.1, where the sandbox's BIND and its `ns1` glue live; 127.0.0.53; 127.0.1.1), and
   an address no customer can be handed cannot dangle;
3. a cached download younger than a day, else a fresh download (cached), else a stale cache;
4. otherwise `Unavailable`, with the reason: then nothing is judged dangling.
"""

from __future__ import annotations

import bisect
import ipaddress
import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from eipkeeper.errors import ConfigError

URL = "https://ip-ranges.amazonaws.com/ip-ranges.json"
CACHE_MAX_AGE = 24 * 3600.0
"""AWS changes the file several times a week; a day-old copy misses little."""
DOWNLOAD_TIMEOUT = 10.0
SANDBOX_FIRST, SANDBOX_LAST = "127.1.0.0", "127.254.255.255"
"""What the sandbox draws public addresses from (`sandbox/addresses.py`: 127/8 without
127.0.x.x and 127.255.x.x); a test keeps the two in step."""
SANDBOX_RANGE = f"{SANDBOX_FIRST}-{SANDBOX_LAST}"
SERVICE = "EC2"
"""EC2's entries cover the addresses instances and Elastic IPs are drawn from."""

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Span:
    """A run of addresses [first, last] of one family, as integers."""

    version: int
    first: int
    last: int


@dataclass(frozen=True)
class CloudRanges:
    """The ranges as merged spans, so a lookup is one binary search however long the list."""

    networks: tuple[Network, ...]
    source: str
    """Where they came from, said in the audit's output."""

    @cached_property
    def _spans(self) -> dict[int, tuple[list[int], list[int]]]:
        spans = {}
        for version in (4, 6):
            merged = _merge(n for n in self.networks if n.version == version)
            spans[version] = ([s.first for s in merged], [s.last for s in merged])
        return spans

    def covered(self, network: Network) -> int:
        """How many addresses of NETWORK lie inside the ranges."""
        firsts, lasts = self._spans[network.version]
        low, high = int(network.network_address), int(network.broadcast_address)
        count = 0
        index = max(0, bisect.bisect_right(firsts, low) - 1)
        while index < len(firsts) and firsts[index] <= high:
            overlap = min(high, lasts[index]) - max(low, firsts[index]) + 1
            count += max(0, overlap)
            index += 1
        return count

    def contains(self, address: str) -> bool:
        parsed = ipaddress.ip_address(address)
        return self.covered(ipaddress.ip_network(parsed)) == 1


@dataclass(frozen=True)
class Unavailable:
    """No ranges could be had; REASON says why and what to do."""

    reason: str


Ranges = CloudRanges | Unavailable


def _merge(networks: Iterable[Network]) -> list[Span]:
    spans = sorted(
        (Span(n.version, int(n.network_address), int(n.broadcast_address)) for n in networks),
        key=lambda s: s.first,
    )
    merged: list[Span] = []
    for span in spans:
        if merged and span.first <= merged[-1].last + 1:
            last = merged[-1]
            merged[-1] = Span(last.version, last.first, max(last.last, span.last))
        else:
            merged.append(span)
    return merged


def parse(text: str | bytes, *, source: str) -> CloudRanges:
    """The EC2 prefixes (IPv4 and IPv6) of an ip-ranges.json document."""
    try:
        document = json.loads(text)
        entries = [
            *(
                (p["ip_prefix"], p.get("service"))
                for p in document.get("prefixes", [])
                if isinstance(p, dict)
            ),
            *(
                (p["ipv6_prefix"], p.get("service"))
                for p in document.get("ipv6_prefixes", [])
                if isinstance(p, dict)
            ),
        ]
        networks = tuple(
            ipaddress.ip_network(prefix, strict=False)
            for prefix, service in entries
            if service == SERVICE
        )
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ConfigError(f"{source} is not an ip-ranges.json document: {exc}") from None
    if not networks:
        raise ConfigError(f"{source} lists no {SERVICE} prefixes")
    return CloudRanges(networks=networks, source=source)


def is_loopback_endpoint(endpoint: str) -> bool:
    """True when ENDPOINT (an AWS_ENDPOINT_URL) is on this machine: the sandbox."""
    host = urllib.parse.urlsplit(endpoint).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def default_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "eipkeeper" / "ip-ranges.json"


def download(url: str = URL, *, timeout: float = DOWNLOAD_TIMEOUT) -> bytes:
    # A fixed https URL of AWS's: the scheme is ours, not user input.
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310
        body: bytes = response.read()
    return body


def load(
    *,
    local_copy: Path | None,
    endpoint: str,
    cache: Path,
    fetch: Callable[[], bytes] = download,
    now: Callable[[], float] = time.time,
) -> Ranges:
    """The ranges, in the order of the module docstring. A broken local copy is a config
    error (exit 2): it was asked for by name, so falling back would hide the mistake."""
    if local_copy is not None:
        try:
            text = local_copy.read_bytes()
        except OSError as exc:
            raise ConfigError(
                f"cannot read {local_copy}: {exc.strerror}", key="audit.cloud_ranges"
            ) from None
        return parse(text, source=f"local copy {local_copy}")
    if is_loopback_endpoint(endpoint):
        return sandbox_ranges(endpoint)
    cached = _read_cache(cache)
    if cached is not None and now() - cache.stat().st_mtime < CACHE_MAX_AGE:
        return cached
    try:
        body = fetch()
        fresh = parse(body, source=f"{URL}, downloaded now")
    except (OSError, urllib.error.URLError, ConfigError) as exc:
        if cached is not None:
            return cached
        return Unavailable(
            f"AWS's address ranges are unavailable: the download of {URL} failed ({exc}) and "
            f"there is no cached copy at {cache}; download the file by hand and name it in "
            "[audit] cloud_ranges"
        )
    _write_cache(cache, body)
    return fresh


def sandbox_ranges(endpoint: str) -> CloudRanges:
    first, last = ipaddress.IPv4Address(SANDBOX_FIRST), ipaddress.IPv4Address(SANDBOX_LAST)
    return CloudRanges(
        networks=tuple(ipaddress.summarize_address_range(first, last)),
        source=f"sandbox {SANDBOX_RANGE} (AWS_ENDPOINT_URL is {endpoint})",
    )


def _read_cache(cache: Path) -> CloudRanges | None:
    try:
        stamp = time.strftime("%Y-%m-%d %H:%M", time.gmtime(cache.stat().st_mtime))
        return parse(cache.read_bytes(), source=f"cached copy {cache} (downloaded {stamp} UTC)")
    except (OSError, ConfigError):
        return None


def _write_cache(cache: Path, body: bytes) -> None:
    # Best effort: an unwritable cache costs a download next time, nothing more.
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        partial = cache.with_suffix(".partial")
        partial.write_bytes(body)
        partial.replace(cache)
    except OSError:
        pass
