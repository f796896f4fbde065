"""Standard output whose reader may leave (`eipkeeper addresses | head -1`).

A closed pipe never changes what a command does or its exit code (SPEC section 4): once the
reader is gone, what is left to print goes nowhere, silently, and the command finishes its
work. Click alone would exit 1 at the first write (it turns EPIPE into `sys.exit(1)`), even
after `drain` had done everything it was asked.
"""

from __future__ import annotations

import os
from typing import Any, TextIO


class QuietWhenClosed:
    """Wraps a text stream; after a BrokenPipeError, writes go to /dev/null."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self.closed_by_reader = False

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            self._gone()
            return len(text)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            self._gone()

    def _gone(self) -> None:
        self.closed_by_reader = True
        try:
            # What the stream still buffers is flushed at exit: into /dev/null, not an error.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._stream.fileno())
            os.close(devnull)
        except (OSError, ValueError, AttributeError):
            pass  # not a real file (a test's StringIO): nothing is buffered at exit
        self._stream = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the process

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)
