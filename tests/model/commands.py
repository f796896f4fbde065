"""Run eipkeeper's CLI as the model test's operator: in this process through the CLI's own
entry point (fast: no interpreter start per step), or as a subprocess that the test can
SIGKILL mid-way.

In-process runs go through `eipkeeper.cli.main.main` itself with `sys.argv` set, so the exit
code mapping is the one users get. What a command would leak into this process is put back:
the environment, stdout/stderr, the signal handlers `run` installs.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import botocore.loaders
import botocore.session

from eipkeeper.cli.main import main

_loaders: dict[str | None, botocore.loaders.Loader] = {}


def _shared_loader(search_path_string: str | None = None) -> botocore.loaders.Loader:
    """One botocore data loader for the process. Each command makes a new boto3 session, and
    each session would parse EC2's service model again (most of a second): a user's process
    pays that once, the model test would pay it at every step."""
    if search_path_string not in _loaders:
        _loaders[search_path_string] = botocore.loaders.create_loader(search_path_string)
    return _loaders[search_path_string]


botocore.session.create_loader = _shared_loader


@dataclass(frozen=True)
class Ran:
    argv: tuple[str, ...]
    code: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def last_line(self) -> str:
        lines = self.stderr.strip().splitlines()
        return lines[-1] if lines else ""


@contextlib.contextmanager
def _environment(env: Mapping[str, str]) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def run(*argv: str, env: Mapping[str, str]) -> Ran:
    """`eipkeeper ARGV` in this process; its exit code as the shell would see it."""
    out, err = io.StringIO(), io.StringIO()
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    saved_argv = sys.argv
    started = time.monotonic()
    code = 0
    sys.argv = ["eipkeeper", *argv]
    try:
        with (
            _environment(env),
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(err),
        ):
            try:
                main()
            except SystemExit as done:
                code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    finally:
        sys.argv = saved_argv
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
    return Ran(argv, code, out.getvalue(), err.getvalue(), time.monotonic() - started)


def start(*argv: str, env: Mapping[str, str]) -> subprocess.Popen[bytes]:
    """`eipkeeper ARGV` as a process of its own, to be killed."""
    return subprocess.Popen(
        [sys.executable, "-m", "eipkeeper", *argv],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def kill_after(process: subprocess.Popen[bytes], seconds: float) -> int | None:
    """SIGKILL PROCESS after SECONDS unless it ended first; its exit code if it did."""
    try:
        return process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGKILL)
        process.wait()
        return None
