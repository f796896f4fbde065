"""The sample fleet published by `apply` into a real BIND, as the drain tests start from it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from eipkeeper.sandbox.bind import LocalBind
from tests.conftest import Cloud, swap_dns
from tests.drain.support import Fleet
from tests.support.cli import eipkeeper


def _fleet(cloud: Cloud, tmp_path: Path, *, short: bool) -> Iterator[Fleet]:
    with LocalBind("example.test") as bind:
        text = swap_dns(cloud.config.read_text(), bind.config_toml())
        if short:
            text = re.sub(r"^ttl = \d+$", "ttl = 2", text, flags=re.MULTILINE)
            text += '\n[safety]\ndrain_margin = "1s"\n'
        fleet = Fleet(cloud=cloud.configured(text, tmp_path / "bind.toml"), bind=bind)
        applied = eipkeeper("apply", "--yes", env=fleet.env)
        assert applied.code == 0, applied.stderr
        yield fleet


@pytest.fixture
def fleet(cloud: Cloud, tmp_path: Path) -> Iterator[Fleet]:
    """TTLs of 2 s and a drain margin of 1 s."""
    yield from _fleet(cloud, tmp_path, short=True)


@pytest.fixture
def slow_fleet(cloud: Cloud, tmp_path: Path) -> Iterator[Fleet]:
    """The sandbox's own TTLs (60 s, 300 s) and the default margin (30 s): for a fake clock."""
    yield from _fleet(cloud, tmp_path, short=False)
