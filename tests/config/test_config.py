"""The config of SPEC.md section 5: what loads, and how each mistake is reported."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from eipkeeper import config
from eipkeeper.durations import format_duration, parse_duration
from eipkeeper.errors import ConfigError

FULL = """\
owner = "mail-prod"
region = "eu-west-1"

[dns]
provider = "rfc2136"
zone = "example.com"
server = "127.0.0.1"
port = 5353
tsig_key_file = "update.key"
max_ttl = 300

[safety]
max_change_percent = 30
release_quarantine = "24h"
drain_margin = "30s"

[cost]
ipv4_hourly = 0.005

[audit]
cloud_ranges = ""

[[service]]
name = "mx"
select = { tags = { Role = "mx" } }
addresses = "elastic"
hostnames = ["mx1.example.com", "mx2.example.com", "mx3.example.com"]
ttl = 300
mx = { domain = "example.com", preference = 10, when_unbacked = "keep" }
check = { kind = "smtp", port = 25, interval = "2s", fail_after = 3, pass_after = 2 }
failover = true
replace_failed = true
burst = { launch_template = "mx-burst", hostnames = ["mx3.example.com"], max = 1, metric = { \
namespace = "Mail", name = "QueueLength", dimensions = { Service = "mx" } }, \
scale_out_above = 500, scale_in_below = 50, cooldown = "5m" }

[[service]]
name = "scan"
select = { tags = { Role = "scan" } }
addresses = "dynamic"
hostnames = ["scan.example.com"]
ttl = 60
check = { kind = "spamd", port = 783 }
"""


def write(tmp_path: Path, text: str, *, key: bool = True) -> Path:
    path = tmp_path / "eipkeeper.toml"
    path.write_text(text)
    if key:
        (tmp_path / "update.key").write_text('key "k" { algorithm hmac-sha256; secret "AA=="; };')
    return path


def test_the_spec_example_loads_with_every_value(tmp_path: Path) -> None:
    loaded = config.load(write(tmp_path, FULL))
    assert loaded.owner == "mail-prod"
    assert loaded.dns is not None and loaded.dns.port == 5353
    assert loaded.safety.release_quarantine == 86400
    assert loaded.safety.drain_margin == 30
    mx, scan = loaded.services
    assert mx.check is not None and mx.check.interval == 2 and mx.check.fail_after == 3
    assert mx.burst is not None and mx.burst.cooldown == 300
    assert mx.burst_hostnames == {"mx3.example.com"}
    assert scan.addresses == "dynamic" and scan.ttl == 60
    assert loaded.relative("update.key") == tmp_path / "update.key"


def test_defaults_fill_what_is_left_out(tmp_path: Path) -> None:
    loaded = config.load(write(tmp_path, 'owner = "a"\n'))
    assert loaded.safety.max_change_percent == 30
    assert loaded.safety.release_quarantine == 24 * 3600
    assert loaded.cost.ipv4_hourly == 0.005
    assert loaded.services == []


@pytest.mark.parametrize(
    ("mistake", "replacement", "line", "key", "words"),
    [
        ('owner = "mail-prod"', 'owner = "Mail Prod"', 1, "owner", "pattern"),
        ('owner = "mail-prod"', "", None, "owner", "required key is missing"),
        ("port = 5353", "port = 70000", 8, "dns.port", "65535"),
        ("max_ttl = 300", "max_ttl = 300\ncolour = 1", 11, "dns.colour", "unknown key"),
        (
            'drain_margin = "30s"',
            'drain_margin = "30 parsecs"',
            15,
            "safety.drain_margin",
            "not a duration",
        ),
        ('interval = "2s"', 'interval = "2x"', 30, "service[0].check.interval", "not a duration"),
        ('kind = "spamd"', 'kind = "ping"', 41, "service[1].check.kind", "tcp"),
        ('addresses = "dynamic"', 'addresses = "static"', 38, "service[1].addresses", "elastic"),
        (
            'hostnames = ["scan.example.com"]',
            'hostnames = ["scan.example.org"]',
            39,
            "service[1].hostnames",
            "outside zone",
        ),
        ('"scan"', '"mx"', 36, "service[1].name", "used twice"),
        ("scale_in_below = 50", "scale_in_below = 900", 33, "service[0].burst", "lower than"),
        ('provider = "rfc2136"', 'provider = "bind"', 5, "dns.provider", "route53"),
    ],
)
def test_each_mistake_names_file_line_and_key(
    tmp_path: Path, mistake: str, replacement: str, line: int | None, key: str, words: str
) -> None:
    assert mistake in FULL
    path = write(tmp_path, FULL.replace(mistake, replacement, 1))
    with pytest.raises(ConfigError) as caught:
        config.load(path)
    message = caught.value.message
    assert str(path) in message
    assert words in message
    if key:
        assert f": {key}" in message
    if line is not None:
        assert f"{path}:{line}:" in message


def test_every_problem_is_reported_not_just_the_first(tmp_path: Path) -> None:
    text = FULL.replace("port = 5353", "port = -1").replace("fail_after = 3", "fail_after = 0")
    with pytest.raises(config.ConfigErrors) as caught:
        config.load(write(tmp_path, text))
    keys = [problem.key for problem in caught.value.problems]
    assert keys == ["dns.port", "service[0].check.fail_after"]
    assert [problem.line for problem in caught.value.problems] == [8, 30]


def test_invalid_toml_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, 'owner = "a"\n[dns\nzone = 1\n')
    with pytest.raises(ConfigError, match=r"eipkeeper\.toml:2: not valid TOML"):
        config.load(path)


def test_a_missing_file_says_how_to_get_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="eipkeeper sandbox"):
        config.load(tmp_path / "nope.toml")


def test_a_missing_key_file_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, FULL, key=False)
    with pytest.raises(ConfigError) as caught:
        config.load(path)
    assert f"{path}:9: dns.tsig_key_file" in caught.value.message
    assert "tsig-keygen" in caught.value.message


def test_rfc2136_needs_a_server(tmp_path: Path) -> None:
    path = write(tmp_path, FULL.replace('server = "127.0.0.1"\n', ""))
    with pytest.raises(ConfigError, match="needs `server`"):
        config.load(path)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("2s", 2), ("500ms", 0.5), ("5m", 300), ("24h", 86400), ("7d", 604800), ("1h30m", 5400)],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "5", "s", "2 parsecs", "1h-30m"])
def test_bad_durations_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


def test_durations_read_back() -> None:
    assert format_duration(5400) == "1h30m"
    assert format_duration(0.25) == "250ms"


def problems_of(tmp_path: Path, text: str) -> list[str]:
    """Each problem's `key: message`, in the order reported."""
    with pytest.raises(config.ConfigErrors) as caught:
        config.load(write(tmp_path, text))
    return [f"{p.key}: {p.message.split(f'{p.key}: ', 1)[1]}" for p in caught.value.problems]


def test_a_wrong_required_value_is_one_problem_not_also_a_missing_key(tmp_path: Path) -> None:
    # To look past the first problem the validator takes the key out and tries again; a
    # required key taken out is not a second problem of the file.
    text = FULL.replace('owner = "mail-prod"', 'owner = "Mail Prod"').replace(
        'kind = "spamd"', 'kind = "ping"'
    )
    found = problems_of(tmp_path, text)
    assert found[0].startswith("owner: expected a string matching the pattern"), found
    assert not [p for p in found if "missing" in p], found


def test_problems_say_what_was_expected_and_what_was_found(tmp_path: Path) -> None:
    text = (
        FULL.replace("port = 5353", "port = 0")
        .replace("max_ttl = 300", 'max_ttl = "5m"')
        .replace('kind = "spamd"', 'kind = "ping"')
        .replace("ttl = 60", "ttl = 60\ncolour = 'red'")
    )
    assert problems_of(tmp_path, text) == [
        "dns.port: expected an integer >= 1, got 0",
        'dns.max_ttl: expected an integer, got "5m"',
        "service[1].colour: unknown key",  # in file order: its line is above the check's
        'service[1].check.kind: "ping" is not one of "http", "smtp", "spamd", "tcp"',
    ]


def test_a_table_rule_stops_the_list_rather_than_guess(tmp_path: Path) -> None:
    # Taking out a table whose own rule failed could make its neighbours fail for its absence
    # (replace_failed needs burst): what follows it is not reported.
    text = FULL.replace("scale_in_below = 50", "scale_in_below = 900").replace(
        "ttl = 60", "ttl = 0"
    )
    assert problems_of(tmp_path, text) == [
        "service[0].burst: scale_in_below must be lower than scale_out_above"
    ]


def test_the_config_cannot_set_where_it_was_read_from(tmp_path: Path) -> None:
    found = problems_of(tmp_path, 'source = "/etc/passwd"\n' + FULL)
    assert found == ["source: unknown key"]


def test_looking_past_a_problem_leaves_the_callers_input_alone() -> None:
    from eipkeeper.config_problems import validate

    raw = tomllib.loads('source = "x"\n' + FULL.replace("port = 5353", "port = 0"))
    before = json.dumps(raw, sort_keys=True)
    found, problems = validate(raw, config.Config, dec_hook=config._decode, not_keys=("source",))
    assert found is None and [p.loc for p in problems] == [("source",), ("dns", "port")]
    assert json.dumps(raw, sort_keys=True) == before


def test_a_byte_order_mark_is_not_part_of_the_config(tmp_path: Path) -> None:
    """Notepad writes one: it read as 'not valid TOML: Invalid statement' at line 1."""
    plain = write(tmp_path, FULL)
    marked = tmp_path / "bom.toml"
    marked.write_bytes(b"\xef\xbb\xbf" + plain.read_bytes())
    assert config.load(marked).owner == config.load(plain).owner


def test_a_key_file_with_a_byte_order_mark_loads(tmp_path: Path) -> None:
    from eipkeeper.dns.tsig import load_key

    key = tmp_path / "bom.key"
    key.write_bytes(b'\xef\xbb\xbfkey "k" { algorithm hmac-sha256; secret "c2VjcmV0c2VjcmV0"; };\n')
    key.chmod(0o600)
    assert load_key(key).name.rstrip(".") == "k"
