"""A very small HTTP/1.0 responder for the data plane: readiness endpoints and the mailboxes.

GET only, one request per connection, JSON or text bodies. It runs on the data plane's event
loop, beside the SMTP servers, so it needs no thread of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

_READ_TIMEOUT = 10.0
_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed"}
_REASONS[503] = "Service Unavailable"


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    content_type: str = "text/plain; charset=utf-8"

    @classmethod
    def json(cls, status: int, value: Any) -> Reply:
        return cls(status, json.dumps(value).encode(), "application/json")

    @classmethod
    def text(cls, status: int, text: str) -> Reply:
        return cls(status, (text + "\n").encode())


Handler = Callable[[str, dict[str, list[str]]], Reply]
"""(path, query) -> the reply."""


async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, route: Handler) -> None:
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), _READ_TIMEOUT)
        method, target, *_ = [*head.decode("latin-1").split("\r\n", 1)[0].split(" "), "", ""]
        if method not in ("GET", "HEAD"):
            reply = Reply.text(405, "only GET")
        else:
            url = urlsplit(target)
            try:
                reply = route(url.path, parse_qs(url.query))
            except ValueError as exc:
                reply = Reply.text(400, str(exc))
        status_line = f"HTTP/1.0 {reply.status} {_REASONS.get(reply.status, '')}\r\n"
        headers = (
            f"Content-Type: {reply.content_type}\r\n"
            f"Content-Length: {len(reply.body)}\r\nConnection: close\r\n\r\n"
        )
        writer.write((status_line + headers).encode("latin-1"))
        if method != "HEAD":
            writer.write(reply.body)
        await writer.drain()
    except (TimeoutError, ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
        pass
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
