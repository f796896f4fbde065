"""Structured logs: one event per line, as `key=value` text or JSON. Never a secret.

Call `log.info("eip.associated", allocation_id=..., instance_id=...)`; the event name comes
first, its fields after. Secrets never reach a log call (TSIG keys stay in the DNS provider,
credentials in boto3).
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

_FIELDS = "eipkeeper_fields"


class EventLogger:
    """A thin wrapper that turns keyword arguments into structured fields."""

    def __init__(self, name: str) -> None:
        self._logger = logging.getLogger(name)

    def _log(self, level: int, event: str, fields: dict[str, Any]) -> None:
        if self._logger.isEnabledFor(level):
            self._logger.log(level, event, extra={_FIELDS: fields})

    def debug(self, event: str, **fields: Any) -> None:
        self._log(logging.DEBUG, event, fields)

    def info(self, event: str, **fields: Any) -> None:
        self._log(logging.INFO, event, fields)

    def warning(self, event: str, **fields: Any) -> None:
        self._log(logging.WARNING, event, fields)

    def error(self, event: str, **fields: Any) -> None:
        self._log(logging.ERROR, event, fields)


def get_logger(name: str) -> EventLogger:
    return EventLogger(name)


def _quote(value: Any) -> str:
    text = str(value)
    if not text or any(c in text for c in ' ="'):
        return json.dumps(text)
    return text


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        fields: dict[str, Any] = getattr(record, _FIELDS, {})
        parts = [stamp, record.levelname.lower(), record.getMessage()]
        parts += [f"{key}={_quote(value)}" for key, value in fields.items()]
        return " ".join(parts)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields: dict[str, Any] = getattr(record, _FIELDS, {})
        body = {
            "ts": round(record.created, 3),
            "level": record.levelname.lower(),
            "event": record.getMessage(),
            **fields,
        }
        return json.dumps(body, default=str)


class JsonLines:
    """stderr under `--log-format json`: every line is a JSON object. A line the command says
    in words (a step, a warning, the one-line error) becomes {"event": "say", "text": ...}
    instead of breaking the stream for whoever parses it."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self._partial = ""

    def write(self, text: str) -> int:
        *lines, self._partial = (self._partial + text).split("\n")
        for line in lines:
            self.stream.write(_as_json(line) + "\n")
        return len(text)

    def flush(self) -> None:
        self.stream.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


def _as_json(line: str) -> str:
    if line.startswith("{"):
        return line  # a log record, already JSON
    error = line.startswith("eipkeeper: ")
    body = {
        "ts": round(time.time(), 3),
        "level": "error" if error else "info",
        "event": "error" if error else "say",
        "text": line.removeprefix("eipkeeper: ") if error else line,
    }
    return json.dumps(body)


def setup(*, verbose: int, fmt: str) -> None:
    """Logs go to stderr so that stdout stays for the command's output."""
    if fmt == "json" and not isinstance(sys.stderr, JsonLines):
        sys.stderr = JsonLines(sys.stderr)
    elif fmt != "json" and isinstance(sys.stderr, JsonLines):
        sys.stderr = sys.stderr.stream
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger("eipkeeper")
    root.handlers[:] = [handler]
    root.propagate = False
    root.setLevel(logging.DEBUG if verbose > 1 else logging.INFO if verbose else logging.WARNING)
