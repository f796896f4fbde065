"""A sandbox whose blocklist lists every third allocation, reached as a user reaches it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from eipkeeper.sandbox import Sandbox
from tests.conftest import Cloud


@contextmanager
def listed_cloud(tmp_path: Path, *, listed: int = 3) -> Iterator[Cloud]:
    with Sandbox(port=0, association_delay=0.2, listed=listed) as sandbox:
        config = tmp_path / "eipkeeper.toml"
        sandbox.write_config(config)
        env = {
            **sandbox.environment(),
            "EIPKEEPER_CONFIG": str(config),
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": str(tmp_path / "no-aws-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-aws-credentials"),
        }
        yield Cloud(sandbox=sandbox, config=config, env=env)
