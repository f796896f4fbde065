"""The pure core and the package's shape are enforced (tools/purecore.py, run by `make lint`):
these tests show that the checker passes on the tree and fails on a planted I/O import, direct
or through another module, on an import cycle (one import inside a function is enough) and on
an import from a higher layer, while a TYPE_CHECKING import and a third party's own imports do
not count."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def _checker() -> ModuleType:
    spec = importlib.util.spec_from_file_location("purecore", ROOT / "tools" / "purecore.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["purecore"] = module
    spec.loader.exec_module(module)
    return module


def _package(tmp: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp


def test_the_tree_keeps_its_pure_core_pure() -> None:
    purecore = _checker()
    assert purecore.main(["purecore", str(ROOT / "src")]) == 0


def test_a_pure_module_that_reaches_boto3_through_another_module_is_caught(
    tmp_path: Path,
) -> None:
    purecore = _checker()
    src = _package(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/pure.py": "from pkg import helper\n",
            "pkg/helper.py": "def f():\n    import boto3\n",
        },
    )
    paths = purecore.forbidden_paths(purecore.import_graph(src), ("pkg.pure",))
    assert paths == [["pkg.pure", "pkg.helper", "boto3"]]


def test_a_package_init_counts_and_type_checking_imports_do_not(tmp_path: Path) -> None:
    purecore = _checker()
    src = _package(
        tmp_path,
        {
            "pkg/__init__.py": "import subprocess\n",
            "pkg/pure.py": "",
            "other/__init__.py": "",
            "other/typed.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
            "    import socket\n",
        },
    )
    graph = purecore.import_graph(src)
    assert purecore.forbidden_paths(graph, ("pkg.pure",)) == [["pkg", "subprocess"]]
    assert purecore.forbidden_paths(graph, ("other.typed",)) == []


def test_dns_query_is_forbidden_but_the_rest_of_dnspython_is_not(tmp_path: Path) -> None:
    purecore = _checker()
    src = _package(
        tmp_path,
        {"pkg/__init__.py": "", "pkg/a.py": "import dns.name\n", "pkg/b.py": "import dns.query\n"},
    )
    graph = purecore.import_graph(src)
    assert purecore.forbidden_paths(graph, ("pkg.a",)) == []
    assert purecore.forbidden_paths(graph, ("pkg.b",)) == [["pkg.b", "dns.query"]]


def test_a_cycle_through_an_import_inside_a_function_is_caught(tmp_path: Path) -> None:
    purecore = _checker()
    src = _package(
        tmp_path,
        {
            "pkg/__init__.py": "from pkg import a\n",  # its own package: never an edge
            "pkg/a.py": "from pkg.b import f\n",
            "pkg/b.py": "def f():\n    from pkg import a\n",
            "pkg/c.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import pkg.d\n",
            "pkg/d.py": "import pkg.c\n",
        },
    )
    assert purecore.cycles(purecore.import_graph(src)) == [["pkg.a", "pkg.b"]]


def test_an_import_from_a_higher_layer_is_caught(tmp_path: Path) -> None:
    purecore = _checker()
    src = _package(
        tmp_path,
        {
            "eipkeeper/__init__.py": "",
            "eipkeeper/model.py": "",
            "eipkeeper/cli/__init__.py": "",
            "eipkeeper/cli/render.py": "from eipkeeper.controller import engine\n",
            "eipkeeper/controller/__init__.py": "",
            "eipkeeper/controller/engine.py": "from eipkeeper import model\n",
            "eipkeeper/dns/__init__.py": "",
            "eipkeeper/dns/records.py": "def f():\n    from eipkeeper.cli import render\n",
            "eipkeeper/drain/__init__.py": "",
            "eipkeeper/drain/runner.py": "from eipkeeper.controller import engine\n",
        },
    )
    graph = purecore.import_graph(src)
    assert purecore.upward(graph) == [
        ("eipkeeper.dns.records", "eipkeeper.cli"),
        ("eipkeeper.dns.records", "eipkeeper.cli.render"),
    ]
    assert purecore.main(["purecore", str(src)]) == 1
