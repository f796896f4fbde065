"""RunInstances tags the network interfaces it creates, as EC2 does.

moto 5.2 applies a launch's TagSpecifications to the instance and its volumes only, and drops
those for `network-interface`. eipkeeper tags its launches' interfaces with the service's
selector tags and the owner (`iam-policy --guard` denies association through them), so the
sandbox gives each launched instance's interfaces those tags.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

Method = Callable[..., Any]


def tag_interfaces(run_instances: Method) -> Method:
    @functools.wraps(run_instances)
    def wrapper(backend: Any, *args: Any, **kwargs: Any) -> Any:
        reservation = run_instances(backend, *args, **kwargs)
        tags = (kwargs.get("tags") or {}).get("network-interface") or {}
        if tags:
            for instance in reservation.instances:
                for interface in instance.nics.values():
                    interface.add_tags(tags)
        return reservation

    return wrapper
