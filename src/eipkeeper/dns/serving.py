"""What a server must answer once a change is served, and whether an answer shows it (S2).

A serial alone can be fooled: PowerDNS with `SOA-EDIT-DNSUPDATE=EPOCH` sets it to the Unix
time, so it can go backwards or stay put across two updates, and a secondary that refused a
transfer still answers with a serial that looks current (FACTS.md, "DNS servers other than
BIND"). So each changed RRset is also asked for: its new values must be served, and a value
the change removed must no longer be (values others added by hand may come and go).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import dns.exception
import dns.message
import dns.rcode
import dns.rdatatype

from eipkeeper.dns.records import Change, canonical_rdata


@dataclass(frozen=True)
class Expectation:
    """After the change, NAME TYPE holds every value of `present` and none of `absent`."""

    name: str
    rdtype: str
    present: frozenset[str]
    absent: frozenset[str]

    def __str__(self) -> str:
        return f"{self.name} {self.rdtype}"

    def judge(self, served: frozenset[str]) -> str:
        """'' when SERVED shows the change, else what is still wrong (for the report)."""
        missing = sorted(self.present - served)
        stale = sorted(self.absent & served)
        if not missing and not stale:
            return ""
        parts = [f"lacks {', '.join(missing)}"] if missing else []
        parts += [f"still has {', '.join(stale)}"] if stale else []
        return f"{self} {' and '.join(parts)}"


def expectations(changes: Iterable[Change]) -> tuple[Expectation, ...]:
    """One expectation per changed RRset, in order."""
    out = []
    for change in changes:
        new = frozenset(change.new.values) if change.new is not None else frozenset()
        old = frozenset(change.old.values) if change.old is not None else frozenset()
        record = change.record
        out.append(Expectation(record.name, record.type, new, old - new))
    return tuple(out)


def query(expectation: Expectation) -> dns.message.Message:
    return dns.message.make_query(expectation.name + ".", expectation.rdtype)


def served_values(
    wire: bytes, question: dns.message.Message, rdtype: str
) -> tuple[frozenset[str] | None, str]:
    """The values an answer serves for the question's RRset (NXDOMAIN/NODATA: none), or
    (None, why) when the answer says nothing about it (an error, not authoritative)."""
    try:
        answer = dns.message.from_wire(wire)
    except dns.exception.DNSException as exc:
        return None, f"bad answer: {exc}"
    if not question.is_response(answer):
        return None, "answer does not match the query"
    if answer.rcode() not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
        return None, dns.rcode.to_text(answer.rcode())
    wanted, owner = dns.rdatatype.from_text(rdtype), question.question[0].name
    # Only the asked name's RRset: behind a CNAME the answer also holds the target's.
    values = frozenset(
        canonical_rdata(rd)
        for rrset in answer.answer
        if rrset.rdtype == wanted and rrset.name == owner
        for rd in rrset
    )
    return values, ""
