"""`--log-format json` keeps stderr a stream of JSON objects, for whoever parses it: one-shot
commands said their steps and summaries as plain lines among the JSON records (`-v
--log-format json plan`), and `run`'s numbers were strings ("seconds": "0.12")."""

from __future__ import annotations

import json

from tests.conftest import Cloud
from tests.support.cli import eipkeeper


def _objects(stderr: str) -> list[dict[str, object]]:
    lines = [line for line in stderr.splitlines() if line]
    assert lines
    return [json.loads(line) for line in lines]  # each line is one JSON object


def test_every_stderr_line_is_json_for_one_shot_commands_and_run(cloud: Cloud) -> None:
    planned = eipkeeper("-v", "--log-format", "json", "plan", env=cloud.env)
    assert planned.code == 0, planned.stderr
    said = [o for o in _objects(planned.stderr) if o["event"] == "say"]
    assert said and "checksum" in str(said[-1]["text"])

    applied = eipkeeper("--log-format", "json", "run", "--once", env=cloud.env)
    assert applied.code == 0, applied.stderr
    rounds = [o for o in _objects(applied.stderr) if o["event"] == "round.changed"]
    assert rounds and isinstance(rounds[0]["seconds"], float | int)

    failed = eipkeeper("--log-format", "json", "release", "127.0.0.99", "--yes", env=cloud.env)
    assert failed.code == 1
    [error] = _objects(failed.stderr)
    assert error["level"] == "error" and "no Elastic IP" in str(error["text"])
