"""Where moto's EC2 differs from EC2 for addresses, and the fixes that make it behave.

Each fix is a small function wrapping one moto method (or replacing one address generator);
its docstring names the EC2 behaviour it follows. `install()` applies them all, once: moto's
backends are process-wide, and so are these patches. They survive `/moto-api/reset`, which
replaces backend objects but not their classes.

moto's EC2 objects are untyped, so they are `Any` here.
"""

from __future__ import annotations

import functools
import random
import threading
from collections.abc import Callable, Iterator
from typing import Any

from moto.ec2 import utils as ec2_utils
from moto.ec2.exceptions import EC2ClientError
from moto.ec2.models import ec2_backends
from moto.ec2.models import elastic_ip_addresses as moto_eips
from moto.ec2.models import elastic_network_interfaces as moto_enis
from moto.ec2.models.elastic_ip_addresses import ElasticAddressBackend
from moto.ec2.models.elastic_network_interfaces import NetworkInterface
from moto.ec2.models.instances import InstanceBackend

from eipkeeper.sandbox import launch_tags, ptr, statechanges
from eipkeeper.sandbox.addresses import AddressPool
from eipkeeper.sandbox.dnsbl import BLOCKLIST

Method = Callable[..., Any]

# The fixes already applied to a method, kept on the outermost wrapper so that installing
# twice (two sandboxes in one process, one after the other) wraps nothing twice.
_APPLIED = "_eipkeeper_sandbox_fixes"
_DEAD_STATES = frozenset({"shutting-down", "terminated"})


class IncorrectInstanceState(EC2ClientError):
    def __init__(self, instance_id: str) -> None:
        super().__init__(
            "IncorrectInstanceState",
            f"The instance '{instance_id}' is not in a valid state for this operation.",
        )


class MultipleInterfaces(EC2ClientError):
    def __init__(self, instance_id: str) -> None:
        super().__init__(
            "InvalidInstanceID",
            f"There are multiple interfaces attached to instance '{instance_id}'. "
            "Please specify an interface ID for the operation instead.",
        )


class AddressInUse(EC2ClientError):
    def __init__(self, allocation_id: str) -> None:
        super().__init__(
            "InvalidIPAddress.InUse",
            f"The address with allocation id [{allocation_id}] is in use.",
        )


def _addresses_in_use() -> Iterator[str]:
    """Every public address any moto EC2 backend of this process holds (EIPs and interfaces)."""
    for account in list(ec2_backends.values()):
        for backend in list(account.values()):
            for eip in list(backend.addresses):
                yield eip.public_ip
            for eni in list(backend.enis.values()):
                if eni.public_ip:
                    yield eni.public_ip


POOL = AddressPool(in_use=_addresses_in_use, rng=random.Random())


def draw_elastic_ip() -> str:
    """AllocateAddress gives an address nobody holds. moto may return 127.0.0.1 or an address
    in use; the sandbox draws from 127/8 away from 127.0.0.x (see `addresses`)."""
    address = POOL.draw()
    BLOCKLIST.allocated(address)  # every Nth allocation is dirty, as fresh EC2 addresses can be
    return address


def draw_public_ip() -> str:
    """An auto-assigned public IPv4 that this machine can reach (moto uses 54.214.0.0/16).

    EC2: associating an EIP with the primary interface releases the dynamic address for good;
    after a disassociate the instance gets a new, different one (EC2 user guide, "Public IPv4
    addresses"). The pool never draws an address twice, so the new one always differs.
    """
    return POOL.draw()


def _find_eip(backend: Any, address: str | None, allocation_id: str | None) -> Any:
    if address:
        return backend.address_by_ip([address])[0]
    if allocation_id:
        return backend.address_by_allocation([allocation_id])[0]
    return None


def _eip_on(eni: Any) -> Any:
    for eip in list(eni.ec2_backend.addresses):
        if eip.eni is eni:
            return eip
    return None


def _drop_public_ip(eni: Any) -> None:
    """What EC2 does to an interface that loses its EIP: a new dynamic address if running."""
    eni.public_ip = None
    if eni.instance is not None and eni.instance.state == "running":
        eni.check_auto_public_ip()


def refuse_dead_instances(associate: Method) -> Method:
    """AssociateAddress with a shutting-down or terminated instance fails with
    IncorrectInstanceState (EC2 API reference, AssociateAddress); moto associates anyway."""

    @functools.wraps(associate)
    def wrapper(
        backend: Any,
        instance: Any = None,
        eni: Any = None,
        address: str | None = None,
        allocation_id: str | None = None,
        reassociate: bool = False,
    ) -> Any:
        target = instance if instance is not None else getattr(eni, "instance", None)
        if target is not None and target.state in _DEAD_STATES:
            raise IncorrectInstanceState(target.id)
        return associate(
            backend,
            instance=instance,
            eni=eni,
            address=address,
            allocation_id=allocation_id,
            reassociate=reassociate,
        )

    return wrapper


def require_interface_id(associate: Method) -> Method:
    """AssociateAddress with InstanceId needs an instance with exactly one network interface;
    otherwise EC2 asks for NetworkInterfaceId (EC2 API reference, AssociateAddress). moto
    silently picks the primary interface."""

    @functools.wraps(associate)
    def wrapper(backend: Any, instance: Any = None, **kwargs: Any) -> Any:
        if instance is not None and len(instance.nics) > 1:
            raise MultipleInterfaces(instance.id)
        return associate(backend, instance=instance, **kwargs)

    return wrapper


def displace_other_address(associate: Method) -> Method:
    """One EIP per private address: associating a second EIP with the same private address
    displaces the first, which stays allocated but unassociated (EC2 user guide, "Associate an
    Elastic IP address"). moto keeps both. moto always associates the interface's primary
    private address, so "same interface" is "same private address" here."""

    @functools.wraps(associate)
    def wrapper(
        backend: Any,
        instance: Any = None,
        eni: Any = None,
        address: str | None = None,
        allocation_id: str | None = None,
        reassociate: bool = False,
    ) -> Any:
        eip = _find_eip(backend, address, allocation_id)
        target = eni if eni is not None else (instance.nics[0] if instance is not None else None)
        others = [a for a in list(backend.addresses) if a is not eip and a.eni is target]
        result = associate(
            backend,
            instance=instance,
            eni=eni,
            address=address,
            allocation_id=allocation_id,
            reassociate=reassociate,
        )
        for other in others if target is not None else []:
            other.instance = None
            other.eni = None
            other.association_id = None
        return result

    return wrapper


def leave_previous_holder(associate: Method) -> Method:
    """A reassociated EIP leaves the instance that held it: that instance's PublicIpAddress no
    longer shows it (moto leaves it there). The old holder is treated as after a disassociate:
    a running instance with auto-assign gets a new dynamic address (EC2 user guide, "Elastic IP
    addresses": "your instance is assigned a new public IPv4 address ... within a few minutes")."""

    @functools.wraps(associate)
    def wrapper(
        backend: Any,
        instance: Any = None,
        eni: Any = None,
        address: str | None = None,
        allocation_id: str | None = None,
        reassociate: bool = False,
    ) -> Any:
        eip = _find_eip(backend, address, allocation_id)
        before = eip.eni if eip is not None else None
        result = associate(
            backend,
            instance=instance,
            eni=eni,
            address=address,
            allocation_id=allocation_id,
            reassociate=reassociate,
        )
        if before is not None and before is not result.eni:
            _drop_public_ip(before)
        return result

    return wrapper


def name_the_interface_instance(associate: Method) -> Method:
    """An EIP associated through NetworkInterfaceId shows the instance that interface is
    attached to (DescribeAddresses `InstanceId`); moto leaves InstanceId empty."""

    @functools.wraps(associate)
    def wrapper(backend: Any, **kwargs: Any) -> Any:
        result = associate(backend, **kwargs)
        if result.instance is None and result.eni is not None:
            result.instance = result.eni.instance
        return result

    return wrapper


def _in_default_vpc(backend: Any, eip: Any) -> bool:
    eni = eip.eni if eip.eni is not None else None
    if eni is None and eip.instance is not None and eip.instance.nics:
        eni = eip.instance.nics[0]
    subnet = getattr(eni, "subnet", None)
    vpc = backend.vpcs.get(getattr(subnet, "vpc_id", None)) if subnet is not None else None
    return bool(getattr(vpc, "is_default", False))


def release_in_use_by_vpc(release: Method) -> Method:
    """ReleaseAddress of an associated address: in the default VPC EC2 disassociates and
    releases it; in a nondefault VPC it fails with InvalidIPAddress.InUse (EC2 API reference,
    ReleaseAddress). moto disassociates and releases everywhere."""

    @functools.wraps(release)
    def wrapper(backend: Any, address: str | None = None, allocation_id: str | None = None) -> Any:
        eip = _find_eip(backend, address, allocation_id)
        associated = eip is not None and (eip.eni or eip.instance)
        if associated and eip.domain == "vpc" and not _in_default_vpc(backend, eip):
            raise AddressInUse(eip.allocation_id)
        return release(backend, address=address, allocation_id=allocation_id)

    return wrapper


class AddressTaken(EC2ClientError):
    def __init__(self, address: str) -> None:
        super().__init__(
            "InvalidAddress.NotFound",
            f"Address '{address}' cannot be recovered: it is in use elsewhere.",
        )


def recover_only_free_addresses(allocate: Method) -> Method:
    """AllocateAddress(Address=...) recovers a released address only if nobody else took it
    (EC2 user guide, "Recover an Elastic IP address"). moto hands out any address, even one the
    stranger took or the account holds. The error code for this case is not documented; the
    sandbox answers InvalidAddress.NotFound."""

    @functools.wraps(allocate)
    def wrapper(backend: Any, domain: str, address: str | None = None, **kwargs: Any) -> Any:
        if address and (POOL.is_taken(address) or address in set(_addresses_in_use())):
            raise AddressTaken(address)
        return allocate(backend, domain, address=address, **kwargs)

    return wrapper


def free_addresses_on_terminate(terminate: Method) -> Method:
    """Terminating an instance disassociates its EIPs; they stay allocated (EC2 user guide,
    "Elastic IP addresses"). moto leaves InstanceId and AssociationId on the EIP."""

    @functools.wraps(terminate)
    def wrapper(backend: Any, instance_ids: list[str]) -> Any:
        result = terminate(backend, instance_ids)
        gone = {instance.id for instance, _ in result}
        for eip in list(backend.addresses):
            holder = (
                eip.instance if eip.instance is not None else getattr(eip.eni, "instance", None)
            )
            if holder is not None and holder.id in gone:
                if eip.eni is not None:
                    eip.eni.public_ip = None
                eip.instance = None
                eip.eni = None
                eip.association_id = None
        return result

    return wrapper


def keep_eip_on_stop(stop: Method) -> Method:
    """Stopping an instance keeps its EIP associated (VPC); only an auto-assigned dynamic
    address is released (EC2 user guide, "Instance lifecycle"). moto drops the EIP from the
    interface but leaves the EIP claiming the association."""

    @functools.wraps(stop)
    def wrapper(eni: Any) -> None:
        if _eip_on(eni) is None:
            stop(eni)

    return wrapper


def keep_eip_on_start(start: Method) -> Method:
    """Starting an instance that holds an EIP gets no dynamic address: the EIP is its public
    address (EC2 user guide, "Public IPv4 addresses"). moto gives it a new dynamic one."""

    @functools.wraps(start)
    def wrapper(eni: Any) -> None:
        eip = _eip_on(eni)
        if eip is None:
            start(eni)
        else:
            eni.public_ip = eip.public_ip

    return wrapper


# Innermost first: an associate is refused first, then displaces, then leaves the old holder.
_METHOD_FIXES: tuple[tuple[type, str, tuple[Callable[[Method], Method], ...]], ...] = (
    (
        ElasticAddressBackend,
        "associate_address",
        (
            name_the_interface_instance,
            leave_previous_holder,
            displace_other_address,
            require_interface_id,
            refuse_dead_instances,
        ),
    ),
    (
        ElasticAddressBackend,
        "release_address",
        (release_in_use_by_vpc, ptr.refuse_release_with_ptr),
    ),
    (ElasticAddressBackend, "allocate_address", (recover_only_free_addresses,)),
    (InstanceBackend, "run_instances", (statechanges.count_launches,)),
    (InstanceBackend, "run_instances", (launch_tags.tag_interfaces,)),
    (InstanceBackend, "start_instances", (statechanges.count_starts,)),
    (InstanceBackend, "terminate_instances", (free_addresses_on_terminate,)),
    (NetworkInterface, "stop", (keep_eip_on_stop,)),
    (NetworkInterface, "start", (keep_eip_on_start,)),
    (InstanceBackend, "run_instances", (statechanges.publish_launches,)),
    (InstanceBackend, "start_instances", (statechanges.publish_transitions,)),
    (InstanceBackend, "stop_instances", (statechanges.publish_transitions,)),
    (InstanceBackend, "terminate_instances", (statechanges.publish_transitions,)),
)

_install_lock = threading.Lock()


def _apply(owner: type, name: str, fix: Callable[[Method], Method]) -> None:
    current = getattr(owner, name)
    applied: frozenset[str] = getattr(current, _APPLIED, frozenset())
    if fix.__name__ in applied:
        return
    wrapped = fix(current)
    setattr(wrapped, _APPLIED, applied | {fix.__name__})
    setattr(owner, name, wrapped)


def install() -> None:
    """Apply every fix to moto's classes; a second call changes nothing."""
    with _install_lock:
        # The generators are imported by name into the model modules, so patch them there.
        moto_eips.random_ip = draw_elastic_ip  # type: ignore[attr-defined]
        moto_enis.random_public_ip = draw_public_ip  # type: ignore[attr-defined]
        # EC2's DescribeInstances filters on `client-token` (the RunInstances ClientToken,
        # "Ensuring idempotency"); moto keeps the token on the instance but has no such filter.
        ec2_utils.filter_dict_attribute_mapping["client-token"] = "client_token"
        for owner, name, fixes in _METHOD_FIXES:
            for fix in fixes:
                _apply(owner, name, fix)
        ptr.install()
