"""`iam-policy` is derived from what the code calls: every operation the call counter sees
while the commands run against the sandbox is an action the printed policy allows, and every
action the policy allows was needed by one of them (least privilege, both ways)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from eipkeeper.cloud import iam
from tests.conftest import Cloud
from tests.iam.conditions import Ec2Requests, allows
from tests.iam.support import CountedCli, fast_config, holder_names, put_load, standby
from tests.support.cli import wait_for

LEASE_TABLE = "eipkeeper-lease"
# Authorized without an API call of their own: PassRole when a launch template names an
# instance profile (the sandbox's has none).
PERMISSION_ONLY = {"iam:PassRole"}
# Calls that IAM never refuses: the account ownership records name (S10) is read so.
NO_PERMISSION_NEEDED = {"sts:GetCallerIdentity"}
# Reads `iam-policy` makes with the credentials of whoever prints the policy (the templates'
# ARNs and instance profiles): eipkeeper's own role never makes them.
PRINTER_ONLY = {
    "ec2:DescribeLaunchTemplates",
    "ec2:DescribeLaunchTemplateVersions",
    "iam:GetInstanceProfile",
}
# What the flows below must have exercised, one feature each, so the check means something.
EXERCISED = {
    "ec2:AllocateAddress",
    "ec2:AssociateAddress",
    "ec2:DisassociateAddress",
    "ec2:ReleaseAddress",
    "ec2:CreateTags",
    "ec2:DeleteTags",
    "ec2:RunInstances",
    "ec2:StopInstances",
    "ec2:TerminateInstances",
    "cloudwatch:GetMetricStatistics",
    "route53:ChangeResourceRecordSets",
    "route53:GetChange",
    "sqs:ReceiveMessage",
    "sqs:DeleteMessageBatch",
    "dynamodb:PutItem",
    "dynamodb:DeleteItem",
}


def lease_holder(cloud: Cloud) -> str:
    item = cloud.client("dynamodb").get_item(TableName=LEASE_TABLE, Key={"name": {"S": "sandbox"}})
    return str(item.get("Item", {}).get("holder", {}).get("S", ""))


def ok(ran: object) -> None:
    code, stderr = getattr(ran, "code", None), getattr(ran, "stderr", "")
    assert code == 0, stderr


def address_commands(cli: CountedCli) -> None:
    allocated = cli("-o", "json", "allocate", "--tag", "Team=mail")
    ok(allocated)
    ip = str(allocated.json()["public_ip"])
    ok(cli("associate", ip, "mx-a", "--yes"))
    ok(cli("disassociate", ip, "--yes"))
    ok(cli("release", ip, "--yes"))


def reconcile_and_read(cli: CountedCli) -> None:
    ok(cli("apply", "--yes"))
    for command in ("addresses", "instances", "records", "plan"):
        ok(cli("-o", "json", command))
    assert cli("audit").code in (0, 3)


def apply_until(cli: CountedCli, what: str, done: Callable[[], bool]) -> None:
    """`apply` until DONE holds: on a busy machine a new instance may pass its check only by
    a later round (a bounded number of them, not a timing assertion)."""
    for _ in range(10):
        ok(cli("apply", "--yes"))
        if done():
            return
    raise AssertionError(f"ten applies and still not: {what}")


def burst(cli: CountedCli, cloud: Cloud) -> None:
    put_load(cloud, 2000)
    apply_until(
        cli, "mx3 claimed by a burst instance", lambda: "mx3.example.test" in holder_names(cloud)
    )
    assert holder_names(cloud)["mx3.example.test"] == "mx-burst"
    put_load(cloud, 10, ahead=25)
    apply_until(cli, "the burst retired", lambda: "mx3.example.test" not in holder_names(cloud))


def moves_and_drains(cli: CountedCli, cloud: Cloud) -> None:
    ok(cli("move", "mx1.example.test", "--to", standby(cloud), "--yes"))
    ok(cli("drain", "scan-a", "--then", "terminate", "--yes"))
    ok(cli("drain", holder_names(cloud)["mx2.example.test"], "--then", "stop", "--yes"))


def shrink_pool(cli: CountedCli, config: Path) -> None:
    """mx2 leaves the config: its records go and its EIP is marked while it leaves DNS."""
    text = config.read_text()
    config.write_text(text.replace('"mx2.example.test", ', ""))
    assert config.read_text() != text
    ok(cli("apply", "--yes", "--force"))


def controller(cli: CountedCli, cloud: Cloud) -> None:
    """`run` as one replica with the lease and the events queue; the fleet's launches and
    terminations above left state-change events in the queue."""
    cloud.client("dynamodb").create_table(
        TableName=LEASE_TABLE,
        AttributeDefinitions=[{"AttributeName": "name", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "name", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    queue = cloud.sandbox.events_queue_url
    args = ("run", "--interval", "1s", "--events-queue", queue, "--lease-table", LEASE_TABLE)
    with cli.background(*args, "--lease-ttl", "5s"):
        wait_for("the replica holds the lease", lambda: bool(lease_holder(cloud)))
        sqs = cloud.client("sqs")

        def drained() -> bool:
            attributes = sqs.get_queue_attributes(
                QueueUrl=queue, AttributeNames=["ApproximateNumberOfMessages"]
            )["Attributes"]
            return bool(attributes["ApproximateNumberOfMessages"] == "0")

        wait_for("the events read", drained)
    assert lease_holder(cloud) == "", "a clean stop gives the lease back (DeleteItem)"


# About twenty commands and a controller run, one after another: minutes on a busy machine.
@pytest.mark.timeout(1200)
def test_every_call_the_commands_make_is_allowed_and_needed(
    cloud: Cloud, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    requests = Ec2Requests(region=cloud.env["AWS_DEFAULT_REGION"])
    requests.install(monkeypatch)
    config = fast_config(cloud, tmp_path / "fast.toml")
    cli = CountedCli(env={**cloud.env, "EIPKEEPER_CONFIG": str(config)}, scratch=tmp_path)

    address_commands(cli)
    reconcile_and_read(cli)
    burst(cli, cloud)
    moves_and_drains(cli, cloud)
    shrink_pool(cli, config)
    controller(cli, cloud)

    printed = cli(
        "iam-policy", "--events-queue", cloud.sandbox.events_queue_url, "--lease-table", LEASE_TABLE
    )
    ok(printed)
    document = json.loads(printed.stdout)
    allowed = iam.allowed_actions(document)
    observed = {iam.iam_action(operation) for operation in cli.calls}
    observed -= NO_PERMISSION_NEEDED | PRINTER_ONLY
    missing = EXERCISED - set(cli.calls)
    assert not missing, f"the flows did not exercise {sorted(missing)}"
    assert observed - allowed == set(), "called but not allowed by iam-policy"
    assert allowed - observed - PERMISSION_ONLY == set(), "allowed but never called"

    # The resources and conditions admit each EC2 write as moto's server received it.
    checked = [(what, check) for what, checks in requests.checks() for check in checks]
    assert len(checked) > 20, "the EC2 writes were recorded"
    refused = [f"{c.action} on {c.arn}: {what}" for what, c in checked if not allows(document, c)]
    assert not refused, "refused by the policy's conditions:\n" + "\n".join(refused)
