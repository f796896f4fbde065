"""DNSBL lookups through the configured resolver, and the cache `run` re-checks from.

The queries are here; what their answers mean is `eipkeeper.reputation` (pure). Every way a
lookup can fail (a timeout, SERVFAIL, REFUSED, a malformed answer) becomes an error verdict,
never "clean": an address is fit to claim only when every zone said NXDOMAIN.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import dns.exception
import dns.resolver

from eipkeeper.config import Config, ReputationConfig
from eipkeeper.reputation import Listing, Reputation, failed, judge, query_name


def _resolver(address: str, timeout: float) -> dns.resolver.Resolver:
    """A resolver for HOST[:PORT], or the system's (/etc/resolv.conf) for ""."""
    if address:
        resolver = dns.resolver.Resolver(configure=False)
        host, _, port = address.rpartition(":") if address.count(":") == 1 else (address, "", "")
        resolver.nameservers = [host or address]
        resolver.port = int(port) if port else 53
    else:
        resolver = dns.resolver.Resolver()
    # One try per lookup: a zone that does not answer in `timeout` gave no verdict.
    resolver.timeout = timeout
    resolver.lifetime = timeout
    resolver.cache = None
    return resolver


@dataclass
class Dnsbl:
    """The lookups of one service's `reputation` table."""

    settings: ReputationConfig

    def __post_init__(self) -> None:
        self._resolver = _resolver(self.settings.resolver, self.settings.timeout)

    def listing(self, public_ip: str, zone: str) -> Listing:
        name = query_name(public_ip, zone)
        try:
            answer = self._resolver.resolve(name, "A", raise_on_no_answer=False, search=False)
        except dns.resolver.NXDOMAIN:
            return judge(public_ip, zone, answers=())
        except dns.exception.Timeout:
            return failed(public_ip, zone, code="timeout", reason="no answer in time")
        except dns.resolver.NoNameservers as exc:
            return failed(public_ip, zone, code="servfail", reason=_first_line(exc))
        except dns.exception.DNSException as exc:
            return failed(public_ip, zone, code="error", reason=_first_line(exc))
        answers = [r.to_text() for r in answer.rrset] if answer.rrset is not None else []
        verdict = judge(public_ip, zone, answers=answers)
        if verdict.listed:
            verdict = judge(public_ip, zone, answers=answers, reason=self._reason(name))
        return verdict

    def _reason(self, name: str) -> str:
        """The zone's TXT record for a listing; a missing reason does not undo the listing."""
        try:
            answer = self._resolver.resolve(name, "TXT", raise_on_no_answer=False, search=False)
        except dns.exception.DNSException:
            return ""
        if answer.rrset is None:
            return ""
        texts = [b"".join(r.strings).decode("utf-8", "replace") for r in answer.rrset]
        return "; ".join(texts)

    def check(self, public_ip: str, *, now: float) -> Reputation:
        listings = tuple(self.listing(public_ip, zone) for zone in self.settings.dnsbl)
        return Reputation(public_ip=public_ip, listings=listings, checked_at=now)


def _first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0][:200]


@dataclass
class ReputationWatch:
    """The verdicts of the addresses of services with `reputation`, kept between rounds and
    looked up again once older than the service's `recheck` (an address can be listed while
    it serves). One-shot commands make a new watch, so they always look up."""

    config: Config
    _cache: dict[str, Reputation] = field(default_factory=dict)
    _lookups: dict[str, Dnsbl] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def lookup(self, service: str) -> Dnsbl | None:
        settings = self.config.service(service).reputation
        if settings is None:
            return None
        if service not in self._lookups:
            self._lookups[service] = Dnsbl(settings)
        return self._lookups[service]

    def reputations(
        self,
        addresses: Iterable[tuple[str, str]],
        *,
        now: float,
        fresh: frozenset[str] = frozenset(),
    ) -> Mapping[str, Reputation]:
        """(public_ip, service) pairs -> each address's verdict, fresh within `recheck`.

        An address in `fresh` is looked up again whatever the cache holds: it is one a round
        may claim, and a listing made since its last look must stop the claim (a burst claimed
        a reserved address listed after `run` had cached it clean for an hour)."""
        found: dict[str, Reputation] = {}
        for public_ip, service in addresses:
            lookup = self.lookup(service)
            if lookup is None or not public_ip:
                continue
            with self._lock:
                known = self._cache.get(public_ip)
            if (
                known is None
                or known.errors  # an error is no verdict to keep for an hour
                or public_ip in fresh
                or now - known.checked_at >= lookup.settings.recheck
            ):
                known = lookup.check(public_ip, now=now)
                with self._lock:
                    self._cache[public_ip] = known
            found[public_ip] = known
        return found

    def forget(self, public_ip: str) -> None:
        with self._lock:
            self._cache.pop(public_ip, None)
