"""`check-config`: the file, the TSIG key file, and (unless --offline) the zone as eipkeeper
reads it, against a real BIND and moto's Route 53; text or JSON."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from eipkeeper.sandbox.bind import LocalBind, free_port
from eipkeeper.sandbox.dnsservers import local_dns
from eipkeeper.sandbox.localdns import DNS_KINDS, DnsKind
from tests.conftest import Cloud
from tests.support.cli import Ran, here

OWNER_AND_SERVICE = """\
owner = "mail-prod"
region = "us-east-1"

[[service]]
name = "mx"
select = { tags = { Role = "mx" } }
addresses = "elastic"
hostnames = ["mx1.example.test"]
"""


def eipkeeper(*args: str, config: Path, env: Mapping[str, str] | None = None) -> Ran:
    return here(*args, env={**(env or {}), "EIPKEEPER_CONFIG": str(config)})


@pytest.fixture
def bind() -> Iterator[LocalBind]:
    with LocalBind("example.test", records=["mx1 300 IN A 127.0.0.10"]) as server:
        yield server


def bind_config(tmp_path: Path, server: LocalBind, *, port: int | None = None) -> Path:
    path = tmp_path / "eipkeeper.toml"
    dns = server.config_toml()
    if port is not None:
        dns = dns.replace(f"port = {server.port}", f"port = {port}")
    path.write_text(OWNER_AND_SERVICE + dns)
    return path


def test_a_bind_zone_readable_with_the_key_passes(
    bind: LocalBind,
    tmp_path: Path,
) -> None:
    ran = eipkeeper("check-config", config=bind_config(tmp_path, bind))
    assert ran.code == 0, ran.stderr
    assert ran.stdout.splitlines()[0].endswith(
        "ok: owner mail-prod; rfc2136 zone example.test; services: mx (elastic)"
    )
    assert f"ok: tsig key: {bind.key_file}: hmac-sha256 key eipkeeper-key, mode 0600" in ran.stdout
    assert "ok: zone: example.test: AXFR with the TSIG key" in ran.stdout
    assert "ok: update: example.test: an UPDATE that changes nothing was taken" in ran.stdout


def test_json_lists_every_check(
    bind: LocalBind,
    tmp_path: Path,
) -> None:
    config = bind_config(tmp_path, bind)
    ran = eipkeeper("-o", "json", "check-config", config=config)
    assert ran.code == 0, ran.stderr
    body = json.loads(ran.stdout)
    assert body["ok"] is True and body["config"] == str(config)
    assert [(c["name"], c["level"]) for c in body["checks"]] == [
        ("config", "ok"),
        ("tsig key", "ok"),
        ("zone", "ok"),
        ("update", "ok"),
    ]


def test_json_lists_each_problem_of_a_config_that_does_not_load(tmp_path: Path) -> None:
    config = tmp_path / "eipkeeper.toml"
    config.write_text(OWNER_AND_SERVICE.replace("us-east-1", "5").replace('"5"', "5") + "ttl = 0\n")
    ran = eipkeeper("-o", "json", "check-config", config=config)
    assert ran.code == 2
    body = json.loads(ran.stdout)
    assert body["ok"] is False and body["config"] == str(config)
    assert [(c["name"], c["level"], c["detail"]) for c in body["checks"]] == [
        ("config", "error", f"{config}:2: region: expected a string, got 5"),
        ("config", "error", f"{config}:9: service[0].ttl: expected an integer >= 1, got 0"),
    ]
    assert f"{config}:2: region" in ran.stderr.splitlines()[0]


def test_a_world_readable_key_is_an_error(
    bind: LocalBind,
    tmp_path: Path,
) -> None:
    bind.key_file.chmod(0o644)
    ran = eipkeeper("check-config", config=bind_config(tmp_path, bind))
    assert ran.code == 2
    first = ran.stderr.splitlines()[0]
    assert "error: tsig key:" in first and "anyone on this machine can read the secret" in first
    assert f"chmod 600 {bind.key_file}" in first


def test_a_group_readable_key_is_a_warning(
    bind: LocalBind,
    tmp_path: Path,
) -> None:
    bind.key_file.chmod(0o640)
    ran = eipkeeper(
        "-o",
        "json",
        "check-config",
        config=bind_config(tmp_path, bind),
    )
    assert ran.code == 0, ran.stderr
    levels = {c["name"]: c["level"] for c in json.loads(ran.stdout)["checks"]}
    assert levels == {"config": "ok", "tsig key": "warning", "zone": "ok", "update": "ok"}


def test_offline_skips_the_server(
    bind: LocalBind,
    tmp_path: Path,
) -> None:
    config = bind_config(tmp_path, bind, port=free_port())  # nobody answers there
    ran = eipkeeper("check-config", "--offline", config=config)
    assert ran.code == 0, ran.stderr
    assert "ok: zone:" not in ran.stdout
    ran = eipkeeper("check-config", config=config)
    assert ran.code == 2
    assert "error: zone: example.test: AXFR with the TSIG key:" in ran.stderr.splitlines()[0]


def test_a_server_that_refuses_the_transfer_fails(tmp_path: Path) -> None:
    with LocalBind("example.test", allow_transfer=False) as server:
        ran = eipkeeper("check-config", config=bind_config(tmp_path, server))
    assert ran.code == 2
    assert "refused the zone transfer (AXFR)" in ran.stderr.splitlines()[0]


@pytest.mark.parametrize("kind", DNS_KINDS)
def test_a_key_that_may_read_but_not_update_fails(tmp_path: Path, kind: DnsKind) -> None:
    # It said ok, and the first `apply` failed: a Knot acl without `update`, BIND without an
    # update-policy grant, PowerDNS with the right given to another key.
    with local_dns(kind, allow_update=False) as server:
        path = tmp_path / "eipkeeper.toml"
        path.write_text(OWNER_AND_SERVICE + server.config_toml())
        ran = eipkeeper("check-config", config=path)
        assert server.soa_serial() == 1  # the probe changed nothing
    assert ran.code == 2
    assert "error: update: example.test:" in ran.stderr.splitlines()[0]
    assert "may not update it" in ran.stderr or "does not let it update" in ran.stderr


def test_a_wrong_secret_fails(
    bind: LocalBind,
    tmp_path: Path,
) -> None:
    text = bind.key_file.read_text()
    secret = text.split('secret "', 1)[1].split('"', 1)[0]
    bind.key_file.write_text(text.replace(secret, "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"))
    ran = eipkeeper("check-config", config=bind_config(tmp_path, bind))
    assert ran.code == 2
    assert "BADSIG" in ran.stderr.splitlines()[0]


def test_route53_zone_found_and_missing(
    cloud: Cloud,
    tmp_path: Path,
) -> None:
    ran = eipkeeper("check-config", config=cloud.config, env=cloud.env)
    assert ran.code == 0, ran.stderr
    assert "ok: zone: example.test (hosted zone " in ran.stdout and "Route 53 listing" in ran.stdout
    wrong = tmp_path / "wrong.toml"
    wrong.write_text(
        cloud.config.read_text().replace(
            'zone = "example.test"', 'zone = "example.test"\nhosted_zone_id = "ZNOPE"'
        )
    )
    ran = eipkeeper("-o", "json", "check-config", config=wrong, env=cloud.env)
    assert ran.code == 2
    body = json.loads(ran.stdout)
    assert body["ok"] is False
    zone = next(c for c in body["checks"] if c["name"] == "zone")
    assert zone["level"] == "error" and "no Route 53 hosted zone ZNOPE" in zone["detail"]
