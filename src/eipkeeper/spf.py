"""Pure: the SPF record of a sending service, kept in step with its addresses (RFC 7208).

eipkeeper keeps one literal `ip4:` mechanism per address of the service in the SPF policy of
the service's `spf` name, and nothing else: it never adds a mechanism that costs a DNS lookup.
Ownership is per mechanism (S4): the TXT RRset's ownership record lists the mechanisms this
owner manages, so every other term of the policy, a hand-written `ip4:` included, stays as it
is, in its place. Ours go right after `v=spf1`, so a receiver matches them without a lookup.

RFC 7208: at most 10 terms that cost a lookup (`include`, `a`, `mx`, `ptr`, `exists`,
`redirect`; section 4.6.4); each TXT string at most 255 octets, the strings joined without
spaces (section 3.3); keep the record under 450 octets so it fits a 512-octet UDP answer
(section 3.4); one SPF record per name (section 3.2).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

from eipkeeper.dns.markers import RRsetClaim, marker_name, parse_claim
from eipkeeper.dns.ownership import OwnedZone
from eipkeeper.dns.records import Change, Record, normalize_name, txt_strings
from eipkeeper.errors import SafetyRefusal

LOOKUP_TERMS = frozenset({"include", "a", "mx", "ptr", "exists", "redirect"})
MAX_LOOKUPS = 10
MAX_OCTETS = 450
TXT_STRING = 255
NEW_POLICY_END = "~all"
"""A policy eipkeeper creates ends softly: senders it does not know of are not refused."""
RULE = "RFC 7208"


def policy_of(value: str) -> str | None:
    """The SPF policy a TXT value holds (its strings joined), or None when it holds none."""
    policy = b"".join(txt_strings(value)).decode("utf-8", "replace")
    terms = policy.split()
    return policy if terms and terms[0].lower() == "v=spf1" else None


def lookups(policy: str) -> int:
    """Terms that cost a DNS lookup, at the top level (an include's own are not counted)."""
    count = 0
    for term in policy.split()[1:]:
        name = term.lstrip("+-~?").split(":", 1)[0].split("/", 1)[0].split("=", 1)[0]
        count += name.lower() in LOOKUP_TERMS
    return count


def problems(policy: str) -> list[str]:
    """What makes POLICY break RFC 7208's limits ([] when it keeps them)."""
    found = []
    if (n := lookups(policy)) > MAX_LOOKUPS:
        found.append(f"{n} mechanisms that cost a DNS lookup (at most {MAX_LOOKUPS})")
    if (size := len(policy.encode("utf-8"))) > MAX_OCTETS:
        found.append(f"{size} octets (keep it under {MAX_OCTETS}, section 3.4)")
    return found


def txt_value(policy: str) -> str:
    """POLICY as one TXT value: strings of at most 255 octets, split between terms (each but
    the last ends with its space, as receivers join the strings without one)."""
    strings: list[str] = []
    current = ""
    for term in policy.split():
        piece = (" " if current else "") + term
        if len((current + piece).encode("utf-8")) > TXT_STRING and current:
            strings.append(current + " ")
            current = term
        else:
            current += piece
    strings.append(current)
    return " ".join('"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"' for s in strings)


def mechanisms(addresses: Iterable[str]) -> tuple[str, ...]:
    """One literal `ip4:` per IPv4 address, in address order."""
    v4 = sorted(
        {ipaddress.IPv4Address(a) for a in addresses if ipaddress.ip_address(a).version == 4}
    )
    return tuple(f"ip4:{a}" for a in v4)


def rewrite(
    policy: str | None, *, before: Sequence[str], now: Sequence[str]
) -> tuple[str, tuple[str, ...]]:
    """POLICY with this owner's terms BEFORE replaced by NOW; every other term stays, in its
    place. A term of NOW that someone already wrote by hand stays theirs. Returns the policy
    and the terms this owner now manages."""
    if policy is None:
        return " ".join(["v=spf1", *now, NEW_POLICY_END]), tuple(now)
    head, *rest = policy.split()
    ours_before = {t.lower() for t in before}
    theirs = [t for t in rest if t.lower() not in ours_before]
    written = {t.lower() for t in theirs}
    ours = tuple(t for t in now if t.lower() not in written)
    return " ".join([head, *ours, *theirs]), ours


def plan_spf(
    zone: OwnedZone, *, owner: str, name: str, ttl: int, addresses: Iterable[str], reason: str
) -> tuple[Change, ...]:
    """The atomic unit that makes OWNER's `ip4:` terms of NAME's SPF policy be one per address.
    Raises SafetyRefusal: S4 when the TXT RRset is someone else's (or nobody's), RFC 7208
    when the policy would break its limits or NAME holds two SPF policies."""
    name = normalize_name(name)
    label = f"TXT {name}"
    current = zone.get(name, "TXT")
    marker = zone.marker(name, "TXT")
    if current is not None:
        claims, foreign = current.claims, current.foreign_marker
    else:  # a marker left on nothing: read its claims as the zone read does
        parsed = [parse_claim(v) for v in (marker.values if marker is not None else ())]
        claims = tuple(c for c in parsed if c is not None)
        foreign = None in parsed
    mine = next((c for c in claims if c.owner == owner), None)
    now = mechanisms(addresses)
    if current is None and not now:
        return ()
    if foreign or (current is not None and mine is None) or any(c.owner != owner for c in claims):
        holders = ", ".join(sorted({c.owner for c in claims if c.owner != owner})) or "nobody"
        raise SafetyRefusal("S4", f"{label} is marked by {holders}, not {owner}", [label])
    values = current.record.values if current is not None else ()
    policies = [(v, p) for v in values if (p := policy_of(v)) is not None]
    if len(policies) > 1:
        many = f"{label} holds {len(policies)} SPF policies (one per name, section 3.2)"
        raise SafetyRefusal(RULE, many, [label])
    old_value, old_policy = policies[0] if policies else ("", None)
    before = (mine.values or ()) if mine is not None else ()
    policy, ours = rewrite(old_policy, before=before, now=now)
    if policy == old_policy and set(ours) == set(before):
        return ()
    broken = problems(policy)
    if broken:
        raise SafetyRefusal(
            RULE, f"the SPF policy of {name} would have {'; '.join(broken)}: not written", [label]
        )
    others = tuple(v for v in values if v != old_value)
    new = Record(name, "TXT", current.record.ttl if current else ttl, (*others, txt_value(policy)))
    claim = RRsetClaim(owner, tuple(sorted(ours)))
    marker_new = Record(marker_name(name, "TXT"), "TXT", new.ttl, (claim.text(),))
    why = f"ownership: {reason}"
    if current is None:
        record_change = Change.create(new, reason=reason)
    else:
        record_change = Change.update(current.record, new, reason=reason)
    if marker is None:
        marker_change = Change.create(marker_new, reason=why)
    else:
        marker_change = Change.update(marker, marker_new, reason=why)
    return (record_change, marker_change)
