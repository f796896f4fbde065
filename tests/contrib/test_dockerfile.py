"""contrib/Dockerfile: no container engine runs here, so the image is not built. What can be
checked without one: hadolint passes, the final stage runs as a non-root user, its entry point
is eipkeeper's own console script and the `run` command, CMD's options are options of `run`,
and the build stage's `pip install .` works from exactly the files it copies."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import click

from eipkeeper.cli.main import cli, register_all

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "contrib" / "Dockerfile"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    found = []
    for raw in text.splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            found.append((word.upper(), rest.strip()))
    return found


def final_stage() -> list[tuple[str, str]]:
    steps = instructions()
    last_from = max(n for n, (word, _) in enumerate(steps) if word == "FROM")
    return steps[last_from:]


def test_hadolint_passes() -> None:
    hadolint = Path(sys.executable).parent / "hadolint"
    ran = subprocess.run(
        [str(hadolint), str(DOCKERFILE)], capture_output=True, text=True, timeout=60, check=False
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr


def test_the_image_runs_eipkeeper_run_as_a_user_that_is_not_root() -> None:
    stage = dict(final_stage())
    assert re.fullmatch(r"python:3\.\d+-slim", stage["FROM"])
    user = stage["USER"].split(":")[0]
    assert user not in ("root", "0")
    entrypoint = json.loads(stage["ENTRYPOINT"])  # exec form: signals reach eipkeeper itself
    assert entrypoint == ["eipkeeper", "run"]
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert entrypoint[0] in scripts
    register_all(cli)
    run = cli.commands[entrypoint[1]]
    options = {opt for param in run.params if isinstance(param, click.Option) for opt in param.opts}
    given = [arg for arg in json.loads(stage["CMD"]) if arg.startswith("--")]
    assert given and set(given) <= options, f"not options of run: {set(given) - options}"


def test_pip_install_works_from_the_files_the_build_stage_copies(tmp_path: Path) -> None:
    context = tmp_path / "context"
    for word, args in instructions():
        if word == "COPY" and not args.startswith("--from"):
            *sources, _ = args.split()
            for source in sources:
                path = ROOT / source
                target = context / source
                if path.is_dir():
                    shutil.copytree(path, target, ignore=shutil.ignore_patterns("__pycache__"))
                else:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy(path, target)
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), "."],
        cwd=context,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = tmp_path.glob("eipkeeper-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        entry_points = next(n for n in archive.namelist() if n.endswith("entry_points.txt"))
        assert "eipkeeper = eipkeeper.cli.main:main" in archive.read(entry_points).decode()
        assert "eipkeeper/controller/loop.py" in archive.namelist()
