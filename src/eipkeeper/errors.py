"""The one exception family of eipkeeper.

Every error carries the message the user sees, and says what `run` does when a round meets it
(`handling`): `retry` (back off, the next round tries again), `error` (the same, counted as a
failure), `stop` (the controller stops: retrying will not help), `refused` (a safety rule:
nothing was applied) or `fenced` (another replica holds the lease). The exit code of SPEC.md
section 4 is the CLI's to give: cli/main.py holds the one table, by class.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar, Literal

Handling = Literal["retry", "error", "stop", "refused", "fenced"]


class EipkeeperError(Exception):
    """Base of every error eipkeeper reports to its user."""

    handling: ClassVar[Handling] = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class OperationError(EipkeeperError):
    """An operation failed (exit 1): an AWS or DNS call, an unknown object, a timeout."""


class NotFoundError(OperationError):
    """The address, instance, record or zone named does not exist."""


class TransientError(OperationError):
    """Throttling, a 5xx answer or a timeout: the same call may succeed later."""

    handling = "retry"


class PermissionDeniedError(OperationError):
    """The credentials may not make this call; retrying will not help."""

    handling = "stop"


class ConflictError(OperationError):
    """A compare-and-swap failed (S5): what was read changed before the write. Re-read, re-plan."""

    handling = "retry"


class ConfigError(EipkeeperError):
    """Usage or configuration error (exit 2), naming the file, line and key where known."""

    handling = "stop"

    def __init__(
        self, message: str, *, path: str | None = None, line: int | None = None, key: str = ""
    ) -> None:
        where = path or ""
        if path and line:
            where = f"{path}:{line}"
        prefix = f"{where}: " if where else ""
        keypart = f"{key}: " if key else ""
        super().__init__(f"{prefix}{keypart}{message}")
        self.path = path
        self.line = line
        self.key = key


class UsageError(ConfigError):
    """The command line asks for something that cannot be done as asked (exit 2)."""


class SafetyRefusal(EipkeeperError):
    """Refused by a safety rule of SPEC.md section 3 (exit 4), naming the rule and the objects."""

    handling = "refused"

    def __init__(self, rule: str, message: str, objects: Iterable[str] = ()) -> None:
        self.rule = rule
        self.objects = tuple(objects)
        listed = f" [{', '.join(self.objects)}]" if self.objects else ""
        super().__init__(f"refused by {rule}: {message}{listed}")


class Interrupted(EipkeeperError):
    """Ctrl-C (exit 130), saying which steps were done and which were not."""

    handling = "stop"

    def __init__(
        self,
        done: Iterable[str] = (),
        not_done: Iterable[str] = (),
        *,
        between: str = "",
        after_step: bool = False,
    ) -> None:
        """AFTER_STEP: the step under way was let finish (`run`), so none of NOT_DONE began."""
        self.done = tuple(done)
        self.not_done = tuple(not_done)
        if between:  # `run` between rounds: no step was under way
            super().__init__(f"interrupted between {between}; nothing in flight")
            return
        parts = ["interrupted"]
        if self.done:
            parts.append(f"done: {'; '.join(self.done)}")
        if self.not_done:
            why = (
                "not begun: the next round does them"
                if after_step
                else "the first may have been under way: run the same command again to finish"
            )
            parts.append(f"not done: {'; '.join(self.not_done)} ({why})")
        if not self.done and not self.not_done:
            parts.append("nothing was changed")
        super().__init__(". ".join(parts))


class ChangesPending(EipkeeperError):
    """Exit 3 with nothing more to say: `plan --detailed-exitcode` found work for apply, or
    `audit --fail-on` found what it was asked to fail on. Not a failure of eipkeeper's."""

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
