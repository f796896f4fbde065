"""TSIG keys from BIND key files (the output of `tsig-keygen -a hmac-sha256 NAME`).

The secret never leaves this module in text: it is not part of the key's repr, and log events
name only the key and its file.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import dns.name
import dns.tsig

from eipkeeper.config import key_file_is_private, read_text
from eipkeeper.errors import ConfigError
from eipkeeper.logs import get_logger

log = get_logger(__name__)

ALGORITHMS = frozenset({"hmac-sha256", "hmac-sha384", "hmac-sha512", "hmac-sha224", "hmac-sha1"})
"""hmac-md5 is refused: RFC 8945 says it must not be used."""

# Quoted strings first, so that a `//` inside a base64 secret is not taken for a comment.
_COMMENTS = re.compile(r'"[^"]*"|/\*.*?\*/|//[^\n]*|#[^\n]*', re.DOTALL)
_KEY = re.compile(r'key\s+(?:"([^"]+)"|([^\s{]+))\s*\{(.*?)\}\s*;', re.DOTALL)
_ALGORITHM = re.compile(r"algorithm\s+\"?([A-Za-z0-9.-]+)\"?\s*;")
_SECRET = re.compile(r'secret\s+"([^"]*)"\s*;')


@dataclass(frozen=True)
class TsigKey:
    """A TSIG key: its name, algorithm and secret (never shown)."""

    name: str
    algorithm: str = "hmac-sha256"
    secret: bytes = field(default=b"", repr=False)
    source: str = ""
    """Where the key was read from, for messages ("update.key")."""

    @cached_property
    def dns_key(self) -> dns.tsig.Key:
        return dns.tsig.Key(self.name, self.secret, self.algorithm)

    @property
    def mac_size(self) -> int:
        return int(dns.tsig.mac_sizes[dns.name.from_text(self.algorithm)])


MAX_KEY_BYTES = 64 * 1024
"""tsig-keygen writes about 100 bytes."""


def load_key(path: Path, *, name: str = "") -> TsigKey:
    """The key NAME (default: the first) from the BIND key file at PATH.

    Warns (a log event, not an error) when others than the owner may read the file, as
    certbot's RFC 2136 plugin does: the secret allows rewriting the zone.
    """
    try:
        text = read_text(path, limit=MAX_KEY_BYTES, what="a TSIG key file")
    except FileNotFoundError:
        raise ConfigError(
            "TSIG key file does not exist (make one with `tsig-keygen -a hmac-sha256 NAME`)",
            path=str(path),
        ) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"TSIG key file is not UTF-8 text (byte {exc.start})", path=str(path)
        ) from None
    except OSError as exc:
        raise ConfigError(f"cannot read TSIG key file: {exc.strerror}", path=str(path)) from None
    if not key_file_is_private(path):
        log.warning(
            "dns.tsig.key_file_readable",
            path=str(path),
            hint=f"chmod 600 {path}: others can read the TSIG secret",
        )
    return parse_key(text, source=str(path), name=name)


def parse_key(text: str, *, source: str = "", name: str = "") -> TsigKey:
    """Parse a `key "NAME" { algorithm ...; secret "..."; };` block (tsig-keygen's output)."""
    where = source or None
    uncommented = _COMMENTS.sub(lambda m: m[0] if m[0].startswith('"') else "", text)
    blocks = _KEY.findall(uncommented)
    if not blocks:
        raise ConfigError('no `key "NAME" { ... };` block in the TSIG key file', path=where)
    for quoted, bare, body in blocks:
        key_name = (quoted or bare).rstrip(".")
        if name and key_name != name.rstrip("."):
            continue
        algorithm_match = _ALGORITHM.search(body)
        secret_match = _SECRET.search(body)
        if not secret_match:
            raise ConfigError(f"key {key_name}: needs a `secret`", path=where)
        algorithm = algorithm_match.group(1).lower() if algorithm_match else "hmac-sha256"
        if algorithm not in ALGORITHMS:
            raise ConfigError(
                f"key {key_name}: algorithm {algorithm} is not accepted "
                f"(use hmac-sha256; accepted: {', '.join(sorted(ALGORITHMS))})",
                path=where,
            )
        try:
            secret = base64.b64decode(secret_match.group(1), validate=True)
        except (binascii.Error, ValueError):
            raise ConfigError(
                f"key {key_name}: the secret is not valid base64", path=where
            ) from None
        if not secret:
            raise ConfigError(f"key {key_name}: the secret is empty", path=where)
        try:
            dns.name.from_text(key_name)
        except Exception:
            raise ConfigError(
                f"key name {key_name!r} is not a valid DNS name", path=where
            ) from None
        return TsigKey(name=key_name, algorithm=algorithm, secret=secret, source=source)
    raise ConfigError(f"no key named {name!r} in the TSIG key file", path=where)
