"""DNS wire format for the two hot paths: packing UPDATE messages and decoding names and rdata.

dnspython is correct but builds an object per name and rdata; packing 4,000 RRsets into UPDATE
messages with it took longer than BIND took to apply them, and parsing a 10,000-record AXFR
took ten times as long as `dig`. These functions write and read the bytes directly for the
types eipkeeper works with (A, AAAA, MX, TXT, NS, CNAME, PTR) and hand every other type to
dnspython. tests/dns/test_wire.py checks both directions against dnspython.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import dns.ipv6
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.TSIG
import dns.tsig

from eipkeeper.dns.records import Change, canonical_rdata, txt_strings, txt_text
from eipkeeper.dns.tsig import TsigKey

CLASS_IN, CLASS_NONE, CLASS_ANY = 1, 254, 255
TYPE_SOA, TYPE_TSIG, TYPE_OPT = 6, 250, 41
OPCODE_UPDATE = 5 << 11
MAX_MESSAGE = 65535
_RR = struct.Struct("!HHIH")
_NAME_CODES = {2: "NS", 5: "CNAME", 12: "PTR"}
_SAFE = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_*"
_NAME_ESCAPED = b'"().;\\@$'


def _rdtype(code: int) -> dns.rdatatype.RdataType:
    return dns.rdatatype.RdataType.make(code)


class FormError(ValueError):
    """The bytes are not a well-formed DNS message."""


# -- names ------------------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def name_wire(name: str) -> bytes:
    """The uncompressed wire form of NAME (absolute; a final dot is optional)."""
    text = name.rstrip(".")
    if "\\" in text or not text:
        return bytes(dns.name.from_text(text or ".", origin=dns.name.root).to_wire() or b"\0")
    out = bytearray()
    for label in text.split("."):
        data = label.encode("ascii")
        if not 0 < len(data) <= 63:
            raise ValueError(f"bad label in {name!r}")
        out.append(len(data))
        out += data
    out.append(0)
    return bytes(out)


def _label_text(label: bytes) -> str:
    label = label.lower()
    if not label.translate(None, _SAFE):
        return label.decode("ascii")
    out = []
    for c in label:
        if c in _NAME_ESCAPED:
            out.append("\\" + chr(c))
        elif 0x20 < c < 0x7F:
            out.append(chr(c))
        else:
            out.append(f"\\{c:03d}")
    return "".join(out)


def read_name(wire: bytes, offset: int, *, cache: dict[int, tuple[str, int]]) -> tuple[str, int]:
    """The name at OFFSET (lowercase, no final dot, "" for the root) and the offset after it.

    CACHE maps an offset to (name, end of its inline encoding) for one message: compressed
    names point at the same few suffixes, so most names cost one label and one lookup.
    """
    hit = cache.get(offset)
    if hit is not None:
        return hit
    # The common case in a transfer: one label, then a pointer to a name already seen.
    length = wire[offset]
    after = offset + 1 + length
    if 0 < length < 64 and wire[after] >= 0xC0:
        tail = cache.get(((wire[after] & 0x3F) << 8) | wire[after + 1])
        if tail is not None:
            label = _label_text(wire[offset + 1 : after])
            found = (label + "." + tail[0] if tail[0] else label, after + 2)
            cache[offset] = found
            return found
    return _read_name(wire, offset, cache=cache)


def _read_name(wire: bytes, offset: int, *, cache: dict[int, tuple[str, int]]) -> tuple[str, int]:
    labels: list[str] = []
    starts: list[int] = []
    ends: list[int] = []  # per label: where the inline run holding it ends
    end = -1
    hops = 0
    while True:
        hit = cache.get(offset)
        if hit is not None:
            tail, run_end = hit
            ends += [run_end] * (len(starts) - len(ends))
            end = run_end if end < 0 else end
            break
        length = wire[offset]
        if length == 0:
            tail = ""
            ends += [offset + 1] * (len(starts) - len(ends))
            end = offset + 1 if end < 0 else end
            break
        if length >= 0xC0:
            ends += [offset + 2] * (len(starts) - len(ends))
            end = offset + 2 if end < 0 else end
            offset = ((length & 0x3F) << 8) | wire[offset + 1]
            hops += 1
            if hops > 64:
                raise FormError("name compression loop")
            continue
        if length > 63:
            raise FormError("bad label length")
        starts.append(offset)
        labels.append(_label_text(wire[offset + 1 : offset + 1 + length]))
        offset += 1 + length
    text = tail
    for index in range(len(labels) - 1, -1, -1):
        text = labels[index] + "." + text if text else labels[index]
        cache[starts[index]] = (text, ends[index])
    return text, end


# -- rdata ------------------------------------------------------------------------------------


@lru_cache(maxsize=65536)
def rdata_wire(rdtype: str, value: str) -> bytes:
    """The wire form of one canonical VALUE of type RDTYPE (names uncompressed)."""
    if rdtype == "A":
        return socket.inet_pton(socket.AF_INET, value)
    if rdtype == "AAAA":
        return socket.inet_pton(socket.AF_INET6, value)
    if rdtype in ("TXT", "SPF"):
        return b"".join(bytes([len(s)]) + s for s in txt_strings(value))
    if rdtype == "MX":
        preference, target = value.split(" ", 1)
        return struct.pack("!H", int(preference)) + name_wire(target)
    if rdtype in ("NS", "CNAME", "PTR"):
        return name_wire(value)
    rdata = dns.rdata.from_text(dns.rdataclass.IN, rdtype, value, origin=dns.name.root)
    return bytes(rdata.to_wire() or b"")


def rdata_text(
    wire: bytes, rdtype: int, *, start: int, length: int, cache: dict[int, tuple[str, int]]
) -> str:
    """The canonical text of the rdata at START (the inverse of rdata_wire)."""
    if rdtype == 1 and length == 4:
        return socket.inet_ntop(socket.AF_INET, wire[start : start + 4])
    if rdtype == 28 and length == 16:
        return str(dns.ipv6.inet_ntoa(wire[start : start + 16]))  # as canonical_value writes it
    if rdtype in (16, 99):
        strings, at, stop = [], start, start + length
        while at < stop:
            size = wire[at]
            strings.append(wire[at + 1 : at + 1 + size])
            at += 1 + size
        return txt_text(strings)
    if rdtype == 15:
        target, _ = read_name(wire, start + 2, cache=cache)
        return f"{(wire[start] << 8) | wire[start + 1]} {target}."
    if rdtype in _NAME_CODES:
        return read_name(wire, start, cache=cache)[0] + "."
    rdata = dns.rdata.from_wire(dns.rdataclass.IN, _rdtype(rdtype), wire, start, length)
    return canonical_rdata(rdata)


# -- UPDATE messages --------------------------------------------------------------------------


@dataclass
class UpdateMessage:
    """One UPDATE message being packed: prerequisites and updates as bytes, and their changes."""

    zone: str
    changes: list[Change] = field(default_factory=list)
    prereq: bytearray = field(default_factory=bytearray)
    update: bytearray = field(default_factory=bytearray)
    prcount: int = 0
    upcount: int = 0
    _names: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._zone_wire = name_wire(self.zone)
        self._names[self.zone] = 12  # the zone section's name follows the header
        self._base = 12 + len(self._zone_wire) + 4

    @property
    def size(self) -> int:
        return self._base + len(self.prereq) + len(self.update)

    def add(self, unit: Sequence[Change], *, limit: int) -> bool:
        """Append UNIT whole, or leave the message as it was and say False when it won't fit."""
        saved = (len(self.prereq), len(self.update), self.prcount, self.upcount)
        known = len(self._names)  # names are only appended: the unit's own come after these
        for change in unit:
            self._add_change(change)
        if self.size <= limit:
            self.changes.extend(unit)
            return True
        del self.prereq[saved[0] :], self.update[saved[1] :]
        self.prcount, self.upcount = saved[2], saved[3]
        for name in list(self._names)[known:]:
            del self._names[name]
        return False

    def _owner(self, name: str) -> tuple[bytes, bytes]:
        """NAME as written in the prerequisites (compressed) and as a pointer for later RRs."""
        at = self._base + len(self.prereq)
        if name in self._names:
            pointer = struct.pack("!H", 0xC000 | self._names[name])
            return pointer, pointer
        labels = name.split(".") if "\\" not in name else []
        out = bytearray()
        for index in range(len(labels)):
            suffix = ".".join(labels[index:])
            if suffix in self._names:
                out += struct.pack("!H", 0xC000 | self._names[suffix])
                break
            if at + len(out) < 0x4000:  # a pointer holds 14 bits of offset
                self._names[suffix] = at + len(out)
            data = labels[index].encode("ascii")
            out.append(len(data))
            out += data
        else:
            out = bytearray(name_wire(name))
        written = bytes(out)
        if at < 0x4000:
            return written, struct.pack("!H", 0xC000 | at)
        return written, written

    def _add_change(self, change: Change) -> None:
        record = change.record
        code = _type_code(record.type)
        first, again = self._owner(record.name)
        if change.old is None:
            # RFC 2136 2.4.3 "RRset does not exist": the create expects nothing there.
            self.prereq += first + _RR.pack(code, CLASS_NONE, 0, 0)
            self.prcount += 1
        else:
            # RFC 2136 2.4.2 "RRset exists (value dependent)": exactly the RRset read.
            for index, value in enumerate(change.old.values):
                data = rdata_wire(record.type, value)
                owner = first if index == 0 else again
                self.prereq += owner + _RR.pack(code, CLASS_IN, 0, len(data)) + data
            self.prcount += len(change.old.values)
            self.update += again + _RR.pack(code, CLASS_ANY, 0, 0)  # delete the RRset
            self.upcount += 1
        if change.new is not None:
            for value in change.new.values:
                data = rdata_wire(record.type, value)
                self.update += again + _RR.pack(code, CLASS_IN, change.new.ttl, len(data)) + data
            self.upcount += len(change.new.values)

    def signed(self, key: TsigKey, *, message_id: int, now: int) -> tuple[bytes, bytes]:
        """The message with its TSIG record, and the request MAC (to check the answer)."""
        header = struct.pack("!HHHHHH", message_id, OPCODE_UPDATE, 1, self.prcount, self.upcount, 0)
        zone = self._zone_wire + struct.pack("!HH", TYPE_SOA, CLASS_IN)
        body = header + zone + bytes(self.prereq) + bytes(self.update)
        return sign(body, key, message_id=message_id, now=now)


@lru_cache(maxsize=256)
def _type_code(rdtype: str) -> int:
    return int(dns.rdatatype.from_text(rdtype))


def rights_probe(zone: str) -> UpdateMessage:
    """An UPDATE that changes nothing: its one prerequisite is that the zone's SOA exists
    (RFC 2136 2.4.1). A server answers it as it would a real update of the zone with the
    same key, so `check-config` proves the right to update without touching a record."""
    message = UpdateMessage(zone)
    message.prereq += struct.pack("!H", 0xC00C) + _RR.pack(TYPE_SOA, CLASS_ANY, 0, 0)
    message.prcount = 1
    return message


def tsig_size(key: TsigKey) -> int:
    """Bytes the TSIG record adds (owner, fixed fields, algorithm name, MAC)."""
    return len(name_wire(key.name)) + 10 + len(name_wire(key.algorithm)) + 16 + key.mac_size


def sign(body: bytes, key: TsigKey, *, message_id: int, now: int) -> tuple[bytes, bytes]:
    """BODY (ARCOUNT 0) with a TSIG record appended, and the MAC of it."""
    template = dns.rdtypes.ANY.TSIG.TSIG(  # type: ignore[no-untyped-call]
        dns.rdataclass.ANY,
        dns.rdatatype.TSIG,
        dns.name.from_text(key.algorithm),
        0,
        300,
        b"",
        message_id,
        0,
        b"",
    )
    tsig, _ = dns.tsig.sign(body, key.dns_key, template, now, None)  # type: ignore[no-untyped-call]
    data = bytes(tsig.to_wire() or b"")
    record = name_wire(key.name) + _RR.pack(TYPE_TSIG, CLASS_ANY, 0, len(data)) + data
    arcount = struct.unpack_from("!H", body, 10)[0] + 1
    return body[:10] + struct.pack("!H", arcount) + body[12:] + record, bytes(tsig.mac)
