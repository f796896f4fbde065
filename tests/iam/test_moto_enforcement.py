"""The printed policies under moto's IAM enforcement (moto's `/moto-api/reset-auth`, the server
form of INITIAL_NO_AUTH_ACTION_COUNT): eipkeeper runs as a role that has `iam-policy` and
nothing else, and an operator's role under the `--guard` deny cannot take this owner's EIPs.

What moto checks: the request is signed by a known principal and its action
(`service:Operation`) is allowed and not denied by the principal's own policies. What it does
not check (moto/iam/access_control.py says so): resources (EC2, DynamoDB, CloudWatch and
Route 53 requests are authorized against "*"), conditions (owner and selector tags,
aws:PrincipalArn), SCPs and permissions boundaries. So the policies are handed to moto in its
dialect (`moto_dialect`): every Resource "*", and the action names moto uses where they differ
from IAM's. The allow policy's conditions and ARNs are checked against every EC2 write the
commands make in tests/iam/test_policy_covers_calls.py, and pinned statement by statement in
tests/iam/test_policy_shape.py; the guard's exemption of eipkeeper's role (aws:PrincipalArn)
is pinned there only. Under enforcement moto 5.2 also rejects eipkeeper's first Route 53
request (ListHostedZonesByName: SignatureDoesNotMatch, its signature of the REST request
differs from botocore's), so the zone is served by a real BIND here; the Route 53 statements
are covered by the call counter test.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import botocore.exceptions
import pytest

from eipkeeper import config as config_module
from eipkeeper.cloud import iam
from eipkeeper.sandbox.bind import LocalBind
from tests.conftest import Cloud, aws_client, swap_dns
from tests.iam.support import standby
from tests.support.cli import Ran, background, eipkeeper, wait_for

ACCOUNT = "123456789012"  # moto's default account
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
            "Action": "sts:AssumeRole",
        }
    ],
}
EVERYTHING = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}
LEASE_TABLE = "eipkeeper-lease"
# moto names an action by the request's signing name and API operation: CloudWatch signs as
# "monitoring", and SQS's batch calls are not folded into their single-message action.
_MOTO_SERVICE = {"cloudwatch": "monitoring"}


def moto_dialect(document: dict[str, Any]) -> dict[str, Any]:
    """DOCUMENT as moto can evaluate it: Resource "*" everywhere, moto's action names."""
    batch = {single: operation for operation, single in _batch_actions().items()}
    statements = []
    for statement in document["Statement"]:
        actions = statement["Action"]
        actions = [actions] if isinstance(actions, str) else actions
        named = set()
        for action in actions:
            service, _, operation = action.partition(":")
            named.add(f"{_MOTO_SERVICE.get(service, service)}:{operation}")
            if action in batch:
                named.add(batch[action])
        rest = {
            k: v for k, v in statement.items() if k not in ("Action", "Resource", "NotResource")
        }
        statements.append({**rest, "Action": sorted(named), "Resource": "*"})
    return {**document, "Statement": statements}


def _batch_actions() -> dict[str, str]:
    return {
        op: iam.iam_action(op)
        for op in ("sqs:DeleteMessageBatch", "sqs:SendMessageBatch")
        if iam.iam_action(op) != op
    }


@dataclass(frozen=True)
class Principal:
    arn: str
    env: dict[str, str]

    def client(self, cloud: Cloud, service: str) -> Any:
        """A client of this principal's (its keys and session token) on CLOUD's endpoint."""
        where = {k: cloud.env[k] for k in ("AWS_ENDPOINT_URL", "AWS_DEFAULT_REGION")}
        return aws_client({**self.env, **where}, service)


def role(
    cloud: Cloud, name: str, *policies: dict[str, Any], env: dict[str, str] | None = None
) -> Principal:
    """A role with POLICIES inline, assumed: ENV (default the sandbox's) with its credentials,
    as eipkeeper would run with them."""
    iam_client = cloud.client("iam")
    arn = iam_client.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST))["Role"][
        "Arn"
    ]
    for n, document in enumerate(policies):
        iam_client.put_role_policy(
            RoleName=name, PolicyName=f"{name}-{n}", PolicyDocument=json.dumps(document)
        )
    credentials = cloud.client("sts").assume_role(RoleArn=arn, RoleSessionName=name)["Credentials"]
    env = {
        **(env or cloud.env),
        "AWS_ACCESS_KEY_ID": credentials["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": credentials["SecretAccessKey"],
        "AWS_SESSION_TOKEN": credentials["SessionToken"],
    }
    return Principal(arn=arn, env=env)


@contextmanager
def enforced(cloud: Cloud) -> Iterator[None]:
    """moto checks every request from here on; moto's state is process-wide, so the
    enforcement is lifted again whatever happens."""

    def reset_auth(count: str) -> None:
        url = f"{cloud.env['AWS_ENDPOINT_URL']}/moto-api/reset-auth"
        # Not form-encoded, or werkzeug takes the body for a form and moto reads nothing.
        headers = {"Content-Type": "text/plain"}
        request = urllib.request.Request(  # noqa: S310
            url, data=count.encode(), headers=headers, method="POST"
        )
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
            answer.read()

    reset_auth("0")
    try:
        yield
    finally:
        reset_auth("inf")


def printed(env: dict[str, str], *args: str) -> dict[str, Any]:
    ran = eipkeeper("iam-policy", *args, env=env)
    assert ran.code == 0, ran.stderr
    return dict(json.loads(ran.stdout))


def without(document: dict[str, Any], action: str) -> dict[str, Any]:
    statements = []
    for statement in document["Statement"]:
        actions = [a for a in statement["Action"] if a != action]
        if actions:
            statements.append({**statement, "Action": actions})
    return {**document, "Statement": statements}


def run_briefly(env: dict[str, str], log: Path, inspector: Principal, cloud: Cloud) -> None:
    """`run` with the lease until it holds it, then SIGTERM (a clean stop gives it back)."""
    dynamodb = inspector.client(cloud, "dynamodb")

    def holder() -> str:
        item = dynamodb.get_item(TableName=LEASE_TABLE, Key={"name": {"S": "sandbox"}})
        return str(item.get("Item", {}).get("holder", {}).get("S", ""))

    args = ["run", "--interval", "1s", "--lease-table", LEASE_TABLE]
    args += ["--events-queue", cloud.sandbox.events_queue_url]
    with background(*args, env=env, log=log):
        wait_for("the replica holds the lease", lambda: bool(holder()))


@pytest.fixture
def bind_env(cloud: Cloud, tmp_path: Path) -> Iterator[dict[str, str]]:
    """The sandbox's config with its zone in a real BIND (RFC 2136) instead of Route 53."""
    with LocalBind("example.test") as bind:
        text = swap_dns(cloud.config.read_text(), bind.config_toml())
        yield cloud.configured(text, tmp_path / "bind.toml").env


@pytest.fixture
def lease_table(cloud: Cloud) -> str:
    cloud.client("dynamodb").create_table(
        TableName=LEASE_TABLE,
        AttributeDefinitions=[{"AttributeName": "name", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "name", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return LEASE_TABLE


@pytest.mark.bind
def test_eipkeeper_does_its_job_with_the_printed_policy_and_nothing_else(
    cloud: Cloud, bind_env: dict[str, str], lease_table: str, tmp_path: Path
) -> None:
    queue = cloud.sandbox.events_queue_url
    allow = moto_dialect(printed(bind_env, "--lease-table", lease_table, "--events-queue", queue))
    keeper = role(cloud, "eipkeeper", allow, env=bind_env)
    old = without(allow, "dynamodb:DeleteItem")
    bare = role(cloud, "eipkeeper-without-deleteitem", old, env=bind_env)
    inspector = role(cloud, "inspector", EVERYTHING)
    unrelated = {"Effect": "Allow", "Action": "sqs:ListQueues", "Resource": "*"}
    nobody = role(cloud, "nobody", {**EVERYTHING, "Statement": [unrelated]}, env=bind_env)

    with enforced(cloud):
        refused: Ran = eipkeeper("addresses", env=nobody.env)
        assert refused.code == 1 and "not permitted" in refused.stderr, "enforcement is on"

        applied = eipkeeper("apply", "--yes", env=keeper.env)
        assert applied.code == 0, applied.stderr
        spare = standby(cloud, inspector.client(cloud, "ec2"))
        moved = eipkeeper("move", "mx1.example.test", "--to", spare, "--yes", env=keeper.env)
        assert moved.code == 0, moved.stderr
        assert eipkeeper("-o", "json", "addresses", env=keeper.env).code == 0

        run_briefly(keeper.env, tmp_path / "keeper.log", inspector, cloud)
        item = inspector.client(cloud, "dynamodb").get_item(
            TableName=lease_table, Key={"name": {"S": "sandbox"}}
        )
        assert "Item" not in item, "the role's clean stop deleted its lease"

        # The policy before this change lacked DeleteItem: the lease outlives a clean stop.
        run_briefly(bare.env, tmp_path / "bare.log", inspector, cloud)
        item = inspector.client(cloud, "dynamodb").get_item(
            TableName=lease_table, Key={"name": {"S": "sandbox"}}
        )
        assert "Item" in item
        assert "lease.release_failed" in (tmp_path / "bare.log").read_text()


@pytest.mark.bind
def test_the_guard_keeps_an_administrator_off_the_owners_addresses(
    cloud: Cloud, bind_env: dict[str, str]
) -> None:
    keeper = role(cloud, "eipkeeper", moto_dialect(printed(bind_env)), env=bind_env)
    guard = printed(bind_env, "--guard", "--role-arn", keeper.arn)
    # What an SCP or a permissions boundary imposes on the operator, moto can only apply as
    # the operator's own policy; the exemption of eipkeeper's role is not evaluated by moto.
    operator = role(cloud, "operator", EVERYTHING, moto_dialect(guard))
    assert eipkeeper("apply", "--yes", env=bind_env).code == 0
    config = config_module.load(Path(bind_env["EIPKEEPER_CONFIG"]))
    owned = [
        a
        for a in cloud.client("ec2").describe_addresses()["Addresses"]
        if {"Key": "eipkeeper:owner", "Value": config.owner} in a.get("Tags", [])
    ]
    held = next(a for a in owned if a.get("AssociationId"))
    spare = cloud.client("ec2").describe_instances(
        Filters=[{"Name": "tag:Name", "Values": [standby(cloud)]}]
    )["Reservations"][0]["Instances"][0]["InstanceId"]

    with enforced(cloud):
        ec2 = operator.client(cloud, "ec2")
        attempts: dict[str, Callable[[], Any]] = {
            "release": lambda: ec2.release_address(AllocationId=held["AllocationId"]),
            "disassociate": lambda: ec2.disassociate_address(AssociationId=held["AssociationId"]),
            "reassociate": lambda: ec2.associate_address(
                AllocationId=held["AllocationId"], InstanceId=spare, AllowReassociation=True
            ),
            "untag": lambda: ec2.delete_tags(
                Resources=[held["AllocationId"]], Tags=[{"Key": "eipkeeper:owner"}]
            ),
        }
        for what, attempt in attempts.items():
            with pytest.raises(botocore.exceptions.ClientError) as denied:
                attempt()
            code = denied.value.response["Error"]["Code"]
            assert code in ("AccessDenied", "UnauthorizedOperation"), (what, code)
        assert ec2.describe_addresses()["Addresses"], "reading stays allowed"

        # eipkeeper's own role, without the guard, still moves the address.
        moved = eipkeeper("move", held["PublicIp"], "--to", spare, "--yes", env=keeper.env)
        assert moved.code == 0, moved.stderr
    assert (cloud.address(held["PublicIp"]) or {}).get("InstanceId") == spare
