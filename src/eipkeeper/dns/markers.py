"""The ownership record of an RRset (SPEC S4) and the claims it holds, as TXT text.

The marker of the RRset (NAME, TYPE) is a TXT RRset at `_eipkeeper.<type>.<name>`; each of its
values is one owner's claim, written as character-strings:

    _eipkeeper.a.mx1.example.com  TXT "owner=mail-prod" "account=123456789012"
                                      "region=eu-west-1" "values=192.0.2.1"
    _eipkeeper.mx.example.com     TXT "owner=mail-prod" "account=..." "region=..."
                                      "values=10 mx1.example.com.,10 mx2.ex..."

A claim lists the values its owner manages (possibly none): every other value of the RRset is
someone else's, e.g. an on-premises MX host added by hand. The values are canonical text, `,`
and `%` escaped as `%2C` and `%25`, spread over as many `values=` strings as the 255-byte
limit of a character-string needs. A claim without `values=` was written by an older version
(it meant the whole RRset); `ownership.legacy_reading` says how it is read now.

`account=` and `region=` name where the claim was written (S10): read from another account or
region, the claim is someone else's (`elsewhere`), so a wrong `--region` or the wrong
credentials cannot delete records whose addresses simply are not visible from there. A claim
written before S10 has neither and is read as this owner's from anywhere, as before; it gets
them at its next write.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

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
class Place:
    """The account and region a claim was written from, or a zone is read from ("": unknown)."""

    account: str = ""
    region: str = ""

    @property
    def label(self) -> str:
        return "/".join(p for p in (self.region, self.account) if p) or "an unknown place"

    def differs(self, other: Place) -> bool:
        """Known on both sides and not the same, in account or in region."""
        return any(
            mine and theirs and mine != theirs
            for mine, theirs in ((self.account, other.account), (self.region, other.region))
        )


ANYWHERE = Place()
"""No account or region known: a claim written so (before S10) is this owner's from anywhere."""


@dataclass(frozen=True)
class RRsetClaim:
    """One owner's claim on an RRset: the whole of it (`values` None) or the values listed."""

    owner: str
    values: tuple[str, ...] | None = None
    place: Place = ANYWHERE
    """Where the claim was written (S10); empty in a claim written before S10."""
    elsewhere: bool = field(default=False, compare=False)
    """Read from another account or region than `place`'s: someone else's claim (S10)."""

    @property
    def who(self) -> str:
        """The owner as this read sees it: `owner`, or `owner@region/account` from elsewhere
        (then it is never this owner's, whatever the id)."""
        return f"{self.owner}@{self.place.label}" if self.elsewhere else self.owner

    def seen_from(self, here: Place) -> RRsetClaim:
        return replace(self, elsewhere=self.place.differs(here))

    def text(self) -> str:
        """The claim as one TXT value in presentation form."""
        strings = [f"owner={self.owner}".encode()]
        if self.place.account:
            strings.append(f"account={self.place.account}".encode())
        if self.place.region:
            strings.append(f"region={self.place.region}".encode())
        if self.values is not None:
            strings += _pack_values(self.values)
        return txt_text(strings)


def parse_claim(value: str) -> RRsetClaim | None:
    """The claim in one TXT value of a marker; None when it is not one (then it is foreign)."""
    strings = [s.decode("utf-8", "replace") for s in txt_strings(value)]
    if not strings or not strings[0].startswith("owner=") or len(strings[0]) == 6:
        return None
    owner = strings[0][6:]
    rest = strings[1:]
    place = {}
    while rest and rest[0].startswith(("account=", "region=")):
        key, _, value = rest.pop(0).partition("=")
        if key in place or not value:
            return None
        place[key] = value
    where = Place(place.get("account", ""), place.get("region", ""))
    lists = [s[7:] for s in rest if s.startswith("values=")]
    if len(lists) != len(rest):
        return None
    if not lists:
        return RRsetClaim(owner, place=where)
    values = [_unescape(v) for part in lists for v in part.split(",") if v]
    return RRsetClaim(owner, tuple(sorted(set(values))), place=where)


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
