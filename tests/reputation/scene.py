"""A sandbox whose blocklist lists every third allocation, reached as a user reaches it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from eipkeeper.sandbox import Sandbox
from tests.conftest import CLOUD_REALISM, Cloud, user_env


@contextmanager
def listed_cloud(tmp_path: Path, *, listed: int = 3) -> Iterator[Cloud]:
    # As the `cloud` fixture: AWS's buckets, no Describe lag (CLOUD_REALISM says why).
    with Sandbox(port=0, association_delay=0.2, listed=listed, **CLOUD_REALISM) as sandbox:
        config = tmp_path / "eipkeeper.toml"
        sandbox.write_config(config)
        yield Cloud(sandbox=sandbox, config=config, env=user_env(sandbox, config, tmp_path))
