"""Ctrl-C exits 130 after saying what was done and what not; a closed standard output never
changes the exit code of a command that did its work, and adds nothing (SPEC section 4).

Found by hand: Ctrl-C exited 1 with "aborted", also after `move`'s AssociateAddress had been
made; `eipkeeper drain mx-a --yes | true` exited 1 though the drain had finished, and so did
every command whose reader left.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from eipkeeper.cli.app import App
from eipkeeper.controller.executor import Executor
from tests.conftest import Cloud
from tests.support.cli import here


def _with_closed_stdout(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`eipkeeper ARGS | true`, the reader gone before the first line is written."""
    reader, writer = os.pipe()
    os.close(reader)
    try:
        return subprocess.run(
            [sys.executable, "-m", "eipkeeper", *args],
            env={**os.environ, **env},
            stdout=writer,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        os.close(writer)


def test_a_closed_pipe_changes_neither_the_exit_code_nor_the_work(cloud: Cloud) -> None:
    ec2 = cloud.client("ec2")
    before = len(ec2.describe_addresses()["Addresses"])
    for args in (("addresses",), ("-o", "json", "records"), ("allocate",)):
        done = _with_closed_stdout(*args, env=cloud.env)
        assert done.returncode == 0, (args, done.stderr)
        assert done.stderr == "", (args, done.stderr)
    assert len(ec2.describe_addresses()["Addresses"]) == before + 1, "allocate did its work"


def test_a_failure_keeps_its_exit_code_with_a_closed_pipe(cloud: Cloud) -> None:
    done = _with_closed_stdout("release", "127.0.0.99", "--yes", env=cloud.env)
    assert done.returncode == 1, done.stderr
    assert "no Elastic IP" in done.stderr


def test_ctrl_c_in_a_step_says_what_was_done_and_what_not(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    # The claims are made; Ctrl-C comes while the DNS changes are under way.
    monkeypatch.setattr(Executor, "_dns", interrupted)
    ec2 = cloud.client("ec2")
    held = {a["PublicIp"] for a in ec2.describe_addresses()["Addresses"] if a.get("InstanceId")}
    ran = here("apply", "--yes", env=cloud.env)
    code, stderr = ran.code, ran.stderr
    assert code == 130, stderr
    line = stderr.strip().splitlines()[-1]
    assert line.startswith("eipkeeper: interrupted. done: claim "), line
    assert "not done: create A mx1.example.test" in line, line
    assert "run the same command again to finish" in line
    done = line.split(". not done: ")[0]
    claimed = {a["PublicIp"] for a in ec2.describe_addresses()["Addresses"] if a.get("InstanceId")}
    claimed -= held
    assert len(claimed) >= 2, line
    assert all(ip in done for ip in claimed), (claimed, done)


def test_ctrl_c_outside_a_step_exits_130(cloud: Cloud, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(*args: object, **kwargs: object) -> App:
        raise KeyboardInterrupt

    monkeypatch.setattr(App, "from_options", interrupted)
    ran = here("addresses", env=cloud.env)
    assert ran.code == 130
    assert ran.stderr.strip().splitlines()[-1] == "eipkeeper: interrupted"
