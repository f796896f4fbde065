"""Every accepted message is kept per instance and can be read in-process or over HTTP; every
instance's MTA queue answers a readiness endpoint."""

from __future__ import annotations

import json
import smtplib
import time
import urllib.error
import urllib.request
from email.message import EmailMessage
from typing import Any

from mypy_boto3_ec2 import EC2Client

from eipkeeper.environment import SANDBOX_MAIL_ENV_VAR as MAIL_ENV_VAR
from eipkeeper.sandbox import Sandbox
from tests.sandbox.conftest import answered_by, eventually, launch, public_ip


def _send(host: str, port: int, *, message_id: str, to: list[str]) -> str:
    message = EmailMessage()
    message["From"] = "sender@example.org"
    message["To"] = ", ".join(to)
    message["Subject"] = "a test"
    message["Message-ID"] = message_id
    message.set_content("hello\n")
    with smtplib.SMTP(host, port, timeout=5) as client:
        client.ehlo("sender.example.org")
        client.send_message(message, from_addr="bounce@example.org", to_addrs=to)
        return str(client.noop()[1].decode())


def _get(url: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 -- loopback
            body = response.read().decode()
            status = response.status
    except urllib.error.HTTPError as error:
        body, status = error.read().decode(), error.code
    except (urllib.error.URLError, OSError) as error:
        # Not listening yet (the data plane opens an address at its next tick): no answer.
        return 0, str(error)
    try:
        return status, json.loads(body)
    except json.JSONDecodeError:
        return status, body.strip()


def test_an_smtp_session_leaves_the_message_in_the_instances_mailbox(
    sandbox: Sandbox, ec2: EC2Client
) -> None:
    host = launch(ec2, "mail-box")
    ip = public_ip(ec2, host)
    eventually(lambda: answered_by(ip, sandbox.smtp_port) == host, what=f"{ip} answered")
    before = time.time()

    _send(ip, sandbox.smtp_port, message_id="<one@test>", to=["a@example.test", "b@example.test"])

    (kept,) = sandbox.mailboxes()[host]
    assert kept.message_id == "<one@test>"
    assert kept.mail_from == "bounce@example.org"
    assert kept.rcpt_to == ("a@example.test", "b@example.test")
    assert kept.address == ip
    assert kept.received_at >= before


def test_the_mail_endpoint_serves_the_mailboxes_as_json(sandbox: Sandbox, ec2: EC2Client) -> None:
    host = launch(ec2, "mail-json")
    ip = public_ip(ec2, host)
    eventually(lambda: answered_by(ip, sandbox.smtp_port) == host, what=f"{ip} answered")
    _send(ip, sandbox.smtp_port, message_id="<first@test>", to=["x@example.test"])
    middle = time.time()
    _send(ip, sandbox.smtp_port, message_id="<second@test>", to=["y@example.test"])

    assert sandbox.environment()[MAIL_ENV_VAR] == sandbox.mail_url
    status, body = _get(sandbox.mail_url)
    assert status == 200
    assert set(body) == {"instances", "stranger"}
    mine = body["instances"][host]
    assert [m["message_id"] for m in mine] == ["<first@test>", "<second@test>"]
    assert set(mine[0]) >= {"message_id", "received_at", "mail_from", "rcpt_to"}
    assert mine[0]["rcpt_to"] == ["x@example.test"]

    _, recent = _get(f"{sandbox.mail_url}?since={middle}")
    assert [m["message_id"] for m in recent["instances"][host]] == ["<second@test>"]
    _, counts = _get(sandbox.mail_url + "/summary")
    assert counts[host] == 2


def test_the_queue_readiness_endpoint_waits_for_the_queue_to_empty(
    sandbox: Sandbox, ec2: EC2Client
) -> None:
    host = launch(ec2, "queue-holder")
    ip = public_ip(ec2, host)
    url = f"http://{ip}:{sandbox.queue_port}/queue-empty"
    eventually(lambda: _get(url)[0] == 200, what="an empty queue at launch")

    # 10 messages at 10 a second: about a second of queue.
    ec2.create_tags(Resources=[host], Tags=[{"Key": "sandbox:queue", "Value": "10"}])

    def queued() -> str | None:
        status, text = _get(url)
        return str(text) if status == 503 else None

    text = eventually(queued, what="the queue filled by its tag")
    assert text.endswith(f"messages queued on {host}")
    assert 0 < int(text.split()[0]) <= 10

    eventually(lambda: _get(url)[0] == 200, what="the queue drained")
    assert sandbox.dataplane.queue_length(host) == 0
    assert _get(f"http://{ip}:{sandbox.queue_port}/elsewhere")[0] == 404
