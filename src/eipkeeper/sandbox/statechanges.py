"""EC2 instance state changes as EventBridge events, which moto does not publish.

EC2 sends `EC2 Instance State-change Notification` events from source `aws.ec2` to the default
event bus on every transition (EC2 user guide, "Monitor instance state changes"), detail
`{"instance-id": ..., "state": ...}`. The sandbox puts them through moto's events backend in
this process, so that any rule on the default bus (the sandbox's own one targets an SQS queue)
delivers them exactly as it would deliver a real event.

moto moves instances between states at once, so each call publishes both the transitional and
the final state (`stopping` then `stopped`), in the order EC2 would.

Each launch or start also counts as a boot on moto's instance object, which the data plane
reads to keep a new instance quiet for the boot delay.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable
from typing import Any

from moto.events.models import events_backends

from eipkeeper.logs import get_logger
from eipkeeper.sandbox.dataplane import BOOT_ATTRIBUTE

SOURCE = "aws.ec2"
DETAIL_TYPE = "EC2 Instance State-change Notification"

log = get_logger(__name__)

Method = Callable[..., Any]

# Final state -> the states EC2 passes through to reach it.
_PATH = {
    "running": ("pending", "running"),
    "stopped": ("stopping", "stopped"),
    "terminated": ("shutting-down", "terminated"),
}


def event_pattern() -> str:
    """The EventBridge rule pattern that matches these events."""
    return json.dumps({"source": [SOURCE], "detail-type": [DETAIL_TYPE]})


class Switch:
    """Whether state changes are published; a benchmark launching thousands of instances turns
    it off (moto's EventBridge parses every rule per event, which dominates the launch)."""

    on = True


def _publish(backend: Any, instance_id: str, states: Iterable[str]) -> None:
    if not Switch.on:
        return
    arn = f"arn:aws:ec2:{backend.region_name}:{backend.account_id}:instance/{instance_id}"
    entries = [
        {
            "Source": SOURCE,
            "DetailType": DETAIL_TYPE,
            "Detail": json.dumps({"instance-id": instance_id, "state": state}),
            "Resources": [arn],
        }
        for state in states
    ]
    try:
        events = events_backends[backend.account_id][backend.region_name]
        events.put_events(entries)
    except Exception as exc:  # an event lost must never fail the EC2 call that caused it
        log.warning("sandbox.event_lost", instance_id=instance_id, error=str(exc))


def publish_launches(run_instances: Method) -> Method:
    """RunInstances: `pending` then `running` for every instance launched."""

    @functools.wraps(run_instances)
    def wrapper(backend: Any, *args: Any, **kwargs: Any) -> Any:
        reservation = run_instances(backend, *args, **kwargs)
        for instance in reservation.instances:
            _publish(backend, instance.id, _PATH["running"])
        return reservation

    return wrapper


def publish_transitions(change: Method) -> Method:
    """StartInstances, StopInstances, TerminateInstances: an event per state passed through,
    none for an instance already in the final state (EC2 publishes only real changes)."""

    @functools.wraps(change)
    def wrapper(backend: Any, *args: Any, **kwargs: Any) -> Any:
        result = change(backend, *args, **kwargs)
        for instance, previous in result:
            final = instance.state
            if previous.name != final:
                _publish(backend, instance.id, _PATH.get(final, (final,)))
        return result

    return wrapper


def count_launches(run_instances: Method) -> Method:
    """RunInstances starts a boot: the data plane lets a new instance answer only after the
    boot delay (EC2 instances take tens of seconds from `pending` to a running service)."""

    @functools.wraps(run_instances)
    def wrapper(backend: Any, *args: Any, **kwargs: Any) -> Any:
        reservation = run_instances(backend, *args, **kwargs)
        for instance in reservation.instances:
            setattr(instance, BOOT_ATTRIBUTE, 1)
        return reservation

    return wrapper


def count_starts(start_instances: Method) -> Method:
    """StartInstances of a stopped instance starts another boot (see `count_launches`)."""

    @functools.wraps(start_instances)
    def wrapper(backend: Any, *args: Any, **kwargs: Any) -> Any:
        result = start_instances(backend, *args, **kwargs)
        for instance, previous in result:
            if previous.name != instance.state:
                setattr(instance, BOOT_ATTRIBUTE, getattr(instance, BOOT_ATTRIBUTE, 1) + 1)
        return result

    return wrapper
