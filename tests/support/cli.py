"""Run `eipkeeper` as a user does: a subprocess with an environment, its output and exit code."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


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
