"""A request to moto's WSGI app, read once and passed on; moto's reply, captured so that it can
be kept (ClientToken) or rewritten (lagged Describe calls); AWS's error bodies."""

from __future__ import annotations

import io
import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

App = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

# SigV4's credential scope names the service: Credential=AKID/20261208/us-east-1/ec2/aws4_request
_SCOPE = re.compile(r"Credential=[^/]+/\d+/[^/]+/([^/]+)/aws4_request")


@dataclass(frozen=True)
class Call:
    service: str
    action: str
    method: str
    path: str
    body: bytes
    params: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class WsgiResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def replace_body(self, body: bytes) -> WsgiResponse:
        return replace(self, body=body)

    def send(self, start_response: Callable[..., Any]) -> list[bytes]:
        headers = [(k, v) for k, v in self.headers if k.lower() != "content-length"]
        headers.append(("Content-Length", str(len(self.body))))
        start_response(f"{self.status} {_REASONS.get(self.status, 'OK')}", headers)
        return [self.body]


_REASONS = {200: "OK", 400: "Bad Request", 503: "Service Unavailable"}


def parse_call(environ: dict[str, Any]) -> Call:
    """Read the request body (and put it back for moto) and name the service and action."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    scope = _SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
    path = environ.get("PATH_INFO", "")
    service = scope.group(1) if scope else ("route53" if path.startswith("/2013-04-01/") else "")
    params: dict[str, str] = {}
    if service == "ec2":
        params = dict(parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True))
        params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    return Call(
        service=service,
        action=params.get("Action", ""),
        method=environ.get("REQUEST_METHOD", "GET"),
        path=path,
        body=body,
        params=params,
    )


def call_app(app: App, environ: dict[str, Any], body: bytes) -> WsgiResponse:
    """Run moto's app on ENVIRON with BODY; the whole reply."""
    env = dict(environ)
    env["wsgi.input"] = io.BytesIO(body)
    env["CONTENT_LENGTH"] = str(len(body))
    seen: dict[str, Any] = {}
    chunks: list[bytes] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        seen["status"], seen["headers"] = status, headers
        return chunks.append

    result = app(env, start_response)
    try:
        chunks.extend(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return WsgiResponse(
        int(str(seen["status"]).split()[0]), list(seen["headers"]), b"".join(chunks)
    )


def error_reply(service: str, status: int, code: str, message: str) -> WsgiResponse:
    """An error as the service's API spells it (EC2's query protocol, Route 53's REST XML)."""
    request_id = str(uuid.uuid4())
    if service == "route53":
        body = (
            '<?xml version="1.0"?>\n<ErrorResponse xmlns="https://route53.amazonaws.com/doc/'
            f'2013-04-01/"><Error><Type>Sender</Type><Code>{code}</Code><Message>'
            f"{escape(message)}</Message></Error><RequestId>{request_id}</RequestId>"
            "</ErrorResponse>"
        )
    else:
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error>'
            f"<Code>{code}</Code><Message>{escape(message)}</Message></Error></Errors>"
            f"<RequestID>{request_id}</RequestID></Response>"
        )
    return WsgiResponse(status, [("Content-Type", "text/xml")], body.encode())
