"""TSIG key files as tsig-keygen writes them; the secret never shows."""

from __future__ import annotations

import base64
import logging
import subprocess
from pathlib import Path

import pytest

from eipkeeper.dns.tsig import load_key, parse_key
from eipkeeper.errors import ConfigError
from eipkeeper.sandbox.bind import find_program

SECRET = "XP7ewhOPYRMazW6KXPW4UCV0YWpAlBjtqM9y4TuaFUc="


def write(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


def test_tsig_keygen_output_is_read(tmp_path: Path) -> None:
    made = subprocess.run(
        [find_program("tsig-keygen"), "-a", "hmac-sha256", "update-key"],
        capture_output=True,
        text=True,
        check=True,
    )
    key = load_key(write(tmp_path / "update.key", made.stdout))
    assert key.name == "update-key"
    assert key.algorithm == "hmac-sha256"
    assert len(key.secret) == 32
    assert key.source == str(tmp_path / "update.key")


def test_comments_other_keys_and_a_chosen_name(tmp_path: Path) -> None:
    text = f"""
    # a comment
    key "first" {{ algorithm hmac-sha512; secret "{SECRET}"; }};
    /* another */
    key second. {{
        algorithm hmac-sha256; // trailing
        secret "{SECRET}";
    }};
    """
    assert parse_key(text).name == "first"
    second = parse_key(text, name="second")
    assert (second.name, second.algorithm) == ("second", "hmac-sha256")


def test_a_secret_with_slashes_is_not_a_comment() -> None:
    secret = "ab//cd/+ef" + "A" * 34 + "="
    key = parse_key(f'key "k" {{ algorithm hmac-sha256; secret "{secret}"; }}; // note')
    assert key.secret == base64.b64decode(secret)


def test_the_algorithm_defaults_to_hmac_sha256() -> None:
    assert parse_key(f'key "k" {{ secret "{SECRET}"; }};').algorithm == "hmac-sha256"


def test_the_secret_is_not_in_the_repr() -> None:
    key = parse_key(f'key "k" {{ algorithm hmac-sha256; secret "{SECRET}"; }};')
    assert SECRET not in repr(key)
    assert "secret" not in repr(key)


def test_a_key_file_readable_by_others_is_warned_about_without_the_secret(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write(
        tmp_path / "open.key", f'key "k" {{ algorithm hmac-sha256; secret "{SECRET}"; }};', 0o644
    )
    with caplog.at_level(logging.WARNING, logger="eipkeeper"):
        load_key(path)
    events = [r for r in caplog.records if r.getMessage() == "dns.tsig.key_file_readable"]
    assert events
    assert SECRET not in caplog.text
    assert all(SECRET not in str(vars(r)) for r in caplog.records)


def test_a_private_key_file_is_not_warned_about(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write(tmp_path / "ok.key", f'key "k" {{ algorithm hmac-sha256; secret "{SECRET}"; }};')
    with caplog.at_level(logging.WARNING, logger="eipkeeper"):
        load_key(path)
    assert not caplog.records


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("nothing here", "no `key"),
        ('key "k" { algorithm hmac-sha256; };', "needs a `secret`"),
        ('key "k" { algorithm hmac-md5; secret "AAAA"; };', "hmac-md5 is not accepted"),
        ('key "k" { algorithm hmac-sha256; secret "not base64!"; };', "not valid base64"),
        ('key "k" { algorithm hmac-sha256; secret ""; };', "empty"),
    ],
)
def test_a_malformed_key_file_is_a_config_error_naming_the_file(
    tmp_path: Path, text: str, message: str
) -> None:
    path = write(tmp_path / "bad.key", text)
    with pytest.raises(ConfigError, match=message) as caught:
        load_key(path)
    assert str(path) in caught.value.message


def test_a_missing_key_file_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="tsig-keygen"):
        load_key(tmp_path / "absent.key")


def test_a_key_not_in_the_file_is_named(tmp_path: Path) -> None:
    path = write(tmp_path / "k.key", f'key "k" {{ algorithm hmac-sha256; secret "{SECRET}"; }};')
    with pytest.raises(ConfigError, match="no key named 'other'"):
        load_key(path, name="other")
