"""Start-up bench (SPEC.md section 8): read-only commands and `--help` start in at most half
the time of the AWS CLI v1 (`aws --version`) on the same machine.

Runs `aws --version` and each eipkeeper command 10 times, interleaved (so a busy machine slows
both alike), and prints one JSON line per command with its median wall time, the AWS CLI's
median, the ratio and whether it is within the bar. The commands need no network:
`check-config --offline` and `iam-policy` read a sample config; `COMMAND --help` imports the
command's module, which holds its options and imports boto3, dnspython and rich only when the
command runs.

One more line, `floor`, is not a bar: Python with click and msgspec converting a one-field
struct, the least any command that reads the config (it is validated by msgspec) can take.

Run: .venv/bin/python bench/cli_start.py [--runs 10]. Exit 1 when a command misses the bar.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BAR = 0.5
CONFIG = """\
owner = "bench"
region = "us-east-1"

[dns]
provider = "route53"
zone = "example.test"

[[service]]
name = "mx"
select = { tags = { Role = "mx" } }
addresses = "elastic"
hostnames = ["mx1.example.test", "mx2.example.test"]
check = { kind = "smtp", port = 25 }
"""
COMMANDS = [
    ("--help",),
    ("--version",),
    ("check-config", "--offline"),
    ("iam-policy",),
    ("addresses", "--help"),
    ("move", "--help"),
    ("run", "--help"),
]
FLOOR = """\
import click
import msgspec
class Model(msgspec.Struct):
    x: int
msgspec.convert({"x": 1}, Model)
"""


def aws_cli() -> list[str]:
    """The AWS CLI's own executable: a pyenv shim would add a shell's start to its time."""
    found = shutil.which("aws")
    if found is None:
        raise SystemExit("the AWS CLI v1 is not installed (pip install awscli)")
    if "/shims/" in found and shutil.which("pyenv"):
        real = subprocess.run(
            ["pyenv", "which", "aws"], capture_output=True, text=True, check=False
        ).stdout.strip()
        if real:
            found = real
    return [found, "--version"]


def eipkeeper() -> list[str]:
    """The `eipkeeper` script installed beside this Python, as users run it."""
    script = Path(sys.executable).parent / "eipkeeper"
    return [str(script)] if script.exists() else [sys.executable, "-m", "eipkeeper"]


def once(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {done.stderr.decode().strip()}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--runs", type=int, default=10)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "eipkeeper.toml"
        config.write_text(CONFIG)
        env = {**os.environ, "EIPKEEPER_CONFIG": str(config), "AWS_DEFAULT_REGION": "us-east-1"}
        reference = aws_cli()
        ours = [[*eipkeeper(), *args] for args in COMMANDS]
        floor = [sys.executable, "-c", FLOOR]
        for argv in [reference, *ours, floor]:  # warm the file cache once, not counted
            once(argv, env)
        times: dict[int, list[float]] = {n: [] for n in range(len(ours) + 2)}
        for _ in range(runs):
            times[0].append(once(reference, env))
            for n, argv in enumerate(ours, start=1):
                times[n].append(once(argv, env))
            times[len(ours) + 1].append(once(floor, env))
    aws = statistics.median(times[0])
    print(
        json.dumps(
            {
                "bench": "cli_start",
                "command": "aws --version",
                "median_s": round(aws, 3),
                "runs": runs,
            }
        )
    )
    missed = 0
    for n, args in enumerate(COMMANDS, start=1):
        median = statistics.median(times[n])
        ratio = median / aws
        passed = ratio <= BAR
        missed += not passed
        line = {
            "bench": "cli_start",
            "command": "eipkeeper " + " ".join(args),
            "median_s": round(median, 3),
            "aws_median_s": round(aws, 3),
            "ratio": round(ratio, 3),
            "bar": BAR,
            "pass": passed,
            "runs": runs,
        }
        print(json.dumps(line), flush=True)
    floor_median = statistics.median(times[len(COMMANDS) + 1])
    line = {
        "bench": "cli_start",
        "command": "floor: python -c 'import click, msgspec; one struct converted'",
        "median_s": round(floor_median, 3),
        "aws_median_s": round(aws, 3),
        "ratio": round(floor_median / aws, 3),
        "runs": runs,
    }
    print(json.dumps(line), flush=True)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
