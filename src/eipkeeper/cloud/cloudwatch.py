"""The load metric a burst scales on, read from CloudWatch (one call per service)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from eipkeeper.cloud.aws import AwsSession, aws_errors
from eipkeeper.config import MetricConfig


class CloudWatch:
    def __init__(self, session: AwsSession) -> None:
        self._client: Any = session.client("cloudwatch")

    def recent(self, metric: MetricConfig, *, now: float) -> float | None:
        """The metric's statistic over its last period (the newest datapoint within three
        periods, so a late-reporting source still counts); None when nothing was reported."""
        end = datetime.fromtimestamp(now, tz=UTC)
        with aws_errors(f"GetMetricStatistics {metric.namespace}/{metric.name}"):
            reply = self._client.get_metric_statistics(
                Namespace=metric.namespace,
                MetricName=metric.name,
                Dimensions=[{"Name": k, "Value": v} for k, v in sorted(metric.dimensions.items())],
                StartTime=end - timedelta(seconds=3 * metric.period),
                EndTime=end + timedelta(seconds=60),
                Period=max(1, int(metric.period)),
                Statistics=[metric.statistic],
            )
        points = sorted(reply.get("Datapoints", []), key=lambda p: p["Timestamp"])
        return float(points[-1][metric.statistic]) if points else None
