"""How the demo tells its story: steps of real `eipkeeper` commands, each with its checks.

Every command runs as a user would run it, a subprocess of the `eipkeeper` program against the
sandbox, so the demo shows the very output and exit codes an operator sees. A step holds when
each of its checks held; the demo exits 0 only when every step held.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
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
        done = subprocess.run(
            argv,
            env={**os.environ, **self.env},
            capture_output=True,
            text=True,
            input=stdin,
            check=False,
        )
        if show:
            for line in done.stdout.rstrip("\n").splitlines():
                self.console.print(f"  {escape(line)}", soft_wrap=True)
            for line in done.stderr.rstrip("\n").splitlines():
                self.console.print(f"  [yellow]{escape(line)}", soft_wrap=True)
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
        self.console.rule()
        if self.failures:
            self.console.print(f"[red bold]{len(self.failures)} check(s) did not hold:")
            for failure in self.failures:
                self.console.print(f"  - {escape(failure)}")
            return 1
        self.console.print(f"[green bold]every step held ({self.step_number} steps)")
        return 0
