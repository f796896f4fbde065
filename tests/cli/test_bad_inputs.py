"""Every bad input ends in one line with the exit code of SPEC.md section 4, never a traceback
and never "internal error" (the table is in bad_inputs_data.py).

The cases run in this process through `eipkeeper.cli.main.run`, the function behind the
`eipkeeper` command (same parsing, same error mapping), so that the table stays fast; the
cases marked `subprocess` run the real command. One sandbox, one local BIND, one web server
that is not AWS and one busy port serve the whole table.
"""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from eipkeeper.sandbox import INSTANT, Sandbox
from eipkeeper.sandbox.bind import LocalBind, free_port
from tests.cli.bad_inputs_data import Case, all_cases
from tests.conftest import user_env
from tests.support.cli import eipkeeper, here, without_aws_settings

CASES = all_cases()


@dataclass(frozen=True)
class World:
    sandbox: Sandbox
    env: dict[str, str]
    config: str
    places: dict[str, str]


class _QuietWebServer(SimpleHTTPRequestHandler):
    """A plain web server (what `python3 -m http.server` runs), without its request log."""

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    home = tmp_path_factory.mktemp("bad-inputs")
    web = ThreadingHTTPServer(("127.0.0.1", 0), partial(_QuietWebServer, directory=str(home)))
    threading.Thread(target=web.serve_forever, daemon=True).start()
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    # Instant: bad inputs are refused before any cloud state matters; a lag would only slow
    # the table down.
    with (
        Sandbox(port=0, association_delay=0.1, **INSTANT) as sandbox,
        LocalBind("example.test") as bind,
    ):
        sample = home / "sample.toml"
        sandbox.write_config(sample)
        eip = sandbox.client("ec2").describe_addresses()["Addresses"][0]["PublicIp"]
        env = user_env(sandbox, sample, home)
        places = {
            "key": str(bind.key_file),
            "bind_port": str(bind.port),
            "closed": str(free_port()),
            "html": f"http://127.0.0.1:{web.server_address[1]}",
            "busy": str(busy.getsockname()[1]),
            "eip": str(eip),
            "sandbox": sandbox.endpoint,
            "sandbox_host": sandbox.endpoint.removeprefix("http://"),
        }
        try:
            yield World(sandbox=sandbox, env=env, config=str(sample), places=places)
        finally:
            busy.close()
            web.shutdown()
            web.server_close()


def fill(text: str, places: dict[str, str]) -> str:
    for name, value in places.items():
        text = text.replace("{" + name + "}", value)
    return text


def prepare(case: Case, world: World, tmp: Path) -> tuple[list[str], dict[str, str | None]]:
    places = {**world.places, "tmp": str(tmp)}
    for name, content in case.files.items():
        path = tmp / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(fill(content, places))
            if name.endswith(".key"):
                path.chmod(0o600)
    env: dict[str, str | None] = {**world.env, "EIPKEEPER_CONFIG": world.config}
    if case.config is not None:
        config = tmp / "c.toml"
        config.write_text(fill(case.config, places))
        env["EIPKEEPER_CONFIG"] = str(config)
    elif "c.toml" in case.files:
        env["EIPKEEPER_CONFIG"] = str(tmp / "c.toml")
    for name, value in case.env.items():
        env[name] = None if value is None else fill(value, places)
    return [fill(arg, places) for arg in case.args], env


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, world: World, tmp_path: Path) -> None:
    args, env = prepare(case, world, tmp_path)
    runner = eipkeeper if case.subprocess else here
    ran = runner(*args, env=without_aws_settings(env))
    code, stderr = ran.code, ran.stderr
    # `run` says first that it starts (SPEC section 4); the error is the first line of ours.
    lines = [line for line in stderr.splitlines() if " info run.started " not in line]
    first = lines[0] if lines else ""
    assert "Traceback" not in stderr, stderr
    assert "internal error" not in stderr, stderr
    assert re.search(case.first, first), f"first line {first!r} !~ {case.first!r}\n{stderr}"
    assert first.startswith("eipkeeper: "), stderr
    assert code == case.code, stderr


def test_the_table_is_large_and_its_ids_unique() -> None:
    assert len(CASES) >= 150
    assert len({c.id for c in CASES}) == len(CASES)
    assert sum(c.subprocess for c in CASES) >= 3
