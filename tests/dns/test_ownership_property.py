"""Property: whatever the zone and the wish, the registry never touches what is not ours (S4)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from eipkeeper.dns.ownership import (
    Claim,
    OwnedZone,
    is_marker,
    marker_name,
    parse_claim,
    plan_rrset,
)
from eipkeeper.dns.records import Change, Record, Zone
from eipkeeper.errors import SafetyRefusal

ZONE = "example.test"
ME = "mail-prod"
NAMES = [f"h{i}.{ZONE}" for i in range(4)]
POOL = [f"127.0.9.{i}" for i in range(6)]
STATUSES = ["absent", "unowned", "mine", "theirs", "shared", "shared-two", "orphan", "junk"]


@st.composite
def zones(draw: st.DrawFn) -> Zone:
    records: list[Record] = []
    for name in NAMES:
        status = draw(st.sampled_from(STATUSES))
        values = draw(st.lists(st.sampled_from(POOL), min_size=1, max_size=4, unique=True))
        ttl = draw(st.sampled_from([60, 300]))
        claims: list[Claim] = []
        if status == "mine":
            claims = [Claim(ME)]
        elif status == "theirs":
            claims = [Claim("web-team")]
        elif status in ("shared", "shared-two"):
            mine = draw(st.lists(st.sampled_from(values), unique=True))
            claims = [Claim(ME, tuple(sorted(mine)))]
            if status == "shared-two":
                rest = [v for v in values if v not in mine]
                claims.append(Claim("web-team", tuple(rest[:1])))
        elif status == "orphan":
            claims = [Claim(draw(st.sampled_from([ME, "web-team"])))]
        if status not in ("absent", "orphan"):
            records.append(Record(name, "A", ttl, values))
        texts = [c.text() for c in claims] + (['"junk"'] if status == "junk" else [])
        if texts:
            records.append(Record(marker_name(name, "A"), "TXT", ttl, texts))
    return Zone(ZONE, 1, tuple(sorted(records, key=lambda r: r.key)))


def my_claim(zone: Zone, name: str) -> tuple[Claim | None, list[Claim], bool]:
    """The oracle's own reading of the marker: (my claim, the others', unreadable?)."""
    marker = zone.get(marker_name(name, "A"), "TXT")
    if marker is None:
        return None, [], False
    parsed = [parse_claim(v) for v in marker.values]
    mine = next((c for c in parsed if c is not None and c.owner == ME), None)
    others = [c for c in parsed if c is not None and c.owner != ME]
    return mine, others, any(c is None for c in parsed)


@settings(max_examples=400, deadline=None)
@given(
    zones(),
    st.sampled_from(NAMES),
    st.lists(st.sampled_from(POOL), max_size=3, unique=True),
    st.sampled_from([60, 300, 900]),
)
def test_the_registry_never_changes_what_this_owner_does_not_own(
    zone: Zone, name: str, wanted: list[str], ttl: int
) -> None:
    owned = OwnedZone.of(zone)
    mine, others, junk = my_claim(zone, name)
    current = zone.get(name, "A")
    try:
        unit = plan_rrset(owned, owner=ME, name=name, rdtype="A", ttl=ttl, values=wanted)
    except SafetyRefusal as refusal:
        assert refusal.rule == "S4" and refusal.objects == (f"A {name}",)
        # Refused only when the RRset is not (only) ours, or an unreadable marker guards it.
        assert junk or (current is not None and mine is None) or others
        return
    for change in unit:
        check_change(zone, name, change, mine=mine, others=others)
    record_changes = [c for c in unit if not is_marker(c.record)]
    if record_changes:
        # Ownership travels with the record: the marker is in the same atomic unit.
        assert any(is_marker(c.record) for c in unit)


def check_change(
    zone: Zone, name: str, change: Change, *, mine: Claim | None, others: list[Claim]
) -> None:
    if is_marker(change.record):
        assert change.record.name == marker_name(name, "A")
        assert change.old == zone.get(change.record.name, "TXT")  # exactly what was read
        kept = [parse_claim(v) for v in change.new.values] if change.new else []
        for claim in others:
            assert claim in kept  # another owner's claim is never dropped or edited
        return
    assert change.key == (name, "A")
    assert change.old == zone.get(name, "A")  # compare-and-swap against what was read
    if change.old is None:
        assert not others  # a create never lands on a name another owner marked
        return
    assert mine is not None  # the RRset is ours, wholly or in part
    if mine.values is not None:
        theirs = set(change.old.values) - set(mine.values)
        if theirs:
            assert change.new is not None
            assert theirs <= set(change.new.values)  # the others' values stay
            assert change.new.ttl == change.old.ttl  # and so does their TTL
