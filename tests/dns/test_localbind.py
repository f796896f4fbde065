"""LocalBind: the server the tests, the benchmark and `sandbox --bind` start."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from eipkeeper.config import parse
from eipkeeper.dns.factory import provider_from_config
from eipkeeper.errors import OperationError
from eipkeeper.sandbox import bind as bind_module
from eipkeeper.sandbox.bind import LocalBind

from .conftest import ZONE


def test_a_missing_named_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda *_, **__: None)
    with pytest.raises(OperationError, match="apt-get install bind9 bind9-utils"):
        bind_module.LocalBind(ZONE).start()


def test_its_config_snippet_gives_a_working_provider(bind: LocalBind, tmp_path: Path) -> None:
    text = f'owner = "mail-prod"\n{bind.config_toml()}'
    path = tmp_path / "eipkeeper.toml"
    path.write_text(text, encoding="utf-8")
    config = parse(text, path)
    assert config.dns is not None and config.dns.verify_servers == [bind.server]
    provider = provider_from_config(config)
    assert provider.read_zone().serial == bind.soa_serial() == 1


def test_it_stops_named_and_removes_its_folder() -> None:
    with LocalBind(ZONE, records=["www 60 IN A 127.0.0.8"]) as server:
        folder = server.dir
        assert server.running and folder.is_dir()
    assert not server.running
    assert not folder.exists()
