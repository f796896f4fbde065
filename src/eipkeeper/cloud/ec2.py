"""The EC2 adapter: Elastic IPs and instances, read and changed through boto3.

Reads are paginated and filtered server-side. AssociateAddress always states
AllowReassociation explicitly (FACTS.md: two tools that left it out let two instances both
"win" one address). Tags are the durable store of progress (S8).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import botocore.exceptions

from eipkeeper.cloud.aws import (
    AwsSession,
    aws_errors,
    error_code,
    is_throttling,
    translate,
)
from eipkeeper.errors import NotFoundError, OperationError, TransientError
from eipkeeper.model import TAG_REQUEST, Address, Instance, NetworkInterface

_UNKNOWN_OUTCOME = (
    botocore.exceptions.ReadTimeoutError,
    botocore.exceptions.ConnectionClosedError,
    botocore.exceptions.EndpointConnectionError,
)
"""The call may or may not have been carried out (EndpointConnectionError: maybe refused
before sending, maybe not; looking costs one read)."""

LIVE_STATES = ("pending", "running", "stopping", "stopped", "shutting-down")


def _tags(items: Iterable[Mapping[str, str]] | None) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in items or ()}


def address_from_api(item: Mapping[str, Any]) -> Address:
    return Address(
        public_ip=item.get("PublicIp", ""),
        allocation_id=item.get("AllocationId", ""),
        association_id=item.get("AssociationId", "") or "",
        instance_id=item.get("InstanceId", "") or "",
        network_interface_id=item.get("NetworkInterfaceId", "") or "",
        private_ip=item.get("PrivateIpAddress", "") or "",
        tags=_tags(item.get("Tags")),
    )


def instance_from_api(item: Mapping[str, Any]) -> Instance:
    interfaces = tuple(
        NetworkInterface(
            interface_id=eni.get("NetworkInterfaceId", ""),
            device_index=int(eni.get("Attachment", {}).get("DeviceIndex", 0)),
            private_ip=eni.get("PrivateIpAddress", "") or "",
            public_ip=(eni.get("Association") or {}).get("PublicIp", "") or "",
        )
        for eni in item.get("NetworkInterfaces", ())
    )
    launched = item.get("LaunchTime")
    launch_time = launched.isoformat() if isinstance(launched, datetime) else str(launched or "")
    return Instance(
        instance_id=item["InstanceId"],
        state=item.get("State", {}).get("Name", "unknown"),
        instance_type=item.get("InstanceType", ""),
        public_ip=item.get("PublicIpAddress", "") or "",
        private_ip=item.get("PrivateIpAddress", "") or "",
        launch_time=launch_time,
        interfaces=interfaces,
        tags=_tags(item.get("Tags")),
        client_token=item.get("ClientToken", "") or "",
    )


def tag_filters(tags: Mapping[str, str]) -> list[dict[str, Any]]:
    return [{"Name": f"tag:{key}", "Values": [value]} for key, value in sorted(tags.items())]


class Ec2:
    """Elastic IPs and instances of one account and region."""

    allocate_visible_timeout = 15.0
    """Seconds an allocation whose outcome is unknown is looked for before another try."""
    launch_visible_timeout = 60.0
    """Seconds a launch waits for Describe to show it (see `wait_launched`)."""

    def __init__(
        self,
        session: AwsSession,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.session = session
        self._client = session.client("ec2")
        self.clock = clock
        self.sleep = sleep
        self._launched: dict[str, str] = {}
        """ClientToken -> instance id of each launch this process made (S9's memory; EC2's
        own idempotency of the token is the memory that survives a restart)."""

    # -- reads ---------------------------------------------------------------------------

    def addresses(self, *, filters: Sequence[Mapping[str, Any]] = ()) -> list[Address]:
        """Every VPC Elastic IP (DescribeAddresses is not paginated: one call)."""
        with aws_errors("DescribeAddresses"):
            reply = self._client.describe_addresses(
                Filters=[{"Name": "domain", "Values": ["vpc"]}, *filters]
            )
        return sorted(
            (address_from_api(a) for a in reply.get("Addresses", [])),
            key=lambda a: tuple(int(p) for p in a.public_ip.split(".")) if a.public_ip else (),
        )

    def instances(
        self,
        *,
        filters: Sequence[Mapping[str, Any]] = (),
        instance_ids: Sequence[str] = (),
        states: Sequence[str] = LIVE_STATES,
    ) -> list[Instance]:
        """Instances matching FILTERS, paginated; terminated ones are left out by default."""
        params: dict[str, Any] = {
            "Filters": [{"Name": "instance-state-name", "Values": list(states)}, *filters]
        }
        if instance_ids:
            params["InstanceIds"] = list(instance_ids)
        else:
            params["MaxResults"] = 1000
        found: list[Instance] = []
        with aws_errors("DescribeInstances"):
            for page in self._client.get_paginator("describe_instances").paginate(**params):
                for reservation in page.get("Reservations", []):
                    found.extend(instance_from_api(i) for i in reservation.get("Instances", []))
        return found

    def instance(self, instance_id: str) -> Instance:
        found = self.instances(instance_ids=[instance_id], states=(*LIVE_STATES, "terminated"))
        if not found:
            raise NotFoundError(f"no instance {instance_id}")
        return found[0]

    def address(self, allocation_id: str) -> Address:
        with aws_errors(f"DescribeAddresses {allocation_id}"):
            reply = self._client.describe_addresses(AllocationIds=[allocation_id])
        items = reply.get("Addresses", [])
        if not items:
            raise NotFoundError(f"no Elastic IP with allocation id {allocation_id}")
        return address_from_api(items[0])

    def reverse_names(self, allocation_ids: Sequence[str]) -> dict[str, str]:
        """Allocation id -> the PTR EC2 serves for it ("" for none; a pending update counts as
        what it will be), from DescribeAddressesAttribute, paginated."""
        if not allocation_ids:
            return {}
        found: dict[str, str] = {}
        with aws_errors("DescribeAddressesAttribute"):
            pages = self._client.get_paginator("describe_addresses_attribute").paginate(
                AllocationIds=list(allocation_ids), Attribute="domain-name"
            )
            for page in pages:
                for item in page.get("Addresses", []):
                    pending = item.get("PtrRecordUpdate", {}).get("Value", "")
                    name = str(pending or item.get("PtrRecord", ""))
                    found[str(item["AllocationId"])] = name.lower().rstrip(".")
        return {a: found.get(a, "") for a in allocation_ids}

    # -- writes --------------------------------------------------------------------------

    def reset_reverse_name(self, allocation_id: str) -> None:
        """ResetAddressAttribute: EC2 will not release an address whose PTR is set."""
        with aws_errors(f"ResetAddressAttribute {allocation_id}"):
            self._client.reset_address_attribute(
                AllocationId=allocation_id, Attribute="domain-name"
            )

    def set_reverse_name(self, allocation_id: str, hostname: str) -> None:
        """ModifyAddressAttribute: EC2 first checks that HOSTNAME resolves to the address."""
        with aws_errors(f"ModifyAddressAttribute {allocation_id} {hostname}"):
            self._client.modify_address_attribute(
                AllocationId=allocation_id, DomainName=hostname.rstrip(".") + "."
            )

    def allocate(self, *, tags: Mapping[str, str], attempts: int = 4) -> Address:
        """Allocate a VPC EIP with its tags in the same call, so no untagged EIP is left (S8).

        AllocateAddress takes no ClientToken (FACTS.md), so one intent is one address (S9) by
        a request tag: each call is made once (no retries by botocore), and when its outcome
        is unknown (a timeout, a 5xx), the address is looked up by that tag, with backoff
        through EC2's lag, before the call is made again. A throttled call did nothing."""
        request = {**tags, TAG_REQUEST: uuid.uuid4().hex}
        once = self.session.client("ec2", retries=False)
        spec = [
            {
                "ResourceType": "elastic-ip",
                "Tags": [{"Key": k, "Value": v} for k, v in sorted(request.items())],
            }
        ]
        pause = 0.5
        for attempt in range(attempts):
            try:
                reply = once.allocate_address(Domain="vpc", TagSpecifications=spec)
            except botocore.exceptions.ClientError as exc:
                status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
                if not is_throttling(error_code(exc)) and int(status or 0) < 500:
                    raise translate(exc, "AllocateAddress") from None
                if not is_throttling(error_code(exc)) and (found := self._allocated(request)):
                    return found
            except _UNKNOWN_OUTCOME:
                if found := self._allocated(request):
                    return found
            else:
                return Address(
                    public_ip=reply["PublicIp"],
                    allocation_id=reply["AllocationId"],
                    tags=dict(request),
                )
            if attempt + 1 < attempts:
                self.sleep(pause)
                pause *= 2
        raise TransientError(f"AllocateAddress: no answer after {attempts} attempts; nothing left")

    def _allocated(self, request: Mapping[str, str]) -> Address | None:
        """The address allocated with REQUEST's tags, waited for through EC2's lag."""
        start, pause = self.clock(), 0.25
        while True:
            found = self.addresses(filters=tag_filters({TAG_REQUEST: request[TAG_REQUEST]}))
            if found:
                return found[0]
            if self.clock() - start >= self.allocate_visible_timeout:
                return None
            self.sleep(pause)
            pause = min(pause * 2, 4.0)

    def associate(self, address: Address, instance: Instance, *, allow_reassociation: bool) -> str:
        """Associate ADDRESS with INSTANCE's primary interface; returns the association id.

        With one interface, InstanceId is passed; with several, the primary interface's id,
        since EC2 refuses InstanceId then (FACTS.md).
        """
        params: dict[str, Any] = {
            "AllocationId": address.allocation_id,
            "AllowReassociation": allow_reassociation,
        }
        primary = instance.primary_interface
        if len(instance.interfaces) > 1 and primary is not None:
            params["NetworkInterfaceId"] = primary.interface_id
        else:
            params["InstanceId"] = instance.instance_id
        with aws_errors(f"AssociateAddress {address.public_ip} to {instance.instance_id}"):
            reply = self._client.associate_address(**params)
        return str(reply.get("AssociationId", ""))

    def launch(
        self,
        *,
        template: str,
        tags: Mapping[str, str],
        token: str,
        instance_type: str = "",
        interface_tags: Mapping[str, str] | None = None,
    ) -> str:
        """One instance from a launch template, tagged in the same call; returns its id.
        INTERFACE_TAGS, when given, tag its network interface in the same call (the guard's
        deny on association through interfaces goes by them).

        TOKEN is EC2's ClientToken, named after the launch intent (S9: one intent, one
        instance). An intent this process launched already, or one DescribeInstances shows
        (filter `client-token`), is not launched again: the call waits, with backoff, until
        EC2's lagging Describe shows it, so the next round sees it. A restarted controller that
        cannot see it yet sends the same token, and EC2 answers with the first launch."""
        shown = self.launched_with(token)
        if shown:
            return shown
        if token not in self._launched:
            self._launched[token] = self._run_instances(
                template, token, instance_type, {"instance": tags, **_interface(interface_tags)}
            )
        self.wait_launched(token)
        return self._launched[token]

    def _run_instances(
        self, template: str, token: str, instance_type: str, tags: Mapping[str, Mapping[str, str]]
    ) -> str:
        """TAGS: per resource type (`instance`, `network-interface`), its tags."""
        spec = [
            {"ResourceType": kind, "Tags": [{"Key": k, "Value": v} for k, v in sorted(t.items())]}
            for kind, t in tags.items()
        ]
        extra: dict[str, Any] = {"InstanceType": instance_type} if instance_type else {}
        with aws_errors(f"RunInstances from {template}"):
            reply = self._client.run_instances(
                LaunchTemplate={"LaunchTemplateName": template},
                MinCount=1,
                MaxCount=1,
                TagSpecifications=spec,
                ClientToken=token,
                **extra,
            )
        return str(reply["Instances"][0]["InstanceId"])

    def launched_with(self, token: str) -> str:
        """The instance launched with ClientToken TOKEN, in any state ("" if none shows yet)."""
        every = (*LIVE_STATES, "terminated")
        found = self.instances(filters=[{"Name": "client-token", "Values": [token]}], states=every)
        return found[0].instance_id if found else ""

    def wait_launched(self, token: str) -> bool:
        """Back off (0.25 s, doubling, capped at 4 s) until DescribeInstances shows the launch
        with TOKEN, at most `launch_visible_timeout` seconds (EC2 documents seconds, at worst
        minutes). False when it still does not show: the token keeps a retry harmless."""
        start, pause = self.clock(), 0.25
        while not self.launched_with(token):
            if self.clock() - start >= self.launch_visible_timeout:
                return False
            self.sleep(pause)
            pause = min(pause * 2, 4.0)
        return True

    def terminate(self, instance_id: str) -> None:
        with aws_errors(f"TerminateInstances {instance_id}"):
            self._client.terminate_instances(InstanceIds=[instance_id])

    def stop(self, instance_id: str) -> None:
        with aws_errors(f"StopInstances {instance_id}"):
            self._client.stop_instances(InstanceIds=[instance_id])

    def disassociate(self, address: Address) -> None:
        if not address.association_id:
            return
        with aws_errors(f"DisassociateAddress {address.public_ip}"):
            self._client.disassociate_address(AssociationId=address.association_id)

    def release(self, address: Address) -> None:
        with aws_errors(f"ReleaseAddress {address.public_ip}"):
            self._client.release_address(AllocationId=address.allocation_id)

    def tag(self, resource_id: str, tags: Mapping[str, str]) -> None:
        with aws_errors(f"CreateTags {resource_id}"):
            self._client.create_tags(
                Resources=[resource_id],
                Tags=[{"Key": k, "Value": v} for k, v in sorted(tags.items())],
            )

    def untag(self, resource_id: str, keys: Iterable[str]) -> None:
        with aws_errors(f"DeleteTags {resource_id}"):
            self._client.delete_tags(Resources=[resource_id], Tags=[{"Key": k} for k in keys])

    # -- waits ---------------------------------------------------------------------------

    def wait_for_associations(
        self,
        wanted: Mapping[str, str],
        *,
        timeout: float,
        on_tick: Callable[[float], None] = lambda elapsed: None,
        poll: float = 0.5,
    ) -> None:
        """Poll until DescribeAddresses shows each allocation id of WANTED on its instance.

        One call reads every address, so a thousand associations wait out EC2's lag together
        (one at a time, they would wait it out a thousand times)."""
        if len(wanted) == 1:
            [(allocation_id, instance_id)] = wanted.items()
            self.wait_for_association(
                allocation_id, instance_id, timeout=timeout, on_tick=on_tick, poll=poll
            )
            return
        start = self.clock()
        while True:
            shown = {a.allocation_id: a.instance_id for a in self.addresses()}
            missing = [a for a, i in wanted.items() if shown.get(a) != i]
            if not missing:
                return
            elapsed = self.clock() - start
            if elapsed >= timeout:
                raise OperationError(
                    f"{len(missing)} associations not yet shown after {timeout:g}s, e.g. "
                    f"{missing[0]} (EC2 may still be applying them; check with `eipkeeper "
                    "addresses`)"
                )
            on_tick(elapsed)
            self.sleep(poll)

    def wait_for_association(
        self,
        allocation_id: str,
        instance_id: str,
        *,
        timeout: float,
        on_tick: Callable[[float], None] = lambda elapsed: None,
        poll: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> Address:
        """Poll until DescribeAddresses shows ALLOCATION_ID on INSTANCE_ID, or time out.

        EC2 is eventually consistent (FACTS.md), so a successful call is not yet a visible one.
        """
        start = clock()
        while True:
            current = self.address(allocation_id)
            if current.instance_id == instance_id:
                return current
            elapsed = clock() - start
            if elapsed >= timeout:
                raise OperationError(
                    f"{current.public_ip} is not yet shown on {instance_id} after {timeout:g}s "
                    "(EC2 may still be applying it; check again with `eipkeeper addresses`)"
                )
            on_tick(elapsed)
            sleep(poll)


def _interface(tags: Mapping[str, str] | None) -> dict[str, Mapping[str, str]]:
    return {"network-interface": tags} if tags else {}
