"""The mail scenarios of issue 11, each an action in the middle of a steady stream.

Every action drives eipkeeper as an operator would (its CLI, or its controller reacting) or
does something behind its back with boto3, and notes what it saw in `World.facts`:
instance ids, where an address ended up, and for what eipkeeper could not prevent, how long DNS
(the sandbox's BIND, and the sender's caching resolver) kept naming a given-up address.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tests.mail.harness import MX_AND_SCAN_RATE, SCAN, Scenario, World, wait_until

MX1, MX3 = "mx1.example.test", "mx3.example.test"
BURST_LOAD, QUIET_LOAD = 1000.0, 10.0


def _state(w: World, instance_id: str) -> str:
    reply = w.client("ec2").describe_instances(InstanceIds=[instance_id])
    return str(reply["Reservations"][0]["Instances"][0]["State"]["Name"])


def _holder(w: World, hostname: str) -> str:
    return str(w.address_of(hostname).get("InstanceId") or "")


def _must(ran: Any, what: str) -> None:
    if ran.code != 0:
        raise AssertionError(f"{what} exited {ran.code}: {ran.stderr.strip()[-600:]}")


def _takes_mail(w: World, instance_id: str) -> None:
    """Wait until INSTANCE_ID has accepted a message of the stream (the MX hosts of equal
    preference are picked at random, so a few seconds may carry none to it)."""
    wait_until(f"{instance_id} takes mail", lambda: w.received(instance_id) > 0, within=60)


@contextmanager
def _load_reporter(w: World, value: list[float]) -> Iterator[None]:
    """The MTA's queue length, reported every half second as a real exporter would; VALUE[0]
    is read at each report, so the caller can change it."""
    stop = threading.Event()
    cloudwatch = w.client("cloudwatch")

    def report() -> None:
        while not stop.is_set():
            cloudwatch.put_metric_data(
                Namespace="Mail",
                MetricData=[
                    {
                        "MetricName": "QueueLength",
                        "Dimensions": [{"Name": "Service", "Value": "mx"}],
                        "Value": value[0],
                        "Unit": "Count",
                    }
                ],
            )
            stop.wait(0.5)

    thread = threading.Thread(target=report, name="load-reporter", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=10)


def burst(w: World) -> None:
    """The load rises above scale_out_above: `run` launches a burst instance, which claims the
    reserved mx3 address once it passes its check; the load falls: `run` retires it."""
    load = [BURST_LOAD]
    with _load_reporter(w, load):
        took = wait_until("a burst instance holds mx3", lambda: bool(_holder(w, MX3)), within=90)
        burst_id = _holder(w, MX3)
        w.facts["burst_instance"] = burst_id
        w.facts["burst_claimed_after_s"] = round(took, 1)
        _takes_mail(w, burst_id)
        load[0] = QUIET_LOAD
        wait_until(
            "the burst instance retired",
            lambda: _state(w, burst_id) in ("shutting-down", "terminated"),
            within=60,
        )
    w.facts["mx3_holder_after"] = _holder(w, MX3)


def failover(w: World) -> None:
    """mx1's holder stops answering (tagged `sandbox:answer=no`); `run` moves mx1 to the
    standby."""
    holder = _holder(w, MX1)
    w.facts["failed_holder"] = holder
    # mx1 and mx2 share a preference, so the first messages may all go to mx2 (and Postfix
    # may still hold them when the stream has submitted them): fail mx1 once it took mail.
    _takes_mail(w, holder)
    w.client("ec2").create_tags(Resources=[holder], Tags=[{"Key": "sandbox:answer", "Value": "no"}])
    took = wait_until(
        "mx1 moved off its failed holder",
        lambda: _holder(w, MX1) not in ("", holder),
        within=60,
    )
    w.facts["new_holder"] = _holder(w, MX1)
    w.facts["moved_after_s"] = round(took, 1)
    _takes_mail(w, w.facts["new_holder"])


def drain_mx_holder(w: World) -> None:
    """`eipkeeper drain mx-a --then terminate`: mx-a's EIP moves to the standby first."""
    holder = _holder(w, MX1)
    w.facts["drained"] = holder
    started = time.monotonic()
    _must(w.eipkeeper("drain", holder, "--then", "terminate", "--yes"), "drain")
    w.facts["drain_s"] = round(time.monotonic() - started, 1)
    w.facts["new_holder"] = _holder(w, MX1)
    w.facts["drained_state"] = _state(w, holder)
    _takes_mail(w, w.facts["new_holder"])


def _scanner(w: World, name: str) -> tuple[str, str]:
    item = w.instance(name)
    return str(item["InstanceId"]), str(item.get("PublicIpAddress", ""))


def drain_scanner(w: World) -> None:
    """`eipkeeper drain scan-a --then terminate`: out of DNS, confirmed, TTL waited, then gone."""
    instance_id, address = _scanner(w, "scan-a")
    w.facts["drained"] = instance_id
    started = time.monotonic()
    _must(w.eipkeeper("drain", instance_id, "--then", "terminate", "--yes"), "drain")
    w.facts["drain_s"] = round(time.monotonic() - started, 1)
    w.facts["drained_state"] = _state(w, instance_id)
    w.facts["address_in_dns_after"] = address in w.authoritative(SCAN)


def _dns_window(w: World, name: str, address: str) -> None:
    """From now (the address just given up): seconds until BIND stops serving ADDRESS for
    NAME, and until the sender's resolver stops answering it."""
    started = time.monotonic()
    authoritative = wait_until(
        f"{address} out of {name} at BIND",
        lambda: address not in w.authoritative(name),
        within=60,
    )
    cached = wait_until(
        f"{address} out of the resolver's answer for {name}",
        lambda: address not in w.resolver.values(name),
        within=60,
    )
    w.facts["dns_kept_authoritative_s"] = round(authoritative, 1)
    w.facts["dns_kept_s"] = round(max(cached, time.monotonic() - started), 1)


def scanner_terminated_behind_back(w: World) -> None:
    """boto3 terminates scan-a: its dynamic address is given up at once, while DNS names it."""
    instance_id, address = _scanner(w, "scan-a")
    w.facts["terminated"] = instance_id
    w.facts["given_up_address"] = address
    w.client("ec2").terminate_instances(InstanceIds=[instance_id])
    _dns_window(w, SCAN, address)


def eip_released_behind_back(w: World) -> None:
    """boto3 disassociates and releases mx1's EIP: the address leaves the account while the
    A record of mx1 (and the MX set) still name it."""
    address = w.address_of(MX1)
    w.facts["given_up_address"] = address["PublicIp"]
    ec2 = w.client("ec2")
    ec2.disassociate_address(AssociationId=address["AssociationId"])
    ec2.release_address(AllocationId=address["AllocationId"])
    _dns_window(w, MX1, address["PublicIp"])


def replace_holder(w: World) -> None:
    """`eipkeeper replace` of mx1's holder: the successor takes mail on the reserved mx3 first,
    the old holder drains, mx1's EIP moves onto the successor, mx3 goes back to reserve."""
    holder = _holder(w, MX1)
    w.facts["replaced"] = holder
    started = time.monotonic()
    ran = w.eipkeeper("replace", holder, "--instance-type", "c5.xlarge", "--timeout", "90", "--yes")
    _must(ran, "replace")
    w.facts["replace_s"] = round(time.monotonic() - started, 1)
    successor = _holder(w, MX1)
    w.facts["new_holder"] = successor
    w.facts["new_holder_type"] = next(
        (i["InstanceType"] for i in w.instances() if i["InstanceId"] == successor), ""
    )
    w.facts["replaced_holds"] = sorted(
        a["PublicIp"]
        for a in w.client("ec2").describe_addresses()["Addresses"]
        if a.get("InstanceId") == holder
    )
    w.facts["mx3_holder_after"] = _holder(w, MX3)
    _takes_mail(w, successor)


def burst_listed_reserve(w: World) -> None:
    """The reserved mx3 address is on a blocklist (tagged `sandbox:dnsbl=listed`) when the
    load rises: `run` launches no burst for it, as a burst never claims a listed address, and
    the mail goes on to mx1 and mx2. Watched for 20 s, twice what the burst scenario takes to
    put a burst instance on mx3."""
    ec2 = w.client("ec2")
    bound = {"Key": "eipkeeper:hostname", "Value": MX3}
    mx3 = next(a for a in ec2.describe_addresses()["Addresses"] if bound in a.get("Tags", []))
    ec2.create_tags(
        Resources=[mx3["AllocationId"]], Tags=[{"Key": "sandbox:dnsbl", "Value": "listed"}]
    )
    load = [BURST_LOAD]
    with _load_reporter(w, load):
        threading.Event().wait(20.0)
    bursts = [
        i["InstanceId"]
        for i in w.instances()
        if any(t["Key"] == "eipkeeper:burst" for t in i.get("Tags", []))
    ]
    w.facts["bursts_launched"] = len(bursts)
    w.facts["mx3_holder_after"] = _holder(w, MX3)


def _burst_at_equal_preference(text: str) -> str:
    """The burst scenario publishes mx3 at the always-on hosts' preference (10) instead of the
    default lower one (20): senders then give the burst instance its share of the mail while
    it holds mx3, so that its retirement happens with mail in flight to it. At 20 a sender
    only tries mx3 when mx1 and mx2 both fail, which the sandbox's instances never do."""
    return text.replace('cooldown = "2s" }', 'cooldown = "2s", preference = 10 }')


SCENARIOS = {
    s.name: s
    for s in (
        Scenario("burst", burst, edit_config=_burst_at_equal_preference),
        Scenario("burst-listed-reserve", burst_listed_reserve),
        Scenario("failover", failover),
        Scenario("drain-mx-holder", drain_mx_holder),
        Scenario("drain-scanner", drain_scanner, rates=MX_AND_SCAN_RATE),
        Scenario(
            "scanner-terminated-behind-back",
            scanner_terminated_behind_back,
            rates=MX_AND_SCAN_RATE,
        ),
        Scenario("eip-released-behind-back", eip_released_behind_back),
        Scenario("replace", replace_holder),
    )
}
