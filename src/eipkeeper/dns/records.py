"""DNS values: RRsets, zone snapshots and changes. Frozen, comparable, no I/O.

Every value is held in one canonical text form so that what was read and what is wanted
compare equal exactly when the server would consider them equal (compare-and-swap, S5, depends
on it): names are absolute, lowercase and without the final dot; rdata is dnspython's
presentation form with absolute names (`10 mx1.example.com.`), names inside rdata lowercased
(RFC 4034 canonical form), TXT as quoted strings (`"v=spf1 ip4:192.0.2.1 -all"`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Literal

import dns.exception
import dns.ipv4
import dns.ipv6
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype

_LDH = re.compile(
    r"^(?:[a-z0-9_*](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.)*[a-z0-9_*](?:[a-z0-9_-]{0,61}[a-z0-9_])?$"
)
_MX = re.compile(r"^(\d{1,5})\s+(\S+)$")
# Types whose rdata holds names that compare case-insensitively (RFC 4034 section 6.2).
_NAME_TYPES = frozenset({"NS", "CNAME", "PTR", "MX", "SRV", "DNAME", "SOA", "NAPTR", "RP"})
_TXT_MAX = 255


@lru_cache(maxsize=16384)
def normalize_name(name: str) -> str:
    """NAME as an absolute lowercase name without the final dot; ValueError when invalid."""
    text = name.strip().lower().rstrip(".")
    if len(text) <= 253 and _LDH.match(text):
        return text
    try:
        parsed = dns.name.from_text(text or ".", origin=dns.name.root)
    except dns.exception.DNSException as exc:
        raise ValueError(f"{name!r} is not a valid DNS name: {exc}") from None
    return parsed.to_text(omit_final_dot=True).lower()


def in_zone(name: str, zone: str) -> bool:
    return name == zone or name.endswith("." + zone)


# -- TXT ------------------------------------------------------------------------------------


def txt_text(strings: Iterable[bytes]) -> str:
    """The presentation form of TXT character-strings, escaped as dnspython escapes them."""
    return " ".join('"' + _escape(s) + '"' for s in strings)


_NEEDS_ESCAPE = re.compile(rb'[^\x20-\x7e]|["\\]')
_SIMPLE_TXT = re.compile(r'"[\x20\x21\x23-\x5b\x5d-\x7e]{0,255}"')
"""One quoted string without escapes: already canonical (the common case, kept fast)."""


def _escape(data: bytes) -> str:
    if not _NEEDS_ESCAPE.search(data):
        return data.decode("ascii")
    out = []
    for c in data:
        if c in b'"\\':
            out.append("\\" + chr(c))
        elif 0x20 <= c < 0x7F:
            out.append(chr(c))
        else:
            out.append(f"\\{c:03d}")
    return "".join(out)


_TOKEN = re.compile(r'"((?:[^"\\]|\\.)*)"|(\S+)', re.DOTALL)
_UNESCAPE = re.compile(rb"\\(\d{3}|.)", re.DOTALL)


def txt_strings(text: str) -> list[bytes]:
    """The character-strings of a TXT value in presentation form (quoted or bare tokens)."""
    strings = []
    for quoted, bare in _TOKEN.findall(text):
        raw = (quoted if quoted or not bare else bare).encode("utf-8")
        strings.append(_UNESCAPE.sub(_unescape_one, raw) if b"\\" in raw else raw)
    return strings


def _unescape_one(match: re.Match[bytes]) -> bytes:
    token = match.group(1)
    return bytes([int(token)]) if len(token) == 3 else token


def _canonical_txt(text: str) -> str:
    stripped = text.strip()
    if _SIMPLE_TXT.fullmatch(stripped):
        return stripped
    if not stripped.startswith('"'):
        # A bare value is one string (an SPF policy has spaces); split only what is too long.
        data = stripped.encode("utf-8")
        chunks = [data[i : i + _TXT_MAX] for i in range(0, len(data), _TXT_MAX)] or [b""]
        return txt_text(chunks)
    strings = txt_strings(stripped)
    if any(len(s) > _TXT_MAX for s in strings):
        raise ValueError(f"TXT string longer than {_TXT_MAX} bytes: {text[:40]!r}...")
    return txt_text(strings)


# -- canonical values -------------------------------------------------------------------------


def canonical_value(rdtype: str, text: str) -> str:
    """TEXT (one value of an RRset of type RDTYPE) in canonical form; ValueError when invalid."""
    try:
        if rdtype == "A":
            return dns.ipv4.inet_ntoa(dns.ipv4.inet_aton(text.strip()))
        if rdtype == "AAAA":
            return str(dns.ipv6.inet_ntoa(dns.ipv6.inet_aton(text.strip())))
        if rdtype in ("TXT", "SPF"):
            return _canonical_txt(text)
        if rdtype == "MX":
            match = _MX.match(text.strip())
            if match and int(match.group(1)) <= 0xFFFF:
                return f"{int(match.group(1))} {_absolute(match.group(2))}"
        return canonical_rdata(
            dns.rdata.from_text(
                dns.rdataclass.IN, rdtype, text, origin=dns.name.root, relativize=False
            )
        )
    except (OSError, ValueError, dns.exception.DNSException) as exc:
        raise ValueError(f"{rdtype} value {text!r} is not valid: {exc}") from None


def _absolute(name: str) -> str:
    return "." if name in (".", "") else normalize_name(name) + "."


def canonical_rdata(rdata: dns.rdata.Rdata) -> str:
    """The canonical text of a parsed rdata (used for types without a fast path)."""
    rdtype = dns.rdatatype.to_text(rdata.rdtype)
    if rdtype in _NAME_TYPES:
        # The RFC 4034 canonical wire form lowercases embedded names; read it back as text.
        wire = rdata.to_digestable(dns.name.root)
        rdata = dns.rdata.from_wire(rdata.rdclass, rdata.rdtype, wire, 0, len(wire))
    if rdtype in ("TXT", "SPF"):
        return txt_text(getattr(rdata, "strings", ()))
    return str(rdata.to_text(origin=None, relativize=False))


# -- values -------------------------------------------------------------------------------------


@dataclass(frozen=True, init=False)
class Record:
    """One RRset: every value of one type at one name, with its TTL.

    `Record("mx1.example.com.", "a", 300, ["192.0.2.1"])` canonicalises name, type and values
    (sorted, without duplicates) and raises ValueError for anything the server would refuse.
    """

    name: str
    type: str
    ttl: int
    values: tuple[str, ...]

    def __init__(self, name: str, rdtype: str, ttl: int, values: Iterable[str]) -> None:
        rdtype = rdtype.upper()
        if rdtype in ("ANY", "AXFR", "IXFR", "OPT", "TSIG"):
            raise ValueError(f"{rdtype} is not a record type")
        if not 0 <= ttl <= 0x7FFFFFFF:
            raise ValueError(f"TTL {ttl} out of range")
        canonical = tuple(sorted({canonical_value(rdtype, v) for v in values}))
        if not canonical:
            raise ValueError(f"{rdtype} {name}: an RRset needs at least one value")
        object.__setattr__(self, "name", normalize_name(name))
        object.__setattr__(self, "type", rdtype)
        object.__setattr__(self, "ttl", int(ttl))
        object.__setattr__(self, "values", canonical)

    @classmethod
    def trusted(cls, name: str, rdtype: str, ttl: int, values: tuple[str, ...]) -> Record:
        """A Record from parts already canonical and sorted (read from the wire): no parsing.

        Reading a 10,000-record zone would spend most of its time re-parsing otherwise.
        """
        record = object.__new__(cls)
        object.__setattr__(record, "name", name)
        object.__setattr__(record, "type", rdtype)
        object.__setattr__(record, "ttl", ttl)
        object.__setattr__(record, "values", values)
        return record

    @property
    def key(self) -> tuple[str, str]:
        return (self.name, self.type)

    def __str__(self) -> str:
        return f"{self.name} {self.ttl} {self.type} {' | '.join(self.values)}"


@dataclass(frozen=True)
class Zone:
    """A snapshot of a zone as read (AXFR or a paged listing); the SOA is kept as its serial."""

    name: str
    serial: int
    records: tuple[Record, ...]

    @cached_property
    def _index(self) -> Mapping[tuple[str, str], Record]:
        return {record.key: record for record in self.records}

    def get(self, name: str, rdtype: str) -> Record | None:
        return self._index.get((name, rdtype))

    def __iter__(self) -> Iterator[Record]:
        return iter(self.records)

    def __len__(self) -> int:
        return len(self.records)


ChangeKind = Literal["create", "update", "delete"]


@dataclass(frozen=True)
class Change:
    """One RRset change with what it expects to find (S5): `old` is the RRset as read.

    A create expects the RRset absent; an update and a delete expect exactly `old`.
    """

    kind: ChangeKind
    old: Record | None
    new: Record | None
    reason: str = ""

    def __post_init__(self) -> None:
        shape = {"create": (False, True), "update": (True, True), "delete": (True, False)}
        if self.kind not in shape:
            raise ValueError(f"unknown change kind {self.kind!r}")
        if ((self.old is not None), (self.new is not None)) != shape[self.kind]:
            raise ValueError(f"a {self.kind} needs " + ("old " * shape[self.kind][0]) + "new")
        if self.old is not None and self.new is not None and self.old.key != self.new.key:
            raise ValueError(f"an update keeps name and type: {self.old.key} -> {self.new.key}")

    @classmethod
    def create(cls, new: Record, *, reason: str = "") -> Change:
        return cls("create", None, new, reason)

    @classmethod
    def update(cls, old: Record, new: Record, *, reason: str = "") -> Change:
        return cls("update", old, new, reason)

    @classmethod
    def delete(cls, old: Record, *, reason: str = "") -> Change:
        return cls("delete", old, None, reason)

    @property
    def record(self) -> Record:
        """The RRset this change is about (the new one, or the old one for a delete)."""
        record = self.new or self.old
        assert record is not None  # __post_init__ guarantees one of them
        return record

    @property
    def key(self) -> tuple[str, str]:
        return self.record.key

    def text(self) -> str:
        """`update A www.example.com: 192.0.2.1 -> 192.0.2.2`; a TTL that changes is shown
        as such (`ttl 300 -> 60`), never as an unchanged value replacing itself."""
        old = " | ".join(self.old.values) if self.old else "-"
        new = " | ".join(self.new.values) if self.new else "-"
        head = f"{self.kind} {self.record.type} {self.record.name}: "
        if self.old is None or self.new is None or self.old.ttl == self.new.ttl:
            return f"{head}{old} -> {new}"
        ttl = f"ttl {self.old.ttl} -> {self.new.ttl}"
        return f"{head}{ttl}" if old == new else f"{head}{old} -> {new}, {ttl}"

    def __str__(self) -> str:
        why = f" ({self.reason})" if self.reason else ""
        return f"{self.text()}{why}"
