"""Is the instance's mail queue empty? The drain asks before it stops or terminates (I/O)."""

from __future__ import annotations

import asyncio
import os
import subprocess
from dataclasses import dataclass

from eipkeeper.config import DrainReadyConfig
from eipkeeper.health.probes import probe_http

COMMAND_TIMEOUT = 30.0


@dataclass(frozen=True)
class QueueState:
    empty: bool
    detail: str


def queue_state(ready: DrainReadyConfig, *, instance_id: str, address: str) -> QueueState:
    """One look at the queue, as the service's `drain_ready` says to look."""
    if ready.kind == "http":
        if not address:
            return QueueState(False, "the instance has no address to ask")
        result = asyncio.run(probe_http(address, ready.port, timeout=5.0, path=ready.path))
        return QueueState(result.ok, result.detail)
    env = {**os.environ, "EIPKEEPER_INSTANCE_ID": instance_id, "EIPKEEPER_ADDRESS": address}
    try:
        done = subprocess.run(  # noqa: S602 - the operator's own command, from the config
            ready.command,
            shell=True,
            env=env,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return QueueState(False, f"the command did not finish within {COMMAND_TIMEOUT:g}s")
    said = (done.stdout.strip() or done.stderr.strip()).splitlines()
    return QueueState(done.returncode == 0, said[0] if said else f"exit {done.returncode}")
