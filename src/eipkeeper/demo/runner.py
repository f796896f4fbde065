"""How the demo tells its story: steps of real `eipkeeper` commands, each with its checks.

Every command runs as a user would run it, a subprocess of the `eipkeeper` program against the
sandbox, so the demo shows the very output and exit codes an operator sees. A step holds when
each of its checks held; the demo exits 0 only when every step held.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape


@dataclass(frozen=True)
class Result:
    argv: tuple[str, ...]
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


@dataclass
class Story:
    """Runs commands against one environment and keeps the score."""

    env: Mapping[str, str]
    console: Console = field(
        default_factory=lambda: Console(highlight=False, width=None if sys.stdout.isatty() else 120)
    )
    failures: list[str] = field(default_factory=list)
    step_number: int = 0
    background: list[tuple[subprocess.Popen[bytes], Path]] = field(default_factory=list)

    def start(self, *args: str, log: Path) -> subprocess.Popen[bytes]:
        """`eipkeeper ARGS` in the background (the controller), its output to LOG."""
        self.console.print(f"[cyan]$ eipkeeper {escape(shlex.join(args))} &")
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "eipkeeper", *args],
                env={**os.environ, **self.env},
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.background.append((process, log))
        return process

    def stop_background(self) -> None:
        for process, _ in self.background:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
        self.background.clear()

    def wait_until(
        self, probe: Callable[[], bool], *, within: float, every: float = 0.1
    ) -> float | None:
        """Seconds until PROBE held, or None when WITHIN seconds passed first."""
        started = time.monotonic()
        while time.monotonic() - started < within:
            with contextlib.suppress(Exception):  # a probe that cannot tell yet has not held
                if probe():
                    return time.monotonic() - started
            time.sleep(every)
        return None

    def step(self, title: str) -> None:
        self.step_number += 1
        self.console.rule(f"[bold]{self.step_number}. {escape(title)}", align="left")

    def say(self, text: str) -> None:
        self.console.print(f"   {escape(text)}")

    def run(self, *args: str, show: bool = True, stdin: str | None = None) -> Result:
        shown = "eipkeeper " + shlex.join(args)
        # Shown as typed at a terminal, where `table` is the default; run the same way.
        chosen = any(a in ("-o", "--output") or a.startswith("--output=") for a in args)
        argv = (sys.executable, "-m", "eipkeeper", *(() if chosen else ("-o", "table")), *args)
        if show:
            self.console.print(f"[cyan]$ {escape(shown)}")

        def echo(stream: str, line: str) -> None:
            if show:
                style = "[yellow]" if stream == "stderr" else ""
                self.console.print(f"  {style}{escape(line)}", soft_wrap=True)

        done = run_interleaved(argv, env={**os.environ, **self.env}, stdin=stdin, on_line=echo)
        if show:
            self.console.print(f"  [dim](exit {done.returncode})")
        return Result(
            argv=tuple(args), code=done.returncode, stdout=done.stdout, stderr=done.stderr
        )

    def check(self, what: str, held: bool, detail: str = "") -> bool:
        mark = "[green]✓ checked" if held else "[red]✗ FAILED"
        extra = f" ({escape(detail)})" if detail and not held else ""
        self.console.print(f"   {mark}[/]: {escape(what)}{extra}")
        if not held:
            self.failures.append(f"step {self.step_number}: {what}")
        return held

    def check_call(self, what: str, probe: Callable[[], bool]) -> bool:
        """A check whose probe may itself fail: a crash counts as a check that did not hold."""
        try:
            held = probe()
        except Exception as exc:  # the demo reports a crash, it does not crash
            return self.check(what, False, f"{type(exc).__name__}: {exc}")
        return self.check(what, held)

    def finish(self) -> int:
        self.stop_background()
        self.console.rule()
        if self.failures:
            self.console.print(f"[red bold]{len(self.failures)} check(s) did not hold:")
            for failure in self.failures:
                self.console.print(f"  - {escape(failure)}")
            return 1
        self.console.print(f"[green bold]every step held ({self.step_number} steps)")
        return 0


def run_interleaved(
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    stdin: str | None,
    on_line: Callable[[str, str], None],
) -> subprocess.CompletedProcess[str]:
    """Run ARGV with stdout and stderr kept apart (the checks read each) but handed to ON_LINE
    (stream name, line) in the order the command wrote them: a warning before the result it
    preceded. The child writes unbuffered, and both pipes are read as they fill. STDIN None
    leaves the demo's own stdin to the command, as before."""
    process = subprocess.Popen(
        list(argv),
        env={**env, "PYTHONUNBUFFERED": "1"},
        stdin=subprocess.PIPE if stdin is not None else None,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    if stdin is not None and process.stdin is not None:
        with contextlib.suppress(BrokenPipeError):  # a command may exit before reading it
            process.stdin.write(stdin.encode())
        with contextlib.suppress(BrokenPipeError):
            process.stdin.close()
    assert process.stdout is not None and process.stderr is not None
    names = {process.stdout.fileno(): "stdout", process.stderr.fileno(): "stderr"}
    whole = {"stdout": bytearray(), "stderr": bytearray()}
    pending = {"stdout": bytearray(), "stderr": bytearray()}
    with selectors.DefaultSelector() as selector:
        for fd in names:
            selector.register(fd, selectors.EVENT_READ)
        while selector.get_map():
            for key, _ in selector.select():
                fd = int(key.fd)
                chunk = os.read(fd, 65536)
                if not chunk:
                    selector.unregister(fd)
                    continue
                name = names[fd]
                whole[name] += chunk
                pending[name] += chunk
                *complete, rest = pending[name].split(b"\n")
                pending[name] = bytearray(rest)
                for line in complete:
                    on_line(name, line.decode("utf-8", errors="replace"))
    for name, rest in pending.items():
        if rest:
            on_line(name, rest.decode("utf-8", errors="replace"))
    code = process.wait()
    process.stdout.close()
    process.stderr.close()
    return subprocess.CompletedProcess(
        list(argv),
        code,
        stdout=whole["stdout"].decode("utf-8", errors="replace"),
        stderr=whole["stderr"].decode("utf-8", errors="replace"),
    )
