"""Reverse DNS of Elastic IPs, which moto 5.2 does not implement.

EC2 (API reference: ModifyAddressAttribute, DescribeAddressesAttribute, ResetAddressAttribute;
user guide: "Use reverse DNS for email applications"):

- ModifyAddressAttribute(AllocationId, DomainName) sets the PTR record. Before it does, a
  forward record (A) of that name must point at the address. The answer shows the record
  as it was (`PtrRecord`) and the change (`PtrRecordUpdate`, status `PENDING`).
- DescribeAddressesAttribute(Attribute="domain-name") reads the records, with a
  `PtrRecordUpdate` while a change is pending. Names carry their trailing dot.
- ResetAddressAttribute(AllocationId, Attribute="domain-name") removes the record.
- An address with a PTR record is locked to the account: ReleaseAddress fails with
  `InvalidAddress.PtrSet` until the record is removed (the code cloud-custodian handles).

The sandbox checks the forward name against the zones it serves: moto's Route 53 (every hosted
zone of the account that contains the name), then, when the sandbox runs with `--bind`, the
local BIND (`forward_servers`). AWS does not document the error code of a failed forward
check; the sandbox answers `InvalidParameterValue` naming the name and the address.

A change completes after `Settings.delay` seconds (0: at once, as seen by the next Describe).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import dns.exception
import dns.message
import dns.query
import dns.rdatatype
from moto.core.responses import ActionResult
from moto.ec2.exceptions import EC2ClientError
from moto.ec2.responses.elastic_ip_addresses import ElasticIPAddresses
from moto.route53.models import route53_backends

DOMAIN_NAME = "domain-name"
_PTR = "_eipkeeper_ptr"
"""Attribute on moto's ElasticAddress: the `_Ptr` of that address."""

Method = Callable[..., Any]


class PtrSettings:
    """Process-wide, like moto's state; the sandbox sets them when it starts."""

    delay: ClassVar[float] = 0.0
    forward_servers: ClassVar[tuple[tuple[str, int], ...]] = ()
    clock: ClassVar[Callable[[], float]] = time.monotonic


@dataclass(frozen=True)
class _Ptr:
    record: str | None
    """The record in force."""
    pending: str | None = None
    """What a pending change sets ("" removes the record)."""
    due: float = 0.0

    def settled(self, now: float) -> _Ptr:
        if self.pending is None or now < self.due:
            return self
        return _Ptr(record=self.pending or None)


def _fqdn(name: str) -> str:
    return name.rstrip(".").lower() + "."


def _state(eip: Any) -> _Ptr:
    ptr: _Ptr = getattr(eip, _PTR, _Ptr(record=None))
    ptr = ptr.settled(PtrSettings.clock())
    setattr(eip, _PTR, ptr)
    return ptr


def _shape(eip: Any, ptr: _Ptr) -> dict[str, Any]:
    body: dict[str, Any] = {"PublicIp": eip.public_ip, "AllocationId": eip.allocation_id}
    if ptr.record:
        body["PtrRecord"] = ptr.record
    if ptr.pending is not None:
        body["PtrRecordUpdate"] = {"Value": ptr.pending or ptr.record or "", "Status": "PENDING"}
    return body


def _route53_addresses(account: str, name: str) -> set[str]:
    found: set[str] = set()
    for backend in list(route53_backends[account].values()):
        for zone in list(backend.zones.values()):
            zone_name = _fqdn(zone.name)
            if name != zone_name and not name.endswith("." + zone_name):
                continue
            for rrset in list(zone.rrsets):
                if rrset.type == "A" and _fqdn(rrset.name) == name:
                    found.update(str(value) for value in rrset.records)
    return found


def _dns_addresses(name: str) -> set[str]:
    found: set[str] = set()
    for host, port in PtrSettings.forward_servers:
        query = dns.message.make_query(name, dns.rdatatype.A)
        try:
            answer = dns.query.udp(query, host, port=port, timeout=2.0)
        except (dns.exception.DNSException, OSError):
            continue
        for rrset in answer.answer:
            if rrset.rdtype == dns.rdatatype.A:
                found.update(rdata.address for rdata in rrset)
    return found


def forward_addresses(account: str, name: str) -> set[str]:
    """The A values of NAME in the zones the sandbox serves."""
    return _route53_addresses(account, name) | _dns_addresses(name)


def _eip(response: Any) -> Any:
    allocation_id = response._get_param("AllocationId")
    if not allocation_id:
        raise EC2ClientError("MissingParameter", "The request must contain AllocationId")
    return response.ec2_backend.address_by_allocation([allocation_id])[0]


def _attribute(response: Any) -> None:
    attribute = response._get_param("Attribute")
    if attribute != DOMAIN_NAME:
        raise EC2ClientError(
            "InvalidParameterValue", f"Value ({attribute}) for parameter Attribute is invalid."
        )


def _change(eip: Any, value: str) -> _Ptr:
    now = PtrSettings.clock()
    ptr = _state(eip)
    changed = _Ptr(record=ptr.record, pending=value, due=now + PtrSettings.delay)
    setattr(eip, _PTR, changed)
    return changed


def modify_address_attribute(self: Any) -> ActionResult:
    eip = _eip(self)
    name = _fqdn(self._get_param("DomainName") or "")
    if name == ".":
        raise EC2ClientError("MissingParameter", "The request must contain DomainName")
    self.error_on_dryrun()
    if eip.public_ip not in forward_addresses(self.current_account, name):
        raise EC2ClientError(
            "InvalidParameterValue",
            f"The forward DNS record of {name} does not point at {eip.public_ip}: "
            "create an A record first.",
        )
    return ActionResult({"Address": _shape(eip, _change(eip, name))})


def reset_address_attribute(self: Any) -> ActionResult:
    eip = _eip(self)
    _attribute(self)
    self.error_on_dryrun()
    return ActionResult({"Address": _shape(eip, _change(eip, ""))})


def describe_addresses_attribute(self: Any) -> ActionResult:
    _attribute(self)
    self.error_on_dryrun()
    allocation_ids = self._get_param("AllocationIds", [])
    eips = self.ec2_backend.describe_addresses(allocation_ids or None)
    shapes = []
    for eip in eips:
        ptr = _state(eip)
        if ptr.record or ptr.pending is not None or allocation_ids:
            shapes.append(_shape(eip, ptr))
    return ActionResult({"Addresses": shapes})


class PtrSet(EC2ClientError):
    def __init__(self, allocation_id: str) -> None:
        super().__init__(
            "InvalidAddress.PtrSet",
            f"The address with allocation id [{allocation_id}] cannot be released because "
            "it has a reverse DNS record: reset it first (ResetAddressAttribute).",
        )


def refuse_release_with_ptr(release: Method) -> Method:
    """An address with a reverse DNS record is locked to the account: ReleaseAddress fails
    (`InvalidAddress.PtrSet`) until the record is removed (EC2 user guide, "Use reverse DNS
    for email applications")."""

    @functools.wraps(release)
    def wrapper(backend: Any, address: str | None = None, allocation_id: str | None = None) -> Any:
        eips = (
            backend.address_by_ip([address])
            if address
            else backend.address_by_allocation([allocation_id])
        )
        ptr = _state(eips[0])
        if ptr.record or ptr.pending:
            raise PtrSet(eips[0].allocation_id)
        return release(backend, address=address, allocation_id=allocation_id)

    return wrapper


def install() -> None:
    """Add the three actions to moto's EC2 responses (moto dispatches by method name)."""
    ElasticIPAddresses.modify_address_attribute = modify_address_attribute  # type: ignore[attr-defined]
    ElasticIPAddresses.reset_address_attribute = reset_address_attribute  # type: ignore[attr-defined]
    ElasticIPAddresses.describe_addresses_attribute = describe_addresses_attribute  # type: ignore[method-assign]
