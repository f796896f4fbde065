"""contrib/grafana/eipkeeper.json: every query parses as PromQL and names only metrics the
controller exports (the registry `run --metrics-port` serves), and every exported metric is
on the dashboard."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import promql_parser
import pytest

from eipkeeper.controller.metrics import Metrics

DASHBOARD = Path(__file__).resolve().parents[2] / "contrib" / "grafana" / "eipkeeper.json"
# The sample names Prometheus's text format gives each kind of metric family.
SUFFIXES = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "summary": ("", "_sum", "_count", "_created"),
}
# Grafana's own variables, as Grafana fills them in before sending a query.
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$__interval": "15s", "$__range": "6h"}


def exported() -> dict[str, str]:
    """Sample name -> its family, for every metric the controller's registry holds."""
    names = {}
    for family in Metrics().registry.collect():
        for suffix in SUFFIXES[family.type]:
            names[family.name + suffix] = family.name
    return names


def queries() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    found = [
        str(target["expr"]) for panel in dashboard["panels"] for target in panel.get("targets", [])
    ]
    found += [str(a["expr"]) for a in dashboard["annotations"]["list"] if "expr" in a]
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            call = re.fullmatch(r"label_values\((.+), *\w+\)", variable["query"]["query"])
            assert call, variable["query"]
            found.append(call[1])
    return found


def metric_names(expr: str) -> set[str]:
    for variable, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
    names: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            assert node.name, f"a selector without a metric name in {expr}"
            names.add(node.name)
        elif isinstance(node, promql_parser.MatrixSelector):
            walk(node.vector_selector)
        elif isinstance(node, promql_parser.BinaryExpr):
            walk(node.lhs)
            walk(node.rhs)
        elif isinstance(node, promql_parser.Call):
            for arg in node.args:
                walk(arg)
        elif isinstance(node, promql_parser.AggregateExpr):
            walk(node.expr)
            if node.param is not None:
                walk(node.param)
        elif hasattr(node, "expr"):  # ParenExpr, UnaryExpr, SubqueryExpr
            walk(node.expr)

    walk(promql_parser.parse(expr))
    return names


@pytest.mark.parametrize("expr", queries())
def test_every_query_names_metrics_the_controller_exports(expr: str) -> None:
    names = metric_names(expr)
    assert names, f"no metric in {expr}"
    unknown = names - set(exported())
    assert not unknown, f"{sorted(unknown)} are not exported (known: {sorted(exported())})"


def test_every_exported_metric_is_on_the_dashboard() -> None:
    shown = {exported()[n] for expr in queries() for n in metric_names(expr)}
    families = set(exported().values())
    assert families - shown == set(), "metrics the dashboard leaves out"


def test_a_misspelt_metric_is_caught() -> None:
    assert metric_names("rate(eipkeeper_round_total[5m])") - set(exported()) == {
        "eipkeeper_round_total"
    }
