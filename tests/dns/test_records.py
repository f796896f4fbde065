"""Canonical values: equal exactly when the server would consider them equal."""

from __future__ import annotations

import dns.name
import dns.rdata
import dns.rdataclass
import pytest
from hypothesis import given
from hypothesis import strategies as st

from eipkeeper.dns.records import (
    Change,
    Record,
    Zone,
    canonical_rdata,
    canonical_value,
    normalize_name,
    txt_strings,
    txt_text,
)


@pytest.mark.parametrize(
    ("rdtype", "text", "canonical"),
    [
        ("A", " 192.0.2.1 ", "192.0.2.1"),
        ("AAAA", "2001:DB8:0:0::1", "2001:db8::1"),
        ("AAAA", "::ffff:192.0.2.1", "::ffff:192.0.2.1"),
        ("MX", "10 MX1.Example.COM", "10 mx1.example.com."),
        ("MX", "0 .", "0 ."),
        ("TXT", "v=spf1 ip4:192.0.2.0/24 -all", '"v=spf1 ip4:192.0.2.0/24 -all"'),
        ("TXT", '"a" "b"', '"a" "b"'),
        ("TXT", '"say \\"hi\\""', '"say \\"hi\\""'),
        ("TXT", '"caf\\195\\169"', '"caf\\195\\169"'),
        ("CNAME", "Target.Example.com", "target.example.com."),
        ("SRV", "0 5 5060 SIP.example.com.", "0 5 5060 sip.example.com."),
        ("CAA", '0 issue "ca.example"', '0 issue "ca.example"'),
    ],
)
def test_values_are_held_in_canonical_form(rdtype: str, text: str, canonical: str) -> None:
    assert canonical_value(rdtype, text) == canonical


@pytest.mark.parametrize(
    ("rdtype", "text"),
    [
        ("A", "192.0.2"),
        ("A", "1"),
        ("AAAA", "2001:db8::g"),
        ("MX", "mx1.example.com"),
        ("CAA", "x"),
    ],
)
def test_invalid_values_are_refused(rdtype: str, text: str) -> None:
    with pytest.raises(ValueError, match="not valid"):
        canonical_value(rdtype, text)


def test_a_long_bare_txt_value_is_split_into_255_byte_strings() -> None:
    value = canonical_value("TXT", "x" * 600)
    assert [len(s) for s in txt_strings(value)] == [255, 255, 90]


def test_records_normalise_name_type_and_values() -> None:
    record = Record("MX1.Example.COM.", "a", 300, ["192.0.2.2", "192.0.2.1", "192.0.2.2"])
    assert record == Record("mx1.example.com", "A", 300, ("192.0.2.1", "192.0.2.2"))
    assert record.key == ("mx1.example.com", "A")
    assert str(record) == "mx1.example.com 300 A 192.0.2.1 | 192.0.2.2"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"values": []}, "at least one value"),
        ({"ttl": -1}, "TTL"),
        ({"rdtype": "ANY"}, "not a record type"),
    ],
)
def test_invalid_records_are_refused(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {"rdtype": "A", "ttl": 300, "values": ["192.0.2.1"], **kwargs}
    with pytest.raises(ValueError, match=message):
        Record("x.example.com", str(args["rdtype"]), args["ttl"], args["values"])  # type: ignore[arg-type]


def test_changes_have_the_shape_their_kind_says() -> None:
    a = Record("x.example.com", "A", 300, ["192.0.2.1"])
    b = Record("x.example.com", "A", 60, ["192.0.2.2"])
    assert Change.update(a, b, reason="moved").key == a.key
    assert (
        str(Change.update(a, b, reason="moved"))
        == "update A x.example.com: 192.0.2.1 -> 192.0.2.2, ttl 300 -> 60 (moved)"
    )
    with pytest.raises(ValueError):
        Change("create", a, b)
    with pytest.raises(ValueError, match="keeps name and type"):
        Change.update(a, Record("y.example.com", "A", 300, ["192.0.2.1"]))


def test_a_zone_finds_rrsets_by_name_and_type() -> None:
    a = Record("x.example.com", "A", 300, ["192.0.2.1"])
    zone = Zone("example.com", 7, (a,))
    assert zone.get("x.example.com", "A") is a
    assert zone.get("x.example.com", "AAAA") is None
    assert len(zone) == 1 and list(zone) == [a]


def test_names_with_unusual_characters_survive() -> None:
    assert normalize_name("_dmarc.Example.com.") == "_dmarc.example.com"
    assert normalize_name("*.example.com") == "*.example.com"
    with pytest.raises(ValueError):
        normalize_name("a" * 64 + ".example.com")


txt_bytes = st.lists(st.binary(max_size=255), min_size=1, max_size=4)


@given(txt_bytes)
def test_txt_text_is_dnspythons_and_parses_back(strings: list[bytes]) -> None:
    text = txt_text(strings)
    parsed = dns.rdata.from_text(dns.rdataclass.IN, "TXT", text)
    assert parsed.to_text() == text
    assert txt_strings(text) == strings
    assert canonical_value("TXT", text) == text


@given(st.ip_addresses())
def test_address_values_match_dnspython(address: object) -> None:
    rdtype = "A" if ":" not in str(address) else "AAAA"
    parsed = dns.rdata.from_text(dns.rdataclass.IN, rdtype, str(address))
    assert canonical_value(rdtype, str(address)) == canonical_rdata(parsed)


labels = st.from_regex(r"[A-Za-z0-9]([A-Za-z0-9-]{0,10}[A-Za-z0-9])?", fullmatch=True)


@given(st.integers(0, 65535), st.lists(labels, min_size=1, max_size=4))
def test_mx_values_match_dnspython(preference: int, parts: list[str]) -> None:
    text = f"{preference} {'.'.join(parts)}."
    parsed = dns.rdata.from_text(dns.rdataclass.IN, "MX", text, origin=dns.name.root)
    assert canonical_value("MX", text) == canonical_rdata(parsed)
    assert canonical_value("MX", text) == text.lower()


def test_a_ttl_change_is_shown_as_one() -> None:
    # It showed as `mx1: 127.24.155.2 -> 127.24.155.2`: a change that looked like none.
    old = Record("mx1.example.test", "A", 300, ["127.24.155.2"])
    same = Change.update(old, Record(old.name, "A", 60, old.values))
    assert same.text() == "update A mx1.example.test: ttl 300 -> 60"
    both = Change.update(old, Record(old.name, "A", 60, ["127.24.155.3"]))
    assert both.text() == "update A mx1.example.test: 127.24.155.2 -> 127.24.155.3, ttl 300 -> 60"
    values = Change.update(old, Record(old.name, "A", 300, ["127.24.155.3"]))
    assert values.text() == "update A mx1.example.test: 127.24.155.2 -> 127.24.155.3"
