"""The sample fleet of SPEC.md section 7, and the config the sandbox writes for it."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

from mypy_boto3_cloudwatch import CloudWatchClient
from mypy_boto3_ec2 import EC2Client
from mypy_boto3_events import EventBridgeClient
from mypy_boto3_route53 import Route53Client

from eipkeeper import config
from eipkeeper.model import TAG_HOSTNAME, TAG_OWNER, TAG_SERVICE
from eipkeeper.sandbox import Sandbox


def _names(ec2: EC2Client, role: str) -> dict[str, str]:
    """Name -> state of the sample instances with Role=ROLE."""
    pages = ec2.describe_instances(Filters=[{"Name": "tag:Role", "Values": [role]}])
    out: dict[str, str] = {}
    for reservation in pages["Reservations"]:
        for item in reservation["Instances"]:
            tags = {t["Key"]: t["Value"] for t in item.get("Tags", [])}
            out[tags["Name"]] = item["State"]["Name"]
    return out


def test_mx_and_scan_instances_run(ec2: EC2Client) -> None:
    assert _names(ec2, "mx") == {"mx-a": "running", "mx-b": "running", "mx-c": "running"}
    assert _names(ec2, "scan") == {"scan-a": "running", "scan-b": "running"}


def test_the_mx_pool_is_allocated_tagged_and_unassociated(sandbox: Sandbox, ec2: EC2Client) -> None:
    pool = ec2.describe_addresses(Filters=[{"Name": f"tag:{TAG_SERVICE}", "Values": ["mx"]}])
    hostnames = set()
    for item in pool["Addresses"]:
        tags = {t["Key"]: t["Value"] for t in item.get("Tags", [])}
        assert tags[TAG_OWNER] == sandbox.owner
        hostnames.add(tags[TAG_HOSTNAME])
        assert not item.get("InstanceId")
        assert not item.get("AssociationId")
    assert hostnames == {"mx1.example.test", "mx2.example.test", "mx3.example.test"}


def test_the_burst_launch_template_exists(ec2: EC2Client) -> None:
    templates = ec2.describe_launch_templates(LaunchTemplateNames=["mx-burst"])
    assert [t["LaunchTemplateName"] for t in templates["LaunchTemplates"]] == ["mx-burst"]


def test_the_zone_holds_only_soa_and_ns(sandbox: Sandbox) -> None:
    route53: Route53Client = sandbox.client("route53")
    zones = route53.list_hosted_zones_by_name(DNSName="example.test.")["HostedZones"]
    zone = next(z for z in zones if z["Name"] == "example.test.")
    records = route53.list_resource_record_sets(HostedZoneId=zone["Id"])["ResourceRecordSets"]
    assert sorted(r["Type"] for r in records) == ["NS", "SOA"]


def test_the_queue_length_metric_is_low(sandbox: Sandbox) -> None:
    cloudwatch: CloudWatchClient = sandbox.client("cloudwatch")
    metrics = cloudwatch.list_metrics(Namespace="Mail", MetricName="QueueLength")["Metrics"]
    assert [m["Dimensions"] for m in metrics] == [[{"Name": "Service", "Value": "mx"}]]


def test_an_eventbridge_rule_feeds_the_events_queue(sandbox: Sandbox) -> None:
    events: EventBridgeClient = sandbox.client("events")
    rule = next(r for r in events.list_rules()["Rules"] if "EventPattern" in r)
    pattern = json.loads(rule["EventPattern"])
    assert pattern == {
        "source": ["aws.ec2"],
        "detail-type": ["EC2 Instance State-change Notification"],
    }
    targets = events.list_targets_by_rule(Rule=rule["Name"])["Targets"]
    queue_name = sandbox.events_queue_url.rsplit("/", 1)[1]
    assert [t["Arn"].rsplit(":", 1)[1] for t in targets] == [queue_name]


def test_the_written_config_loads_and_describes_the_fleet(sandbox: Sandbox, tmp_path: Path) -> None:
    path = tmp_path / "out" / "eipkeeper-sandbox.toml"
    sandbox.write_config(path)

    loaded = config.load(path)

    assert loaded.owner == sandbox.owner
    assert loaded.region == sandbox.region
    assert loaded.dns is not None
    assert (loaded.dns.provider, loaded.dns.zone) == ("route53", "example.test")
    mx = loaded.service("mx")
    assert mx.addresses == "elastic"
    assert mx.select.tags == {"Role": "mx"}
    assert list(mx.hostnames) == ["mx1.example.test", "mx2.example.test", "mx3.example.test"]
    assert mx.mx is not None and (mx.mx.domain, mx.mx.preference) == ("example.test", 10)
    assert mx.check is not None and (mx.check.kind, mx.check.port) == ("smtp", sandbox.smtp_port)
    assert mx.failover and mx.replace_failed
    assert mx.burst is not None and mx.burst.metric is not None
    assert (mx.burst.launch_template, mx.burst.max) == ("mx-burst", 1)
    assert mx.burst_hostnames == {"mx3.example.test"}
    assert (mx.burst.metric.namespace, mx.burst.metric.name) == ("Mail", "QueueLength")
    assert mx.burst.metric.dimensions == {"Service": "mx"}
    assert (mx.burst.scale_out_above, mx.burst.scale_in_below) == (500, 50)
    scan = loaded.service("scan")
    assert scan.addresses == "dynamic"
    assert list(scan.hostnames) == ["scan.example.test"]
    assert scan.ttl == 60
    assert scan.check is not None and (scan.check.kind, scan.check.port) == (
        "tcp",
        sandbox.smtp_port,
    )


def test_environment_and_export_lines_point_at_the_sandbox(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    path = tmp_path / "it's here.toml"
    sandbox.write_config(path)

    env = sandbox.environment()

    assert env["AWS_ENDPOINT_URL"] == sandbox.endpoint == f"http://127.0.0.1:{sandbox.port}"
    assert env["AWS_DEFAULT_REGION"] == "us-east-1"
    assert env["AWS_ACCESS_KEY_ID"] and env["AWS_SECRET_ACCESS_KEY"]
    assert env["EIPKEEPER_CONFIG"] == str(path.resolve())
    parsed = dict(shlex.split(line)[1].split("=", 1) for line in sandbox.export_lines())
    assert parsed == env
