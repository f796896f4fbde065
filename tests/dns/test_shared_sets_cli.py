"""S4 on a set eipkeeper created: a value an operator adds by hand with `nsupdate` is theirs.

Driven as the issue tells it: the sandbox with its zone in a real BIND, `apply`, then
`nsupdate`: `update add example.test 300 MX 20 onprem.mail.example.org.`, then more `apply`
runs, one of which must rewrite the MX set (the config's preference changes).
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import dns.message
import dns.query
import dns.rdatatype
import pytest

from tests.audit.sandbox import ZONE, publish, zone_in
from tests.conftest import Cloud
from tests.support.cli import eipkeeper

ONPREM = "20 onprem.mail.example.org."
OURS_AT_15 = [f"15 mx1.{ZONE}.", f"15 mx2.{ZONE}.", f"25 mx3.{ZONE}."]
"""The sandbox's MX values once its preference is 15 (mx3, the burst reserve, goes 10 after)."""


@pytest.fixture
def bind_cloud(cloud: Cloud, tmp_path: Path) -> Iterator[Cloud]:
    with zone_in(cloud, "bind", tmp_path) as moved:
        yield moved


def server(cloud: Cloud) -> tuple[int, str]:
    """The BIND port and TSIG key file the config names."""
    text = cloud.config.read_text()
    port = re.search(r"^port = (\d+)$", text, re.MULTILINE)
    key = re.search(r'^tsig_key_file = "([^"]+)"$', text, re.MULTILINE)
    assert port and key, text
    return int(port.group(1)), key.group(1)


def nsupdate(cloud: Cloud, *commands: str) -> None:
    """The operator's own tool, with the zone's TSIG key: no ownership record is touched."""
    port, key = server(cloud)
    script = "\n".join([f"server 127.0.0.1 {port}", f"zone {ZONE}", *commands, "send", ""])
    ran = subprocess.run(
        ["nsupdate", "-k", key],
        input=script,
        text=True,
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr


def mx_rdata(cloud: Cloud) -> list[bytes]:
    """The apex MX set as a resolver gets it: each value's wire form, sorted."""
    port, _ = server(cloud)
    reply = dns.query.udp(dns.message.make_query(ZONE, "MX"), "127.0.0.1", port=port, timeout=2)
    values = [
        rdata for rrset in reply.answer if rrset.rdtype == dns.rdatatype.MX for rdata in rrset
    ]
    return sorted(rdata.to_digestable() for rdata in values)


def onprem_wire() -> bytes:
    return dns.rdata.from_text("IN", "MX", ONPREM).to_digestable()


def records(cloud: Cloud) -> list[dict[str, object]]:
    ran = eipkeeper("-o", "json", "records", env=cloud.env)
    assert ran.code == 0, ran.stderr
    rows: list[dict[str, object]] = ran.json()
    return rows


def test_an_mx_value_added_by_hand_survives_apply_and_is_shown_with_owner_dash(
    bind_cloud: Cloud,
) -> None:
    cloud = bind_cloud
    publish(cloud)
    nsupdate(cloud, f"update add {ZONE} 300 MX {ONPREM}")
    assert onprem_wire() in mx_rdata(cloud)

    ran = eipkeeper("plan", "--detailed-exitcode", env=cloud.env)
    assert ran.code == 0, "nothing to do about a value that is not ours: " + ran.stdout
    again = eipkeeper("apply", "--yes", env=cloud.env)
    assert again.code == 0, again.stdout + again.stderr
    assert onprem_wire() in mx_rdata(cloud)

    # A change eipkeeper must make to the set: its values move, the operator's stays.
    cloud.config.write_text(cloud.config.read_text().replace("preference = 10", "preference = 15"))
    changed = eipkeeper("apply", "--yes", env=cloud.env)
    assert changed.code == 0, changed.stdout + changed.stderr
    after = mx_rdata(cloud)
    assert onprem_wire() in after, "the operator's value was deleted"
    ours = [dns.rdata.from_wire("IN", "MX", w, 0, len(w)).to_text() for w in after]
    assert sorted(v for v in ours if v != ONPREM) == OURS_AT_15, "eipkeeper's own values did move"

    rows = [r for r in records(cloud) if (r["name"], r["type"]) == (ZONE, "MX")]
    assert [(r["owner"], r["values"]) for r in rows] == [
        ("sandbox", OURS_AT_15),
        ("-", [ONPREM]),
    ]
    assert rows[1]["points_at"] == ["unknown"]  # outside the zone: not followed
    table = eipkeeper("-o", "table", "records", env=cloud.env)
    assert "managed by sandbox" in table.stdout


def test_an_old_marker_without_a_list_keeps_the_operators_value(bind_cloud: Cloud) -> None:
    """A set written by an older eipkeeper (`owner=sandbox`, no list) with an on-premises host
    added since: the upgrade keeps the host and lists only eipkeeper's values."""
    cloud = bind_cloud
    publish(cloud)
    nsupdate(
        cloud,
        f"update delete _eipkeeper.mx.{ZONE} TXT",
        f'update add _eipkeeper.mx.{ZONE} 300 TXT "owner=sandbox"',
        f"update add {ZONE} 300 MX {ONPREM}",
    )
    cloud.config.write_text(cloud.config.read_text().replace("preference = 10", "preference = 15"))
    ran = eipkeeper("apply", "--yes", env=cloud.env)
    assert ran.code == 0, ran.stdout + ran.stderr
    assert onprem_wire() in mx_rdata(cloud)
    port, _ = server(cloud)
    query = dns.message.make_query(f"_eipkeeper.mx.{ZONE}", "TXT")
    reply = dns.query.udp(query, "127.0.0.1", port=port, timeout=2)
    texts = [r.to_text() for rrset in reply.answer for r in rrset]
    # Rewritten with the list, and with the account and region that wrote it (S10).
    assert texts == [
        '"owner=sandbox" "account=123456789012" "region=us-east-1" '
        '"values=15 mx1.example.test.,15 mx2.example.test.,25 mx3.example.test."'
    ]


def test_plan_says_what_it_left_alone_and_why(bind_cloud: Cloud) -> None:
    """An MX set at the config's MX domain marked by nobody: the config's MX values are
    refused (S4), and the plan must not say the zone agrees with the config."""
    cloud = bind_cloud
    nsupdate(cloud, f"update add {ZONE} 300 MX {ONPREM}")
    publish(cloud)
    ran = eipkeeper("-o", "table", "plan", "--detailed-exitcode", env=cloud.env)
    assert ran.code == 0, "nothing apply could do: " + ran.stdout + ran.stderr
    summary = ran.stdout.strip().splitlines()[-1]
    assert summary.startswith("no changes; 1 thing left alone: ")
    assert f"MX {ZONE} is marked by nobody, not sandbox (S4)" in summary
    assert "agree with the config" not in ran.stdout
    assert onprem_wire() in mx_rdata(cloud) and len(mx_rdata(cloud)) == 1
