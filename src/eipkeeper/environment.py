"""The environment variables eipkeeper reads, in one light module.

The command line reads these before it knows which command runs, so they live apart from the
config's models (msgspec): `eipkeeper COMMAND --help` must not pay for them.
"""

from __future__ import annotations

import os
from pathlib import Path

CONFIG_ENV_VAR = "EIPKEEPER_CONFIG"
"""The config file when --config is not given."""
DEFAULT_CONFIG = "eipkeeper.toml"
"""The config file when neither --config nor $EIPKEEPER_CONFIG is given."""
SANDBOX_MAIL_ENV_VAR = "EIPKEEPER_SANDBOX_MAIL"
"""Where another process finds the sandbox's mailboxes (a JSON endpoint)."""


def default_config_path() -> Path:
    return Path(os.environ.get(CONFIG_ENV_VAR) or DEFAULT_CONFIG)


def config_from_environment() -> bool:
    return bool(os.environ.get(CONFIG_ENV_VAR))
