"""The shape of the package, enforced: `make lint` fails when

- a pure module imports I/O: boto3, botocore, socket, subprocess, psutil or dns.query,
  directly or through another eipkeeper module;
- a module imports from a layer above its own (cli -> controller -> dns/cloud/health/drain
  -> the model and the rest): the command line calls the engine, the engine the adapters;
- modules import each other in a cycle.

Imports inside functions count (they run, later); imports under `if TYPE_CHECKING:` do not,
since they never run; a module's import of its own package is no edge (Python initialises
the package first, always). Third-party libraries are leaves: what msgspec or dnspython import
inside themselves is their business, not an I/O path of ours.

    python tools/purecore.py [SRC]        # exit 1 and one line per problem found
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
    "eipkeeper.audit_mta_sts",
    "eipkeeper.audit_mail",
    "eipkeeper.spf",
    "eipkeeper.controller.spf_plan",
    "eipkeeper.reputation",
    "eipkeeper.controller.observation",
    "eipkeeper.controller.plan",
    "eipkeeper.controller.bursts",
    "eipkeeper.controller.estimate",
    "eipkeeper.controller.planner",
    "eipkeeper.controller.elastic_planner",
    "eipkeeper.controller.dns_planner",
    "eipkeeper.controller.intents",
    "eipkeeper.controller.intent_planner",
    "eipkeeper.controller.drain_planner",
    "eipkeeper.controller.replace_planner",
    "eipkeeper.controller.safety",
    "eipkeeper.dns.ownership",
    "eipkeeper.drain.phases",
    "eipkeeper.drain.routes",
)
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("cli", ("eipkeeper.cli", "eipkeeper.demo", "eipkeeper.__main__", "eipkeeper.sandbox")),
    (
        "controller",
        (
            "eipkeeper.controller",
            "eipkeeper.drain.runner",  # drives the engine for a drain from Python
            "eipkeeper.allocation",
            "eipkeeper.audit",  # judges an observation: audit, audit_mail, audit_reverse, ...
        ),
    ),
    (
        "adapters",
        (
            "eipkeeper.dns",
            "eipkeeper.cloud",
            "eipkeeper.health",
            "eipkeeper.drain",
            "eipkeeper.spf",
        ),
    ),
)
"""Top first; a module in none of them (model, config, errors, fleet, ...) is the bottom."""
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


def edges(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """Module -> the eipkeeper modules it imports, its own packages left out."""
    return {
        name: {i for i in imports if i in graph and i not in _parents(name)}
        for name, imports in graph.items()
    }


def layer(name: str) -> int:
    """NAME's rank in LAYERS (0 the top): the longest prefix that covers it decides, so a
    module named on its own (drain.runner) is in its own layer, not its package's."""
    length, rank = -1, len(LAYERS)
    for where, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            # `eipkeeper.audit` covers audit_mail and audit_reverse too.
            covers = name == prefix or name.startswith((prefix + ".", prefix + "_"))
            if covers and len(prefix) > length:
                length, rank = len(prefix), where
    return rank


def layer_name(name: str) -> str:
    rank = layer(name)
    return LAYERS[rank][0] if rank < len(LAYERS) else "model"


def upward(graph: dict[str, set[str]]) -> list[tuple[str, str]]:
    """Each import of a module from a layer above its own."""
    return [
        (name, imported)
        for name, imports in sorted(edges(graph).items())
        for imported in sorted(imports)
        if layer(imported) < layer(name)
    ]


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The modules that import each other in a ring, one list per ring (Tarjan's strongly
    connected components, iteratively: the graph is a few hundred modules deep)."""
    out = edges(graph)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []
    for root in sorted(out):
        if root in index:
            continue
        work = [(root, iter(sorted(out[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    work.append((child, iter(sorted(out[child]))))
                elif child in stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                ring = stack[stack.index(node) :]
                del stack[stack.index(node) :]
                if len(ring) > 1:
                    found.append(sorted(ring))
    return found


def main(argv: list[str]) -> int:
    src = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parent.parent / "src"
    graph = import_graph(src)
    paths = forbidden_paths(graph, PURE)
    for path in paths:
        print(f"pure core broken: {' -> '.join(path)}")
    ups = upward(graph)
    for name, imported in ups:
        print(
            f"layers broken: {name} ({layer_name(name)}) imports {imported} "
            f"({layer_name(imported)})"
        )
    rings = cycles(graph)
    for ring in rings:
        print(f"import cycle: {' <-> '.join(ring)}")
    if not (paths or ups or rings):
        print(
            f"pure core: {len(PURE)} modules import no I/O; layers hold; no import cycle "
            f"among {len(graph)} modules"
        )
    return 1 if paths or ups or rings else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
