"""Public addresses for the sandbox: drawn from 127.0.0.0/8 so this machine can answer on them.

Linux routes all of 127.0.0.0/8 to the loopback interface, so the data plane can bind any of
these addresses without configuring anything. moto hands out EIPs from 127/8 already (any of
them, 127.0.0.1 included) and dynamic public IPs from 54.214.0.0/16, which nothing here can
reach; the sandbox replaces both generators with `draw`.
"""

from __future__ import annotations

import ipaddress
import random
import threading
from collections.abc import Callable, Iterable

# 127.0.x.x is crowded on a real machine (127.0.0.1 localhost, 127.0.0.53 systemd-resolved,
# 127.0.1.1 Debian's own host name) and 127.255.255.255 is the broadcast address: keep away.
_SECOND_OCTETS = range(1, 255)
_LAST_OCTETS = range(1, 255)

SANDBOX_RANGE = ipaddress.ip_network("127.0.0.0/8")


class AddressPool:
    """Draws public addresses that are neither in use nor handed out before in this process.

    Never repeating a draw is what makes "after a disassociate the instance gets a new,
    different address" hold here; EC2 does reuse addresses, but only after a while, and the
    sandbox never lives long enough for that to matter.
    """

    def __init__(self, *, in_use: Callable[[], Iterable[str]], rng: random.Random) -> None:
        self._in_use = in_use
        self._rng = rng
        self._issued: set[str] = set()
        self._this_run: set[str] = set()
        self._taken: set[str] = set()
        self._lock = threading.Lock()

    def begin_run(self) -> None:
        """A new sandbox starts: forget what earlier ones handed out and the stranger took."""
        with self._lock:
            self._this_run.clear()
            self._taken.clear()

    def handed_out(self) -> frozenset[str]:
        """Every address drawn since `begin_run`: what the account was given in this sandbox."""
        with self._lock:
            return frozenset(self._this_run)

    def taken_by_stranger(self, addresses: Iterable[str]) -> None:
        """ADDRESSES now belong to another customer: nobody else may have them again."""
        with self._lock:
            self._taken.update(addresses)

    def is_taken(self, address: str) -> bool:
        with self._lock:
            return address in self._taken

    def draw(self) -> str:
        with self._lock:
            busy = set(self._in_use()) | self._issued
            while True:
                candidate = (
                    f"127.{self._rng.choice(_SECOND_OCTETS)}."
                    f"{self._rng.randrange(256)}.{self._rng.choice(_LAST_OCTETS)}"
                )
                if candidate not in busy:
                    self._issued.add(candidate)
                    self._this_run.add(candidate)
                    return candidate


def is_sandbox_public(address: str) -> bool:
    """True for an address the sandbox may hand out: in 127/8, outside 127.0.x.x and .255."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return False
    if parsed not in SANDBOX_RANGE:
        return False
    _, second, _, last = (int(part) for part in address.split("."))
    return second in _SECOND_OCTETS and last in _LAST_OCTETS
