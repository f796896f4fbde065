"""The README's "Trying it without an AWS account" works as written, in a fresh shell.

The section has two shell blocks: the first starts the sandbox (run here in the background, as
a newcomer runs it in a first shell), the second is typed in another shell. The second runs
line by line in one bash with a bare environment (no venv on PATH, no AWS variables), and each
line must exit as its comment claims: `exit N` in the comment, else 0. A README edit that breaks
a line, or a command that stops behaving as the README says, fails this test.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from eipkeeper.sandbox.bind import free_port
from tests.support.waiting import eventually

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
SECTION = "## Trying it without an AWS account"
STARTUP_DEADLINE = 120.0
SCRIPT_TIMEOUT = 300.0
SANDBOX_VARIABLES = (
    "AWS_ENDPOINT_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_DEFAULT_REGION",
    "EIPKEEPER_CONFIG",
)


@dataclass(frozen=True)
class Line:
    """One command of a README block and the exit code its comment claims."""

    command: str
    expected_exit: int


def section_blocks(text: str) -> list[list[str]]:
    """The ```sh blocks of the try-it section, each as its non-empty lines."""
    start = text.index(SECTION)
    following = text.find("\n## ", start + len(SECTION))
    section = text[start : following if following != -1 else len(text)]
    blocks = re.findall(r"```sh\n(.*?)```", section, flags=re.DOTALL)
    return [[line for line in block.splitlines() if line.strip()] for block in blocks]


def _split(line: str) -> tuple[str, str]:
    parts = re.split(r"\s+#\s", line, maxsplit=1)
    return parts[0].strip(), parts[1] if len(parts) > 1 else ""


def readme_lines(block: list[str]) -> list[Line]:
    lines = []
    for raw in block:
        command, comment = _split(raw)
        if not command or command.startswith("#"):
            continue
        claimed = re.search(r"\bexit (\d+)\b", comment)
        lines.append(Line(command=command, expected_exit=int(claimed.group(1)) if claimed else 0))
    return lines


def fresh_environment(home: Path) -> dict[str, str]:
    """What a new login shell has: no venv on PATH, no AWS settings, an empty home."""
    return {
        "HOME": str(home),
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "TERM": "dumb",
    }


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    """A folder laid out like a fresh clone after `make`: the Makefile and the built venv.

    The venv is the one running these tests (a link, not a copy); pyproject.toml is a copy
    dated 1970, so make finds the venv up to date and builds nothing.
    """
    folder = tmp_path / "eipkeeper"
    folder.mkdir()
    for name in ("Makefile", "README.md"):
        (folder / name).symlink_to(ROOT / name)
    project = folder / "pyproject.toml"
    project.write_bytes((ROOT / "pyproject.toml").read_bytes())
    os.utime(project, (0, 0))
    (folder / ".venv").symlink_to(Path(sys.prefix))
    return folder


@pytest.fixture
def started_sandbox(clone: Path, tmp_path: Path) -> Iterator[Path]:
    """The first block, in the background, until it has written sandbox.env; then Ctrl-C."""
    [start_block, _] = section_blocks(README.read_text(encoding="utf-8"))
    [start] = readme_lines(start_block)
    home = tmp_path / "home"
    home.mkdir()
    # Only the ports differ from a newcomer's run: tests run side by side on this machine.
    env = {
        **fresh_environment(home),
        "SANDBOX_ARGS": f"--port 0 --smtp-port {free_port()} --association-delay 0.5",
    }
    log = tmp_path / "sandbox.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            ["bash", "-c", start.command],
            cwd=clone,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_for_environment(clone / "sandbox.env", process, log)
        yield clone
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C sends to the foreground group
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def _wait_for_environment(env_file: Path, process: subprocess.Popen[bytes], log: Path) -> None:
    """The sandbox prints its export lines once it serves; sandbox.env then holds them all."""

    def complete() -> bool:
        if process.poll() is not None:
            pytest.fail(f"the sandbox stopped (exit {process.returncode}):\n{log.read_text()}")
        text = env_file.read_text() if env_file.exists() else ""
        return all(f"export {name}=" in text for name in SANDBOX_VARIABLES)

    try:
        eventually(complete, what="a complete sandbox.env", deadline=STARTUP_DEADLINE, every=0.2)
    except AssertionError:
        pytest.fail(f"no complete sandbox.env within {STARTUP_DEADLINE:.0f}s:\n{log.read_text()}")


def transcript_script(lines: list[Line], exits: Path) -> str:
    """LINES as typed, each followed by a record of its exit code (pipefail: the pipe's
    eipkeeper, not `cut`, decides)."""
    out = ["set -o pipefail"]
    for number, line in enumerate(lines):
        out.append(f"echo {shlex.quote('$ ' + line.command)} >&2")
        out.append(line.command)
        out.append(f'echo "{number} $?" >> {shlex.quote(str(exits))}')
    return "\n".join(out) + "\n"


def test_the_readme_section_has_a_sandbox_block_and_a_block_of_claims() -> None:
    blocks = section_blocks(README.read_text(encoding="utf-8"))
    assert len(blocks) == 2, "the try-it section should hold two ```sh blocks: start, then try"
    [start] = readme_lines(blocks[0])
    assert start.command == "make sandbox"
    tried = readme_lines(blocks[1])
    assert tried[0].command.startswith(". ./sandbox.env")
    assert any(line.expected_exit == 4 for line in tried), "a refusal should be shown"
    assert not any("x.y" in line.command for line in tried), "no placeholders: typed as written"


def test_the_top_of_the_readme_names_make_demo_and_make_test() -> None:
    text = README.read_text(encoding="utf-8")
    first_block = re.search(r"```sh\n(.*?)```", text, flags=re.DOTALL)
    assert first_block is not None
    commands = [_split(line)[0] for line in first_block.group(1).splitlines()]
    assert commands == ["make demo", "make test"]


def test_the_readme_try_it_block_works_as_written_in_a_fresh_shell(
    started_sandbox: Path, tmp_path: Path
) -> None:
    [_, try_block] = section_blocks(README.read_text(encoding="utf-8"))
    lines = readme_lines(try_block)
    exits = tmp_path / "exits"
    home = tmp_path / "home"
    done = subprocess.run(
        ["bash", "-c", transcript_script(lines, exits)],
        cwd=started_sandbox,
        env=fresh_environment(home),
        capture_output=True,
        text=True,
        timeout=SCRIPT_TIMEOUT,
        check=False,
    )
    transcript = f"--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
    recorded = dict(line.split() for line in exits.read_text().splitlines())
    got = [(line.command, int(recorded.get(str(n), "-1"))) for n, line in enumerate(lines)]
    wanted = [(line.command, line.expected_exit) for line in lines]
    assert got == wanted, transcript
    assert "command not found" not in done.stderr, transcript
    assert "internal error" not in done.stderr, transcript
    assert "Traceback" not in done.stderr, transcript
    assert "for good" in done.stderr, "associate should warn about the dynamic IP\n" + transcript
