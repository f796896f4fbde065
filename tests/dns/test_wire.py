"""The hand-written wire code says exactly what dnspython says, in both directions."""

from __future__ import annotations

import time

import dns.message
import dns.name
import dns.opcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import dns.update
from hypothesis import given, settings
from hypothesis import strategies as st

from eipkeeper.dns.records import Change, Record, canonical_rdata
from eipkeeper.dns.tsig import TsigKey
from eipkeeper.dns.wire import UpdateMessage, rdata_text, read_name

ZONE = "example.test"
KEY = TsigKey("k", "hmac-sha256", b"s" * 32)

hosts = st.from_regex(r"[a-z][a-z0-9-]{0,8}", fullmatch=True).map(lambda h: f"{h}.{ZONE}")
a_values = st.lists(st.ip_addresses(v=4).map(str), min_size=1, max_size=3)
mx_values = st.lists(
    st.tuples(st.integers(0, 100), hosts).map(lambda p: f"{p[0]} {p[1]}."), min_size=1, max_size=3
)
txt_values = st.lists(st.text(min_size=0, max_size=40), min_size=1, max_size=2)


@st.composite
def records(draw: st.DrawFn) -> Record:
    name = draw(hosts)
    kind = draw(st.sampled_from(["A", "MX", "TXT"]))
    values = draw({"A": a_values, "MX": mx_values, "TXT": txt_values}[kind])
    return Record(name, kind, draw(st.integers(0, 86400)), values)


@st.composite
def changes(draw: st.DrawFn) -> list[Change]:
    out: dict[tuple[str, str], Change] = {}
    for record in draw(st.lists(records(), min_size=1, max_size=12)):
        kind = draw(st.sampled_from(["create", "update", "delete"]))
        if kind == "create":
            change = Change.create(record)
        elif kind == "delete":
            change = Change.delete(record)
        else:
            new = Record(record.name, record.type, record.ttl + 1, record.values)
            change = Change.update(record, new)
        out.setdefault(change.key, change)
    return list(out.values())


def expected(batch: list[Change]) -> dns.update.UpdateMessage:
    """What dnspython writes for the same changes, prerequisites stated the same way."""
    message = dns.update.UpdateMessage(ZONE + ".")
    for change in batch:
        name = dns.name.from_text(change.record.name + ".")
        if change.old is None:
            message.absent(name, change.record.type)
        else:
            message.present(name, *_rdatas(change.old))
            message.delete(name, change.record.type)
        if change.new is not None:
            message.add(name, change.new.ttl, *_rdatas(change.new))
    return message


def _rdatas(record: Record) -> list[dns.rdata.Rdata]:
    return [
        dns.rdata.from_text(
            dns.rdataclass.IN, record.type, v, origin=dns.name.root, relativize=False
        )
        for v in record.values
    ]


def _sections(message: dns.message.Message) -> list[list[dns.rrset.RRset]]:
    return [sorted(s, key=lambda r: (r.name, r.rdtype, r.rdclass)) for s in message.sections]


@settings(max_examples=150, deadline=None)
@given(changes())
def test_update_messages_say_what_dnspython_would(batch: list[Change]) -> None:
    message = UpdateMessage(ZONE)
    assert message.add(batch, limit=65000)
    wire, mac = message.signed(KEY, message_id=4321, now=int(time.time()))
    parsed = dns.message.from_wire(wire, keyring=KEY.dns_key)
    assert parsed.opcode() == dns.opcode.UPDATE
    assert parsed.id == 4321 and parsed.mac == mac
    reference = dns.message.from_wire(expected(batch).to_wire())  # read back the same way
    ours, theirs = _sections(parsed), _sections(reference)
    assert ours == theirs
    for mine, same in zip(ours[1], theirs[1], strict=True):  # prerequisites: TTL 0
        assert mine.ttl == same.ttl == 0


def test_a_unit_that_does_not_fit_leaves_the_message_unchanged() -> None:
    message = UpdateMessage(ZONE)
    small = Change.create(Record(f"a.{ZONE}", "A", 300, ["192.0.2.1"]))
    big = Change.create(Record(f"b.{ZONE}", "TXT", 300, ["x" * 250] * 1 + ["y" * 250]))
    assert message.add([small], limit=200)
    size = message.size
    assert not message.add([big], limit=200)
    assert message.size == size and message.changes == [small]
    wire, _ = message.signed(KEY, message_id=1, now=int(time.time()))
    assert len(dns.message.from_wire(wire, keyring=KEY.dns_key).sections[2]) == 1


def test_a_name_of_a_unit_that_did_not_fit_is_written_out_by_the_next() -> None:
    """The refused unit's names are forgotten with its bytes: a later change of the same name
    must not point at where they were."""
    message = UpdateMessage(ZONE)
    big = Change.create(Record(f"b.{ZONE}", "TXT", 300, ["x" * 250, "y" * 250]))
    same_name = Change.create(Record(f"b.{ZONE}", "A", 300, ["192.0.2.2"]))
    assert not message.add([big], limit=200)
    assert message.add([same_name], limit=200)
    wire, _ = message.signed(KEY, message_id=1, now=int(time.time()))
    parsed = dns.message.from_wire(wire, keyring=KEY.dns_key)
    assert [str(r.name) for r in parsed.sections[2]] == [f"b.{ZONE}."]


@settings(max_examples=100, deadline=None)
@given(st.lists(records(), min_size=1, max_size=15, unique_by=lambda r: r.key))
def test_names_and_rdata_read_back_as_dnspython_reads_them(rrsets: list[Record]) -> None:
    """A compressed answer (as in an AXFR) decodes to the same canonical text."""
    answer = dns.message.make_response(dns.message.make_query(ZONE + ".", "AXFR"))
    for record in rrsets:
        name = dns.name.from_text(record.name + ".")
        answer.answer.append(dns.rrset.from_rdata_list(name, record.ttl, _rdatas(record)))
    wire = answer.to_wire()
    parsed = dns.message.from_wire(wire)
    cache: dict[int, tuple[str, int]] = {}
    offset = read_name(wire, 12, cache=cache)[1] + 4
    seen: dict[tuple[str, str], list[str]] = {}
    for _ in range(sum(len(r) for r in parsed.answer)):
        owner, offset = read_name(wire, offset, cache=cache)
        rdtype = int.from_bytes(wire[offset : offset + 2], "big")
        length = int.from_bytes(wire[offset + 8 : offset + 10], "big")
        text = rdata_text(wire, rdtype, start=offset + 10, length=length, cache=cache)
        kind = dns.rdatatype.to_text(dns.rdatatype.RdataType.make(rdtype))
        seen.setdefault((owner, kind), []).append(text)
        offset += 10 + length
    assert offset == len(wire)
    reference = {
        (r.name.to_text(omit_final_dot=True).lower(), dns.rdatatype.to_text(r.rdtype)): sorted(
            canonical_rdata(rd) for rd in r
        )
        for r in parsed.answer
    }
    assert {k: sorted(v) for k, v in seen.items()} == reference
    assert reference == {r.key: list(r.values) for r in rrsets}
