"""The ownership record of an RRset (SPEC S4) and the claims it holds, as TXT text.

The marker of the RRset (NAME, TYPE) is a TXT RRset at `_eipkeeper.<type>.<name>`; each of its
values is one owner's claim, written as character-strings:

    _eipkeeper.a.mx1.example.com  TXT "owner=mail-prod" "values=192.0.2.1"
    _eipkeeper.mx.example.com     TXT "owner=mail-prod" "values=10 mx1.example.com.,10 mx2.ex..."

A claim lists the values its owner manages (possibly none): every other value of the RRset is
someone else's, e.g. an on-premises MX host added by hand. The values are canonical text, `,`
and `%` escaped as `%2C` and `%25`, spread over as many `values=` strings as the 255-byte
limit of a character-string needs. A claim without `values=` was written by an older version
(it meant the whole RRset); `ownership.legacy_reading` says how it is read now.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from eipkeeper.dns.records import Record, txt_strings, txt_text
from eipkeeper.errors import OperationError

PREFIX = "_eipkeeper"
_MAX_STRING = 255


def marker_name(name: str, rdtype: str) -> str:
    """Where the ownership record of the RRset (NAME, RDTYPE) lives."""
    return f"{PREFIX}.{rdtype.lower()}.{name}"


def is_marker(record: Record) -> bool:
    return record.type == "TXT" and record.name.startswith(PREFIX + ".")


@dataclass(frozen=True)
class Claim:
    """One owner's claim on an RRset: the whole of it (`values` None) or the values listed."""

    owner: str
    values: tuple[str, ...] | None = None

    def text(self) -> str:
        """The claim as one TXT value in presentation form."""
        strings = [f"owner={self.owner}".encode()]
        if self.values is not None:
            strings += _pack_values(self.values)
        return txt_text(strings)


def parse_claim(value: str) -> Claim | None:
    """The claim in one TXT value of a marker; None when it is not one (then it is foreign)."""
    strings = [s.decode("utf-8", "replace") for s in txt_strings(value)]
    if not strings or not strings[0].startswith("owner=") or len(strings[0]) == 6:
        return None
    owner = strings[0][6:]
    lists = [s[7:] for s in strings[1:] if s.startswith("values=")]
    if len(lists) != len(strings) - 1:
        return None
    if not lists:
        return Claim(owner)
    values = [_unescape(v) for part in lists for v in part.split(",") if v]
    return Claim(owner, tuple(sorted(set(values))))


def _pack_values(values: Iterable[str]) -> list[bytes]:
    strings: list[bytes] = []
    current = b"values="
    for value in sorted(values):
        item = value.replace("%", "%25").replace(",", "%2C").encode("utf-8")
        if len(item) + 7 > _MAX_STRING:
            raise OperationError(f"value too long to list in an ownership record: {value[:40]}")
        joined = current + (b"," if current != b"values=" else b"") + item
        if len(joined) > _MAX_STRING:
            strings.append(current)
            joined = b"values=" + item
        current = joined
    strings.append(current)
    return strings


_ESCAPED = re.compile(r"%(25|2C|2c)")


def _unescape(text: str) -> str:
    return _ESCAPED.sub(lambda m: "%" if m[1] == "25" else ",", text)
