"""examples/spamd.toml, and its TLS variant, stay valid configs with the spamd check."""

from __future__ import annotations

from pathlib import Path

from eipkeeper.config import parse

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "spamd.toml"


def test_the_spam_scanner_pool_example_is_valid() -> None:
    config = parse(EXAMPLE.read_text(), EXAMPLE)
    (scan,) = config.services
    assert scan.addresses == "dynamic" and scan.hostnames == ["scan.example.com"]
    assert scan.check is not None and scan.check.kind == "spamd" and not scan.check.tls


def test_its_commented_tls_check_is_valid_too() -> None:
    lines = EXAMPLE.read_text().splitlines()
    tls_line = next(line for line in lines if line.startswith("# check = ") and "tls" in line)
    plain = next(line for line in lines if line.startswith("check = "))
    text = EXAMPLE.read_text().replace(plain, tls_line.removeprefix("# "))
    config = parse(text, EXAMPLE)
    (scan,) = config.services
    assert scan.check is not None and scan.check.tls
    assert config.relative(scan.check.ca_file) == EXAMPLE.parent / "scan-ca.pem"
