"""The mail keys of a service: `reputation`, `spf`, `mta_sts`, validated like the others."""

from __future__ import annotations

from pathlib import Path

import pytest

from eipkeeper.config import ConfigError, parse

BASE = """\
owner = "t"
[dns]
provider = "route53"
zone = "example.test"
[[service]]
name = "mx"
select = { tags = { Role = "mx" } }
addresses = "elastic"
hostnames = ["mx1.example.test"]
mx = { domain = "example.test" }
"""


def test_a_full_reputation_table_loads_with_its_defaults(tmp_path: Path) -> None:
    text = BASE + 'reputation = { dnsbl = ["zen.spamhaus.org"], resolver = "127.0.0.1:5353" }\n'
    text += 'spf = "example.test"\n'
    service = parse(text, tmp_path / "c.toml").services[0]
    assert service.reputation is not None
    assert (service.reputation.recheck, service.reputation.max_tries) == (3600.0, 5)
    assert service.reputation.fcrdns
    assert service.spf == "example.test"


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("reputation = { dnsbl = [] }", "service[0].reputation.dnsbl"),
        ('reputation = { dnsbl = ["z.test"], resolver = "a b" }', "is not HOST or HOST:PORT"),
        ('reputation = { dnsbl = ["z.test"], max_tries = 0 }', "max_tries"),
        ('spf = "example.org"', "outside zone example.test"),
        ('mta_sts = { policy = "missing.txt" }', "does not exist"),
    ],
)
def test_bad_mail_keys_name_the_line_and_key(tmp_path: Path, line: str, words: str) -> None:
    text = BASE + line + "\n"
    with pytest.raises(ConfigError) as caught:
        parse(text, tmp_path / "c.toml")
    assert words in str(caught.value)
    assert ":11:" in str(caught.value)


def test_fcrdns_lets_the_policy_read_reverse_dns(tmp_path: Path) -> None:
    from eipkeeper.cloud.iam import policy

    def actions(text: str) -> set[str]:
        statements = policy(parse(text, tmp_path / "c.toml"))["Statement"]
        return {
            a
            for s in statements
            for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
        }

    checked = BASE + 'reputation = { dnsbl = ["zen.spamhaus.org"] }\n'
    unchecked = BASE + 'reputation = { dnsbl = ["zen.spamhaus.org"], fcrdns = false }\n'
    assert "ec2:DescribeAddressesAttribute" in actions(checked)
    assert "ec2:DescribeAddressesAttribute" not in actions(unchecked)
