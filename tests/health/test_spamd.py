"""The spamd check against a real SpamAssassin spamd: plain, TLS, and TLS with client
certificates (spamd --ssl-verify)."""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path

import pytest

from eipkeeper.config import CheckConfig
from eipkeeper.errors import ConfigError
from eipkeeper.health.probes import ProbeResult, probe, probe_spamd
from eipkeeper.health.tls import TlsContexts, client_context
from tests.health.conftest import Pki, Spamd

pytestmark = pytest.mark.spamd


def ping(port: int, tls: ssl.SSLContext | None = None) -> ProbeResult:
    return asyncio.run(probe_spamd("127.0.0.1", port, timeout=10.0, tls=tls))


def test_spamd_answers_ping_with_pong(spamd: Spamd) -> None:
    result = ping(spamd.port)
    assert result.ok, result
    assert result.detail == "SPAMD/1.5 0 PONG"


def test_tls_spamd_answers_over_tls_with_our_ca(spamd_tls: Spamd, pki: Pki) -> None:
    result = ping(spamd_tls.port, client_context(ca_file=pki.ca))
    assert result.ok, result
    assert result.answered_by == "spamd-test", "the certificate's name says who answered"


def test_tls_spamd_is_not_trusted_without_our_ca_nor_spoken_to_in_plain(spamd_tls: Spamd) -> None:
    untrusted = ping(spamd_tls.port, client_context())
    assert not untrusted.ok and "CERTIFICATE_VERIFY_FAILED" in untrusted.detail
    plain = ping(spamd_tls.port)
    assert not plain.ok


def test_spamd_with_ssl_verify_answers_only_our_client_certificate(
    spamd_client_certs: Spamd, pki: Pki
) -> None:
    port = spamd_client_certs.port
    without = ping(port, client_context(ca_file=pki.ca))
    # With TLS 1.3 the server judges the client certificate after the handshake, so the refusal
    # reaches us either as a TLS alert or as the connection reset: both are a failed probe.
    assert not without.ok, without
    assert without.detail.startswith("TLS: ") or "reset" in without.detail.lower(), without
    stranger = ping(
        port,
        client_context(ca_file=pki.ca, cert_file=pki.stranger_cert, key_file=pki.stranger_key),
    )
    assert not stranger.ok, stranger
    ours = ping(
        port, client_context(ca_file=pki.ca, cert_file=pki.client_cert, key_file=pki.client_key)
    )
    assert ours.ok, ours


def test_check_config_files_are_relative_to_the_config(spamd_client_certs: Spamd, pki: Pki) -> None:
    folder = pki.ca.parent
    check = CheckConfig(
        kind="spamd",
        port=spamd_client_certs.port,
        timeout=10.0,
        tls=True,
        ca_file="ca.pem",
        cert_file="client.pem",
        key_file="client.key",
    )
    contexts = TlsContexts(relative=lambda name: folder / name)
    context = contexts.for_check(check)
    assert context is not None and contexts.for_check(check) is context, "built once"
    assert asyncio.run(probe("127.0.0.1", check, tls=context)).ok


def test_a_missing_tls_file_is_a_config_error_naming_the_key(tmp_path: Path) -> None:
    check = CheckConfig(kind="spamd", port=783, tls=True, ca_file="nowhere.pem")
    with pytest.raises(ConfigError, match=r"check\.ca_file: .*nowhere\.pem does not exist"):
        TlsContexts(relative=lambda name: tmp_path / name).for_check(check)
    assert TlsContexts().for_check(CheckConfig(kind="spamd", port=783)) is None
