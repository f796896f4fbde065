"""The pure core, enforced: `make lint` fails when a pure module imports I/O.

A pure module may not import boto3, botocore, socket, subprocess, psutil or dns.query, neither
directly nor through another eipkeeper module (imports inside functions count; imports under
`if TYPE_CHECKING:` do not, since they never run). Third-party libraries are leaves: what
msgspec or dnspython import inside themselves is their business, not an I/O path of ours.

    python tools/purecore.py [SRC]        # exit 1 and one line per path found
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

PURE = (
    "eipkeeper.model",
    "eipkeeper.tagtime",
    "eipkeeper.fleet",
    "eipkeeper.audit",
    "eipkeeper.audit_reverse",
    "eipkeeper.audit_mail",
    "eipkeeper.audit_mta_sts",
    "eipkeeper.spf",
    "eipkeeper.controller.spf_plan",
    "eipkeeper.reputation",
    "eipkeeper.controller.observation",
    "eipkeeper.controller.plan",
    "eipkeeper.controller.planner",
    "eipkeeper.controller.intents",
    "eipkeeper.controller.intent_planner",
    "eipkeeper.controller.drain_planner",
    "eipkeeper.controller.replace_planner",
    "eipkeeper.controller.safety",
    "eipkeeper.dns.ownership",
    "eipkeeper.drain.phases",
    "eipkeeper.drain.routes",
)
FORBIDDEN = ("boto3", "botocore", "socket", "subprocess", "psutil", "dns.query")


def _module_name(src: Path, path: Path) -> str:
    parts = list(path.relative_to(src).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST, package: str) -> Iterator[str]:
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _type_checking(node):
            node.body = []  # never runs
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def import_graph(src: Path) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in sorted(src.rglob("*.py")):
        name = _module_name(src, path)
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        graph[name] = set(_imports(ast.parse(path.read_text()), package))
    return graph


def _parents(name: str) -> list[str]:
    """Importing a.b.c runs a/__init__ and a/b/__init__ first."""
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


def forbidden_paths(graph: dict[str, set[str]], pure: tuple[str, ...]) -> list[list[str]]:
    """For each pure module that reaches a forbidden module, one path that shows how."""
    found = []
    for start in pure:
        # Importing a module runs its packages' __init__ first.
        seen = set(_parents(start))
        queue: list[list[str]] = [[m] for m in _parents(start) if m in graph]
        while queue:
            path = queue.pop(0)
            imports = graph.get(path[-1], set())
            hit = next(
                (f for f in FORBIDDEN for i in imports if i == f or i.startswith(f + ".")), None
            )
            if hit is not None:
                found.append([*path, hit])
                break
            for imported in sorted(graph.get(path[-1], ())):
                for module in _parents(imported):
                    if module in graph and module not in seen:
                        seen.add(module)
                        queue.append([*path, module])
    return found


def main(argv: list[str]) -> int:
    src = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parent.parent / "src"
    paths = forbidden_paths(import_graph(src), PURE)
    for path in paths:
        print(f"pure core broken: {' -> '.join(path)}")
    if not paths:
        print(f"pure core: {len(PURE)} modules import no I/O")
    return 1 if paths else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
