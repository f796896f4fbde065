"""`eipkeeper sandbox` in its own process, as a user runs it: exports, config, clean stop."""

from __future__ import annotations

import json
import os
import queue
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from eipkeeper import config
from eipkeeper.errors import OperationError
from eipkeeper.sandbox.bind import find_program, free_port

# The command is registered in the CLI by cli/commands.py; adding it again here keeps this
# test independent of that list.
RUN_CLI = """
import sys
import threading
from eipkeeper.cli import main as entry
from eipkeeper.cli.sandbox_cmds import COMMANDS
for command in COMMANDS:
    entry.cli.add_command(command)
sys.argv = ["eipkeeper", *sys.argv[1:]]
entry.main()
"""
STARTUP_DEADLINE = 60.0


def _spawn(tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_", "EIPKEEPER_"))
    }
    return subprocess.Popen(
        [sys.executable, "-c", RUN_CLI, "sandbox", *args],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _read_until(process: subprocess.Popen[str], marker: str) -> list[str]:
    """Stdout lines up to and including the first that contains MARKER."""
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:  # a thread: select() cannot see lines already in the pipe's buffer
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    seen: list[str] = []
    end = time.monotonic() + STARTUP_DEADLINE
    while time.monotonic() < end:
        try:
            line = lines.get(timeout=0.5)
        except queue.Empty:
            continue
        if line is None:
            break
        seen.append(line)
        if marker in line:
            return seen
    raise AssertionError(f"no {marker!r} in the output: {seen}")


def _exports(lines: list[str]) -> dict[str, str]:
    pairs = [shlex.split(line)[1] for line in lines if line.startswith("export ")]
    return dict(pair.split("=", 1) for pair in pairs)


@pytest.fixture
def stopper() -> Iterator[list[subprocess.Popen[str]]]:
    """Processes to kill if a test fails before it stops them itself."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_sandbox_prints_exports_writes_the_config_and_stops_on_sigterm(
    tmp_path: Path, stopper: list[subprocess.Popen[str]]
) -> None:
    out = tmp_path / "conf" / "sandbox.toml"
    args = ["--port", "0", "--empty", "--smtp-port", str(free_port()), "--config-out", str(out)]
    process = _spawn(tmp_path, *args)
    stopper.append(process)

    lines = _read_until(process, "events queue")

    env = _exports(lines)
    assert env["AWS_DEFAULT_REGION"] == "us-east-1"
    assert env["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")
    assert env["EIPKEEPER_CONFIG"] == str(out.resolve())
    assert config.load(Path(env["EIPKEEPER_CONFIG"])).owner == "sandbox"
    queue_url = lines[-1].split(": ", 1)[1]
    ec2 = boto3.client(
        "ec2",
        endpoint_url=env["AWS_ENDPOINT_URL"],
        region_name=env["AWS_DEFAULT_REGION"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )
    assert ec2.describe_instances()["Reservations"] == []  # --empty: no sample fleet
    assert queue_url.startswith(env["AWS_ENDPOINT_URL"])
    # Another process reads the mailboxes where the export line says.
    with urllib.request.urlopen(env["EIPKEEPER_SANDBOX_MAIL"], timeout=10) as reply:  # noqa: S310
        assert json.loads(reply.read()) == {"instances": {}, "stranger": []}

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=STARTUP_DEADLINE) == 0


def test_a_busy_port_fails_with_one_line(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-c", RUN_CLI, "sandbox", "--port", str(port), "--empty"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=STARTUP_DEADLINE,
            check=False,
        )
    assert done.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr
    assert "Traceback" not in done.stderr


def _have_bind() -> bool:
    try:
        find_program("named")
        find_program("tsig-keygen")
    except OperationError:
        return False
    return True


@pytest.mark.bind
@pytest.mark.skipif(not _have_bind(), reason="BIND is not installed")
@pytest.mark.parametrize(
    ("option", "name"),
    [(["--bind"], "BIND"), (["--dns", "knot"], "Knot DNS"), (["--dns", "pdns"], "PowerDNS")],
)
def test_with_bind_the_config_points_at_a_local_bind(
    tmp_path: Path, stopper: list[subprocess.Popen[str]], option: list[str], name: str
) -> None:
    out = tmp_path / "sandbox.toml"
    process = _spawn(
        tmp_path,
        "--port",
        "0",
        "--empty",
        *option,
        "--smtp-port",
        str(free_port()),
        "--config-out",
        str(out),
    )
    stopper.append(process)

    lines = _read_until(process, "events queue")

    loaded = config.load(out)
    assert loaded.dns is not None
    assert (loaded.dns.provider, loaded.dns.zone) == ("rfc2136", "example.test")
    (said,) = [line for line in lines if line.startswith(f"# {name} serves")]
    assert f"on {loaded.dns.server} port {loaded.dns.port}" in said
    assert said.endswith(f"TSIG key file {loaded.dns.tsig_key_file}")
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=STARTUP_DEADLINE) == 0


def test_by_default_unheld_addresses_drop_and_the_data_plane_logs_without_v(
    tmp_path: Path, stopper: list[subprocess.Popen[str]]
) -> None:
    out = tmp_path / "sandbox.toml"
    smtp_port = free_port()
    args = ["--port", "0", "--smtp-port", str(smtp_port), "--queue-port", str(free_port())]
    process = _spawn(tmp_path, *args, "--config-out", str(out))
    stopper.append(process)
    env = _exports(_read_until(process, "events queue"))

    ec2 = boto3.client(
        "ec2",
        endpoint_url=env["AWS_ENDPOINT_URL"],
        region_name=env["AWS_DEFAULT_REGION"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )
    unassociated = ec2.describe_addresses()["Addresses"][0]["PublicIp"]  # the sample pool's
    try:
        socket.create_connection((unassociated, smtp_port), timeout=1.5).close()
        outcome = "connected"
    except ConnectionRefusedError:
        outcome = "refused"
    except TimeoutError:
        outcome = "timeout"
    assert outcome == "timeout"

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=STARTUP_DEADLINE) == 0
    assert process.stderr is not None
    logged = process.stderr.read()
    # The sample fleet has booted: each of its five instances answers from the start.
    assert logged.count("sandbox.answering") == 5, logged
    assert "Traceback" not in logged
