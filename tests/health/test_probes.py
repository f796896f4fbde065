"""Each probe against a real peer: the sandbox's SMTP data plane, scripted servers, http.server."""

from __future__ import annotations

import asyncio
from functools import partial

from eipkeeper.config import CheckConfig
from eipkeeper.health.probes import ProbeResult, probe, probe_http, probe_smtp, probe_tcp
from tests.conftest import Cloud
from tests.health.conftest import eventually, scripted_server, silent_server

SMTP_PORT = 2525  # the `cloud` fixture's sandbox answers SMTP here


def smtp(host: str, port: int = SMTP_PORT, timeout: float = 2.0) -> ProbeResult:
    return asyncio.run(probe_smtp(host, port, timeout=timeout))


def answered(ip: str) -> ProbeResult | None:
    result = smtp(ip)
    return result if result.ok else None


def unanswered(ip: str) -> ProbeResult | None:
    result = smtp(ip)
    return None if result.ok else result


def tag(cloud: Cloud, instance_id: str, answer: str) -> None:
    cloud.client("ec2").create_tags(
        Resources=[instance_id], Tags=[{"Key": "sandbox:answer", "Value": answer}]
    )


def test_smtp_probe_names_the_instance_that_answered(cloud: Cloud) -> None:
    for name in ("mx-a", "mx-b", "scan-a"):
        item = cloud.instance(name)
        ip = item["PublicIpAddress"]
        result = eventually(partial(answered, ip), what=f"SMTP on {ip}")
        assert result.answered_by == item["InstanceId"]
        assert result.detail == f"220 {item['InstanceId']} ESMTP eipkeeper-sandbox"
        assert result.latency > 0


def test_an_instance_told_not_to_answer_fails_and_recovers(cloud: Cloud) -> None:
    item = cloud.instance("mx-c")
    ip, instance_id = item["PublicIpAddress"], item["InstanceId"]
    eventually(lambda: smtp(ip).ok, what="mx-c answering")

    tag(cloud, instance_id, "no")
    failed = eventually(lambda: unanswered(ip), what="mx-c silent")
    assert failed.detail == "connection refused" and failed.answered_by == ""
    tcp = asyncio.run(probe_tcp(ip, SMTP_PORT, timeout=2.0))
    assert not tcp.ok

    tag(cloud, instance_id, "yes")
    assert eventually(lambda: answered(ip), what="mx-c answering again").ok


def test_smtp_probe_fails_a_refusing_greeting_and_a_refused_ehlo() -> None:
    with scripted_server(b"554 mx.example.test no service here\r\n") as port:
        refused = smtp("127.0.0.1", port)
    assert not refused.ok and refused.detail == "greeting 554 mx.example.test no service here"

    with scripted_server(b"220 mx.example.test ESMTP\r\n", b"502 go away\r\n") as port:
        no_ehlo = smtp("127.0.0.1", port)
    assert not no_ehlo.ok and no_ehlo.detail == "EHLO answered 502 go away"

    multi = (b"220-mx.example.test ESMTP\r\n220 welcome\r\n", b"250-mx\r\n250 HELP\r\n", b"221\r\n")
    with scripted_server(*multi) as port:
        fine = smtp("127.0.0.1", port)
    assert fine.ok and fine.answered_by == "mx.example.test"


def test_a_peer_that_never_speaks_times_out_but_is_connected() -> None:
    with silent_server() as port:
        quiet = smtp("127.0.0.1", port, timeout=0.3)
        connected = asyncio.run(probe_tcp("127.0.0.1", port, timeout=0.3))
    assert not quiet.ok and quiet.detail == "no answer within 0.3s"
    assert connected.ok and connected.detail == "connected"


def test_nothing_listening_is_refused_and_no_address_is_said() -> None:
    with silent_server() as port:
        pass  # the port is free again: nothing listens there now
    assert smtp("127.0.0.1", port).detail == "connection refused"
    assert smtp("").detail == "no public address to probe"


def test_http_probe_passes_2xx_and_3xx_only(http_port: int) -> None:
    def get(path: str) -> ProbeResult:
        return asyncio.run(probe_http("127.0.0.1", http_port, timeout=2.0, path=path))

    assert get("/ok").ok and get("/ok").detail.startswith("HTTP/1.0 200")
    assert get("/moved").ok
    broken, missing = get("/broken"), get("/nowhere")
    assert not broken.ok and "/broken answered HTTP/1.0 500" in broken.detail
    assert not missing.ok and "404" in missing.detail


def test_http_probe_against_smtp_is_not_http(cloud: Cloud) -> None:
    ip = cloud.instance("mx-a")["PublicIpAddress"]
    check = CheckConfig(kind="http", port=SMTP_PORT, path="/health", timeout=2.0)
    eventually(lambda: smtp(ip).ok, what="mx-a answering")
    result = asyncio.run(probe(ip, check))
    assert not result.ok and result.detail.startswith("not an HTTP answer: '220 ")


def test_probe_dispatches_on_the_checks_kind(cloud: Cloud, http_port: int) -> None:
    ip = cloud.instance("mx-b")["PublicIpAddress"]
    eventually(lambda: smtp(ip).ok, what="mx-b answering")
    for kind in ("smtp", "tcp"):
        result = asyncio.run(probe(ip, CheckConfig(kind=kind, port=SMTP_PORT)))
        assert result.ok, (kind, result)
    spamd_at_smtp = asyncio.run(probe(ip, CheckConfig(kind="spamd", port=SMTP_PORT)))
    assert not spamd_at_smtp.ok and spamd_at_smtp.detail.startswith("PING answered '220 ")
    http = CheckConfig(kind="http", port=http_port, path="/ok")
    assert asyncio.run(probe("127.0.0.1", http)).ok
