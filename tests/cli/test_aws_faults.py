"""AWS errors and outages, injected over real HTTP in front of the sandbox: one clear line,
the exit code of SPEC.md, no traceback, and nothing half done."""

from __future__ import annotations

from pathlib import Path

from eipkeeper.sandbox.bind import free_port
from tests.conftest import Cloud
from tests.support.cli import eipkeeper
from tests.support.faultproxy import Fault, fault_proxy


def one_clean_line(stderr: str) -> bool:
    """One error line (warnings may come before it) and no traceback."""
    errors = [line for line in stderr.splitlines() if line.startswith("eipkeeper: ")]
    return len(errors) == 1 and "Traceback" not in stderr


def test_no_credentials_says_how_to_try_the_sandbox(cloud: Cloud) -> None:
    env = {**cloud.env, "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""}
    ran = eipkeeper("addresses", env=env)
    assert ran.code == 2
    assert "no AWS credentials" in ran.stderr and "eipkeeper sandbox" in ran.stderr
    assert one_clean_line(ran.stderr)


def test_no_region_is_a_configuration_error(cloud: Cloud, tmp_path: Path) -> None:
    lines = cloud.config.read_text().splitlines()
    regionless = tmp_path / "regionless.toml"
    regionless.write_text("\n".join(line for line in lines if not line.startswith("region")))
    env = {**cloud.env, "AWS_DEFAULT_REGION": "", "EIPKEEPER_CONFIG": str(regionless)}
    ran = eipkeeper("addresses", env=env)
    assert ran.code == 2 and "no AWS region" in ran.stderr
    assert one_clean_line(ran.stderr)


def test_an_endpoint_that_does_not_answer(cloud: Cloud) -> None:
    port = free_port()  # nobody listens there
    ran = eipkeeper("addresses", env={**cloud.env, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}"})
    assert ran.code == 1
    assert f"http://127.0.0.1:{port} did not answer" in ran.stderr
    assert one_clean_line(ran.stderr)


def test_the_address_quota_leaves_nothing_allocated(cloud: Cloud) -> None:
    with fault_proxy(cloud.env["AWS_ENDPOINT_URL"]) as proxy:
        proxy.fail("AllocateAddress", Fault("AddressLimitExceeded"))
        ran = eipkeeper("allocate", env={**cloud.env, "AWS_ENDPOINT_URL": proxy.url})
    assert ran.code == 1
    assert "Elastic IP quota is used up" in ran.stderr and "eipkeeper audit" in ran.stderr
    assert one_clean_line(ran.stderr)
    assert len(cloud.client("ec2").describe_addresses()["Addresses"]) == 3


def test_a_missing_permission_points_at_iam_policy(cloud: Cloud) -> None:
    ip = cloud.client("ec2").describe_addresses()["Addresses"][0]["PublicIp"]
    with fault_proxy(cloud.env["AWS_ENDPOINT_URL"]) as proxy:
        proxy.fail("AssociateAddress", Fault("UnauthorizedOperation", status=403))
        ran = eipkeeper(
            "associate", ip, "mx-a", "--yes", env={**cloud.env, "AWS_ENDPOINT_URL": proxy.url}
        )
    assert ran.code == 1
    assert "not permitted (UnauthorizedOperation)" in ran.stderr and "iam-policy" in ran.stderr
    assert one_clean_line(ran.stderr)
    assert not (cloud.address(ip) or {}).get("InstanceId"), "nothing half done"


def test_throttling_is_retried_with_backoff_until_it_passes(cloud: Cloud) -> None:
    with fault_proxy(cloud.env["AWS_ENDPOINT_URL"]) as proxy:
        proxy.fail("DescribeAddresses", Fault("RequestLimitExceeded", status=503, times=2))
        ran = eipkeeper("-o", "json", "addresses", env={**cloud.env, "AWS_ENDPOINT_URL": proxy.url})
        seen = proxy.seen["DescribeAddresses"]
    assert ran.code == 0, ran.stderr
    assert len(ran.json()) == 3
    assert seen == 3, "two throttled attempts, then the one that passed"


def test_throttling_that_never_ends_is_a_transient_failure(cloud: Cloud) -> None:
    with fault_proxy(cloud.env["AWS_ENDPOINT_URL"]) as proxy:
        proxy.fail("DescribeAddresses", Fault("RequestLimitExceeded", status=503))
        ran = eipkeeper("addresses", env={**cloud.env, "AWS_ENDPOINT_URL": proxy.url})
        seen = proxy.seen["DescribeAddresses"]
    assert ran.code == 1
    assert "throttling" in ran.stderr and "RequestLimitExceeded" in ran.stderr
    assert one_clean_line(ran.stderr)
    assert seen == 5, "botocore's standard mode: five attempts in all"


def test_verbose_shows_the_traceback(cloud: Cloud) -> None:
    with fault_proxy(cloud.env["AWS_ENDPOINT_URL"]) as proxy:
        proxy.fail("AllocateAddress", Fault("AddressLimitExceeded"))
        ran = eipkeeper("-v", "allocate", env={**cloud.env, "AWS_ENDPOINT_URL": proxy.url})
    assert ran.code == 1 and "Traceback" in ran.stderr
