"""An HTTP proxy in front of moto's server that answers chosen EC2 actions with AWS errors.

The faults travel over real HTTP and are parsed by real botocore, so retry modes, error
translation and exit codes are tested as they behave against AWS; no part of boto3 is faked.
"""

from __future__ import annotations

import random
import re
import socket
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ERROR_XML = (
    '<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>{code}</Code>'
    "<Message>{message}</Message></Error></Errors><RequestID>fault</RequestID></Response>"
)


@dataclass(frozen=True)
class Fault:
    code: str
    status: int = 400
    message: str = "injected by the test"
    times: int = -1
    """How many calls fail before the action works again; -1 for always."""


ROUTE53_ERROR_XML = (
    '<?xml version="1.0"?><ErrorResponse xmlns="https://route53.amazonaws.com/doc/2013-04-01/">'
    "<Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>"
    "<RequestId>fault</RequestId></ErrorResponse>"
)
CHAOS_MODES = ("throttle", "server-error", "drop-before", "drop-after")


@dataclass
class FaultProxy:
    upstream: str
    faults: dict[str, Fault] = field(default_factory=dict)
    seen: Counter[str] = field(default_factory=Counter)
    failed: Counter[str] = field(default_factory=Counter)
    url: str = ""
    chaos_rate: float = 0.0
    """Share of all requests that meet a random fault (see CHAOS_MODES)."""
    rng: random.Random = field(default_factory=lambda: random.Random(0))
    chaos_seen: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)
    holds: dict[str, threading.Event] = field(default_factory=dict)

    def chaos(self, rate: float, *, seed: int) -> None:
        """Throttling, 5xx, and connections dropped before or after the call reached moto
        (a lost reply: the change happened but the client cannot know) on RATE of requests."""
        self.chaos_rate = rate
        self.rng = random.Random(seed)

    def _chaos_mode(self) -> str:
        with self.lock:
            if self.chaos_rate and self.rng.random() < self.chaos_rate:
                mode = self.rng.choice(CHAOS_MODES)
                self.chaos_seen[mode] += 1
                return mode
        return ""

    def hold(self, action: str) -> threading.Event:
        """Calls of ACTION wait (up to 30 s) until the returned event is set: a step kept
        under way while the test does something (a signal) to its process."""
        gate = self.holds[action] = threading.Event()
        return gate

    def fail(self, action: str, fault: Fault) -> None:
        self.faults[action] = fault
        self.failed[action] = 0

    def _fault_for(self, action: str) -> Fault | None:
        fault = self.faults.get(action)
        if fault is None or (fault.times >= 0 and self.failed[action] >= fault.times):
            return None
        self.failed[action] += 1
        return fault


_ROUTE53_OPERATIONS = (
    ("POST", re.compile(r"/hostedzone/[^/]+/rrset/?$"), "ChangeResourceRecordSets"),
    ("GET", re.compile(r"/hostedzone/[^/]+/rrset/?$"), "ListResourceRecordSets"),
    ("GET", re.compile(r"/hostedzonesbyname/?$"), "ListHostedZonesByName"),
    ("GET", re.compile(r"/change/[^/]+$"), "GetChange"),
)


def _rest_operation(method: str, path: str) -> str:
    """The Route 53 operation a REST request is (Route 53 names no Action in its body), so
    faults can be aimed at it as at EC2's query actions; "" for any other request."""
    bare = path.split("?", 1)[0]
    for verb, pattern, operation in _ROUTE53_OPERATIONS:
        if method == verb and pattern.search(bare):
            return operation
    return ""


def _handler(proxy: FaultProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _relay(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            query = urllib.parse.parse_qs(body.decode("utf-8", "replace")).get("Action", [""])[0]
            action = query or _rest_operation(self.command, self.path)
            proxy.seen[action] += 1
            if action in proxy.holds:
                proxy.holds[action].wait(30)
            fault = proxy._fault_for(action) if action else None
            rest = not query
            # Chaos only where the proxy can answer in the service's own protocol: EC2's query
            # XML and Route 53's REST XML. CloudWatch, SQS and DynamoDB speak JSON or CBOR here;
            # a Route 53 error body would read as "not AWS" rather than as throttling.
            speaks = bool(query) or bool(_rest_operation(self.command, self.path))
            mode = "" if fault or not speaks else proxy._chaos_mode()
            if mode == "throttle":
                fault = Fault("Throttling" if rest else "RequestLimitExceeded", status=400)
            elif mode == "server-error":
                fault = Fault("InternalFailure" if rest else "InternalError", status=500)
            elif mode == "drop-before":
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            if fault is not None:
                template = ROUTE53_ERROR_XML if rest else ERROR_XML
                payload = template.format(code=fault.code, message=fault.message).encode()
                self.send_response(fault.status)
                self.send_header("Content-Type", "text/xml")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                return
            request = urllib.request.Request(  # noqa: S310 - upstream is our moto server
                proxy.upstream + self.path,
                data=body if self.command != "GET" else None,
                method=self.command,
                # urllib would add a form Content-Type to a body that has none, which turns a
                # Route 53 REST call into a query-protocol call for moto: keep the original.
                headers={
                    "Content-Type": self.headers.get("Content-Type", "application/xml"),
                    **{k: v for k, v in self.headers.items() if k.lower() != "host"},
                },
            )
            try:
                with urllib.request.urlopen(request, timeout=30) as reply:  # noqa: S310
                    status, headers, data = reply.status, reply.headers, reply.read()
            except urllib.error.HTTPError as reply:
                status, headers, data = reply.code, reply.headers, reply.read()
            if mode == "drop-after":
                # moto made the change; the reply is lost on the way back.
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            self.send_response(status)
            for key, value in headers.items():
                if key.lower() not in ("content-length", "transfer-encoding", "connection"):
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_POST = _relay  # noqa: N815 - http.server names its hooks so
        do_GET = _relay  # noqa: N815
        do_DELETE = _relay  # noqa: N815

    return Handler


@contextmanager
def fault_proxy(upstream: str) -> Iterator[FaultProxy]:
    proxy = FaultProxy(upstream=upstream.rstrip("/"))
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(proxy))
    proxy.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        server.shutdown()
        server.server_close()
