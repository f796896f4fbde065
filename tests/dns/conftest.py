"""Fixtures: a real BIND per test (LocalBind) and moto's Route 53 behind a real HTTP server.

A missing `named` makes these fixtures fail with LocalBind's message (`apt-get install bind9
bind9-utils`), never skip: a DNS layer nobody tested against a server is not tested.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from eipkeeper.cloud.aws import AwsSession
from eipkeeper.dns.ownership import Registry
from eipkeeper.dns.records import Change, Record
from eipkeeper.dns.rfc2136 import Rfc2136Provider
from eipkeeper.dns.route53 import Route53Provider
from eipkeeper.dns.tsig import load_key
from eipkeeper.sandbox import route53_fixes
from eipkeeper.sandbox.bind import LocalBind

if TYPE_CHECKING:
    from mypy_boto3_route53 import Route53Client

ZONE = "example.test"
OWNER = "mail-prod"


@pytest.fixture
def bind() -> Iterator[LocalBind]:
    with LocalBind(ZONE) as server:
        yield server


def rfc2136(server: LocalBind, **kwargs: Any) -> Rfc2136Provider:
    """A provider for SERVER, confirming on it alone (its NS is not on this port)."""
    return Rfc2136Provider(
        server.zone,
        server=server.host,
        port=server.port,
        key=load_key(server.key_file),
        verify_servers=kwargs.pop("verify_servers", [server.server]),
        **kwargs,
    )


@pytest.fixture
def provider(bind: LocalBind) -> Rfc2136Provider:
    return rfc2136(bind)


@pytest.fixture
def registry(provider: Rfc2136Provider) -> Registry:
    return Registry(provider, owner=OWNER)


def seed(provider: Rfc2136Provider | Route53Provider, *records: Record) -> None:
    """Write RECORDS as someone else would: straight through the provider, no ownership."""
    provider.apply([Change.create(record) for record in records])


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    # Route 53's own batch semantics (in order, exact DELETE), whether or not a sandbox test
    # already installed them in this process: races are only testable with them.
    route53_fixes.install()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def route53_client(moto_endpoint: str) -> Route53Client:
    # Loopback moto server, http only: the scheme is ours.
    request = urllib.request.Request(f"{moto_endpoint}/moto-api/reset", method="POST")  # noqa: S310
    with urllib.request.urlopen(request, timeout=10):  # noqa: S310
        pass
    client: Route53Client = boto3.client(
        "route53",
        endpoint_url=moto_endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    return client


@pytest.fixture
def hosted_zone(route53_client: Route53Client) -> str:
    answer = route53_client.create_hosted_zone(Name=ZONE + ".", CallerReference="eipkeeper-test")
    return answer["HostedZone"]["Id"].split("/")[-1]


def aws_session(endpoint: str, **kwargs: Any) -> AwsSession:
    """eipkeeper's AWS session for moto's server at ENDPOINT (or a fault proxy in front)."""
    return AwsSession(
        region="us-east-1", endpoint_url=endpoint, credentials=("testing", "testing"), **kwargs
    )


@pytest.fixture
def route53(moto_endpoint: str, hosted_zone: str) -> Route53Provider:
    """A provider that finds its zone by name (hosted_zone_id left empty), as configs may."""
    del hosted_zone
    return Route53Provider(ZONE, session=aws_session(moto_endpoint), sleep=lambda _: None)
