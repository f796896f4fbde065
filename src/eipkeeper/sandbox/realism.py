"""The sandbox's API answers as EC2's and Route 53's do (SPEC.md section 7; FACTS.md, "EC2 as
it really answers"), where moto answers at once and never says no.

A WSGI layer in front of moto's server, so that moto's own code stays as it is:

- Eventual consistency (EC2 developer guide, "Eventual consistency"): after a write, Describe
  calls show each touched resource as it was before the write for a lag drawn per write; a
  resource created inside its lag is NotFound by id and missing from lists, and CreateTags on
  it fails NotFound once. The data plane reads moto directly and is not lagged.
- Idempotency (EC2 developer guide, "Ensuring idempotency"): an action called again with the
  same ClientToken answers the first call's answer; with other parameters,
  `IdempotentParameterMismatch`.
- Throttling (EC2 developer guide, "Request throttling"; Route 53 quotas): a token bucket per
  action (EC2) or per account (Route 53) of AWS's sizes (`cloud/limits.py`), answering
  `RequestLimitExceeded` (HTTP 503) or `Throttling` (HTTP 400); Route 53 answers
  `PriorRequestNotComplete` while a change to the zone is PENDING, and GetChange says PENDING
  until then.
"""

from __future__ import annotations

import hashlib
import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from eipkeeper.cloud.limits import TokenBucket, bucket_of
from eipkeeper.sandbox import consistency
from eipkeeper.sandbox.wsgi import App, Call, WsgiResponse, call_app, error_reply, parse_call

TRUTH_HEADER = "HTTP_X_EIPKEEPER_SANDBOX_TRUTH"
"""A request with the header `X-Eipkeeper-Sandbox-Truth` passes straight to moto: tests that
judge the world read it as it is (no lag, no throttling); eipkeeper never sends it."""

_ZONE_CHANGE = re.compile(r"^/2013-04-01/hostedzone/([^/]+)/rrset/?$")
_GET_CHANGE = re.compile(r"^/2013-04-01/change/([^/]+)$")
_CHANGE_ID = re.compile(rb"<Id>(?:/change/)?([^<]+)</Id>")


@dataclass
class Settings:
    """What the sandbox's API does; changed at run time by tests and benchmarks."""

    lag: tuple[float, float] = (0.0, 3.0)
    """Seconds a write stays unseen by Describe calls, drawn per write (`--consistency-lag`)."""
    throttle: bool = True
    """AWS's token buckets (`--no-throttle`: none)."""
    throttle_chance: float = 0.0
    """Answer this share of calls `RequestLimitExceeded` besides (the model test's 5%)."""

    @property
    def instant(self) -> bool:
        return self.lag[1] <= 0 and not self.throttle and self.throttle_chance <= 0


class Realism:
    """The WSGI app that wraps moto's. `enabled` is False while the sandbox builds its
    sample fleet (that is the world as it was before the user came, not calls they made)."""

    def __init__(
        self,
        app: App,
        settings: Settings,
        *,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.app = app
        self.settings = settings
        self.rng = rng or random.Random()
        self.clock = clock
        self.enabled = False
        self._lock = threading.Lock()
        self._buckets: dict[str, TokenBucket] = {}
        self._tokens: dict[tuple[str, str], tuple[str, WsgiResponse]] = {}
        self._token_lock = threading.Lock()
        self._pending_zones: dict[str, float] = {}
        self._pending_changes: dict[str, float] = {}
        self.lagged = consistency.Lagged(clock)
        self.throttled = 0
        """Calls answered with a throttling error (benchmarks compare it with the client's)."""

    def use_clock(self, clock: Callable[[], float]) -> None:
        """Measure lags, pending changes and refills on CLOCK (tests: a fake one); resets."""
        self.clock = clock
        self.reset()

    def reset(self) -> None:
        """Forget every write in its lag, every token seen and every bucket's level."""
        with self._lock:
            self._buckets.clear()
            self._tokens.clear()
            self._pending_zones.clear()
            self._pending_changes.clear()
            self.lagged = consistency.Lagged(self.clock)
            self.throttled = 0

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        call = parse_call(environ)
        truth = TRUTH_HEADER in environ  # a test reading the world as it is, not as told
        if not self.enabled or truth or call.service not in ("ec2", "route53"):
            return self.app(environ, start_response)
        reply = self._answer(call, environ)
        return reply.send(start_response)

    def _answer(self, call: Call, environ: dict[str, Any]) -> WsgiResponse:
        limited = self._throttle(call)
        if limited is not None:
            return limited
        if call.service == "route53":
            return self._route53(call, environ)
        token = call.params.get("ClientToken", "")
        if token:
            return self._idempotent(call, environ, token)
        return self._ec2(call, environ)

    # -- throttling ------------------------------------------------------------------------

    def _throttle(self, call: Call) -> WsgiResponse | None:
        key, size = bucket_of(call.service, call.action, call.params)
        with self._lock:
            empty = False
            if self.settings.throttle and key:
                bucket = self._buckets.get(key)
                if bucket is None:
                    bucket = self._buckets[key] = TokenBucket(size, self.clock)
                empty = bucket.take() > 0
            if not empty and self.rng.random() >= self.settings.throttle_chance:
                return None
            self.throttled += 1
        if call.service == "route53":
            return error_reply("route53", 400, "Throttling", "Rate exceeded")
        return error_reply("ec2", 503, "RequestLimitExceeded", "Request limit exceeded.")

    # -- EC2 -------------------------------------------------------------------------------

    def _idempotent(self, call: Call, environ: dict[str, Any], token: str) -> WsgiResponse:
        """The first answer for a repeated ClientToken; a mismatch for other parameters."""
        key = (call.action, token)
        rest = {k: v for k, v in call.params.items() if k not in ("ClientToken", "Version")}
        digest = hashlib.sha256(repr(sorted(rest.items())).encode()).hexdigest()
        with self._token_lock:  # two calls with one token: the second waits for the first
            known = self._tokens.get(key)
            if known is not None:
                if known[0] != digest:
                    return error_reply(
                        "ec2",
                        400,
                        "IdempotentParameterMismatch",
                        f"The client token {token} was used with other parameters.",
                    )
                return known[1]
            reply = self._ec2(call, environ)
            if reply.status == 200:
                self._tokens[key] = (digest, reply)
            return reply

    def _ec2(self, call: Call, environ: dict[str, Any]) -> WsgiResponse:
        lag = self.settings.lag
        if lag[1] <= 0:
            return call_app(self.app, environ, call.body)
        if call.action in consistency.READS:
            refused = self.lagged.refuse_by_id(call)
            if refused is not None:
                return refused
            reply = call_app(self.app, environ, call.body)
            return self.lagged.rewrite(call, reply)
        refused = self.lagged.refuse_write(call)
        if refused is not None:
            return refused
        touched = consistency.touched(call, lambda body: call_app(self.app, environ, body))
        reply = call_app(self.app, environ, call.body)
        if reply.status == 200 and call.action in consistency.WRITES:
            seconds = self.rng.uniform(*lag)
            self.lagged.record(call, reply, touched, seconds)
        return reply

    # -- Route 53 --------------------------------------------------------------------------

    def _route53(self, call: Call, environ: dict[str, Any]) -> WsgiResponse:
        now = self.clock()
        zone = _ZONE_CHANGE.match(call.path)
        if zone and call.method == "POST":
            with self._lock:
                busy = self._pending_zones.get(zone.group(1), 0.0) > now
            if busy:
                return error_reply(
                    "route53",
                    400,
                    "PriorRequestNotComplete",
                    "The request was rejected because Route 53 was still processing a prior "
                    "request.",
                )
            reply = call_app(self.app, environ, call.body)
            if reply.status == 200:
                until = now + self.rng.uniform(*self.settings.lag)
                found = _CHANGE_ID.search(reply.body)
                with self._lock:
                    self._pending_zones[zone.group(1)] = until
                    if found:
                        self._pending_changes[found.group(1).decode()] = until
            return reply
        reply = call_app(self.app, environ, call.body)
        change = _GET_CHANGE.match(call.path)
        if change and reply.status == 200:
            with self._lock:
                pending = self._pending_changes.get(change.group(1), 0.0) > now
            if pending:
                reply = reply.replace_body(reply.body.replace(b"INSYNC", b"PENDING"))
        return reply
