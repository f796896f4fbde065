"""Run `eipkeeper` as a user does and keep what it said: the tests' one CLI runner.

`eipkeeper(...)` is the real command, a subprocess; `here(...)` is the same entry point in this
process (no interpreter start: for tables of cases and the model test's many steps); `start`
and `background` leave the command running, to be killed or stopped. All of them answer with
one `Ran`. In an environment mapping, None means "unset this variable".
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import botocore.loaders
import botocore.session

from eipkeeper.cli.main import run
from tests.support import waiting

Env = Mapping[str, str | None]


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

    @property
    def last_line(self) -> str:
        lines = self.stderr.strip().splitlines()
        return lines[-1] if lines else ""


def environment(env: Env, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """BASE (this process's environment by default) with ENV laid over it."""
    full = dict(os.environ if base is None else base)
    for name, value in env.items():
        if value is None:
            full.pop(name, None)
        else:
            full[name] = value
    return full


def without_aws_settings(env: Env) -> dict[str, str | None]:
    """ENV with every AWS_ variable of this process unset unless ENV sets it: the test alone
    decides the profile, region and endpoint."""
    return {**{name: None for name in os.environ if name.startswith("AWS_")}, **env}


def _argv(module: str, args: tuple[str, ...]) -> list[str]:
    return [sys.executable, "-m", module, *args]


def eipkeeper(
    *args: str,
    env: Env,
    stdin: str = "",
    module: str = "eipkeeper",
    cwd: Path | None = None,
    timeout: float = 120,
) -> Ran:
    """`eipkeeper ARGS` as a process of its own (MODULE: a wrapper run as `python -m`)."""
    done = subprocess.run(
        _argv(module, args),
        env=environment(env),
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return Ran(code=done.returncode, stdout=done.stdout, stderr=done.stderr)


_loaders: dict[str | None, botocore.loaders.Loader] = {}


def _shared_loader(search_path_string: str | None = None) -> botocore.loaders.Loader:
    """One botocore data loader for the process. Each command makes a new boto3 session, and
    each session would parse EC2's service model again (most of a second): a user's process
    pays that once, a test running many commands here would pay it at every one."""
    if search_path_string not in _loaders:
        _loaders[search_path_string] = botocore.loaders.create_loader(search_path_string)
    return _loaders[search_path_string]


@contextlib.contextmanager
def _environ(env: Env) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in env}
    for key, value in env.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


def here(*args: str, env: Env, stdin: str = "") -> Ran:
    """`eipkeeper ARGS` in this process, through the function behind the command (the same
    parsing and exit codes). What a command would leak into this process is put back: the
    environment, stdin/stdout/stderr, the signal handlers `run` installs for its controller."""
    botocore.session.create_loader = _shared_loader
    out, err = io.StringIO(), io.StringIO()
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    saved_stdin = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        with _environ(env), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = run(list(args))
            except SystemExit as done:
                code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    finally:
        sys.stdin = saved_stdin
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
    return Ran(code, out.getvalue(), err.getvalue())


def start(
    *args: str,
    env: Env,
    log: IO[bytes] | None = None,
    module: str = "eipkeeper",
    cwd: Path | None = None,
) -> subprocess.Popen[bytes]:
    """`eipkeeper ARGS` left running, its output to LOG (or nowhere), to be stopped or killed."""
    return subprocess.Popen(
        _argv(module, args),
        env=environment(env),
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=log if log is not None else subprocess.DEVNULL,
        stderr=subprocess.STDOUT if log is not None else subprocess.DEVNULL,
    )


@contextmanager
def background(
    *args: str, env: Env, log: Path, module: str = "eipkeeper", cwd: Path | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """`eipkeeper ARGS` running in the background (the controller), its output to LOG;
    SIGTERM at the end, as systemd would stop it."""
    with log.open("wb") as out:
        process = start(*args, env=env, log=out, module=module, cwd=cwd)
        try:
            yield process
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)


def kill_after(process: subprocess.Popen[bytes], seconds: float) -> int | None:
    """SIGKILL PROCESS after SECONDS unless it ended first; its exit code if it did."""
    try:
        return process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGKILL)
        process.wait()
        return None


def wait_for(what: str, probe: Callable[[], bool], *, within: float = 90.0) -> None:
    """Poll PROBE until it holds (the tests' one wait helper, with a deadline for a machine
    under load, not a timing assertion)."""
    waiting.eventually(probe, what=what, deadline=within, every=0.2)
