"""Run `eipkeeper` as a user does: a subprocess with an environment, its output and exit code."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support import waiting


@dataclass(frozen=True)
class Ran:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)

    @property
    def tsv(self) -> list[list[str]]:
        return [line.split("\t") for line in self.stdout.splitlines()]


def eipkeeper(*args: str, env: Mapping[str, str], stdin: str = "") -> Ran:
    done = subprocess.run(
        [sys.executable, "-m", "eipkeeper", *args],
        env={**os.environ, **env},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return Ran(code=done.returncode, stdout=done.stdout, stderr=done.stderr)


@contextmanager
def background(*args: str, env: Mapping[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`eipkeeper ARGS` running in the background (the controller), its output to LOG;
    SIGTERM at the end, as systemd would stop it."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "eipkeeper", *args],
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            yield process
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=30)


def wait_for(what: str, probe: Callable[[], bool], *, within: float = 90.0) -> None:
    """Poll PROBE until it holds (the tests' one wait helper, with a deadline for a machine
    under load, not a timing assertion)."""
    waiting.eventually(probe, what=what, deadline=within, every=0.2)
