"""What an operator or the controller asks for: one value per mutating command (pure).

Every command that changes the cloud or DNS states an intent and hands it to the engine
(`eipkeeper.controller.engine`), which observes, plans, runs the safety check and executes.
No command acts on a path of its own, so no command escapes the safety rules.

ADDRESS and INSTANCE stay as the user typed them (a public IP, an allocation id or a bound
hostname; an instance id or its Name tag): the planner resolves them against the one
observation the plan is made from.
"""

from __future__ import annotations

from dataclasses import dataclass

from eipkeeper.model import Then


@dataclass(frozen=True)
class Reconcile:
    """Make the fleet and the zone agree with the config (`plan`, `apply`, a `run` round)."""

    unattended: bool = False
    """A `run` round: an SPF change past RFC 7208's limits holds back that DNS unit alone (a
    failover must never wait on a hand-written SPF record); `apply` refuses the plan."""

    def describe(self) -> str:
        return "reconcile"

    @property
    def instance_texts(self) -> tuple[str, ...]:
        return ()


@dataclass(frozen=True)
class MoveAddress:
    """`move ADDRESS --to INSTANCE`: a deliberate move, AllowReassociation=true (S6)."""

    address: str
    instance: str

    def describe(self) -> str:
        return f"move {self.address} to {self.instance}"

    @property
    def instance_texts(self) -> tuple[str, ...]:
        return (self.instance,)


@dataclass(frozen=True)
class AssociateAddress:
    """`associate ADDRESS INSTANCE`: claim a free address, AllowReassociation=false (S6)."""

    address: str
    instance: str

    def describe(self) -> str:
        return f"associate {self.address} with {self.instance}"

    @property
    def instance_texts(self) -> tuple[str, ...]:
        return (self.instance,)


@dataclass(frozen=True)
class DisassociateAddress:
    """`disassociate ADDRESS`: off its instance, still allocated (S1 holds: still ours)."""

    address: str

    def describe(self) -> str:
        return f"disassociate {self.address}"

    @property
    def instance_texts(self) -> tuple[str, ...]:
        return ()


@dataclass(frozen=True)
class ReleaseAddress:
    """`release ADDRESS`: give it back to AWS, only after S2 and S3 allow it."""

    address: str

    def describe(self) -> str:
        return f"release {self.address}"

    @property
    def instance_texts(self) -> tuple[str, ...]:
        return ()


@dataclass(frozen=True)
class DrainInstance:
    """`drain INSTANCE --then ...`: out of DNS, confirmed, TTL waited, then act (S2)."""

    instance: str
    then: Then = "nothing"
    force_queue: bool = False
    """Stop or terminate even while the MTA's queue holds mail (`drain_ready`)."""

    def describe(self) -> str:
        return f"drain {self.instance} then {self.then}"

    @property
    def instance_texts(self) -> tuple[str, ...]:
        return (self.instance,)


@dataclass(frozen=True)
class ReplaceInstance:
    """`replace INSTANCE`: a planned upgrade. Each round of it is planned from what the cloud
    shows (the successor is tagged with whom it succeeds), so a rerun goes on where a killed
    one stopped (S8)."""

    instance: str
    instance_type: str = ""
    launch_template: str = ""

    def describe(self) -> str:
        return f"replace {self.instance}"

    @property
    def instance_texts(self) -> tuple[str, ...]:
        return (self.instance,)


Intent = (
    Reconcile
    | MoveAddress
    | AssociateAddress
    | DisassociateAddress
    | ReleaseAddress
    | DrainInstance
    | ReplaceInstance
)
