"""`drain`: the orderly shutdown of SPEC.md section 1 point 4, resumable after a crash (S8).

A drain is a short list of steps chosen by a pure function from what the instance serves:

- `dns`: take its address out of DNS (dynamic services), or its hostname out of the MX set
  (elastic, no standby, `when_unbacked = "withdraw"`); confirm on every authoritative server;
  wait the TTL plus `safety.drain_margin`; then act (S2).
- `move`: its pool EIP goes to a healthy standby in one call (the engine's move); DNS is unchanged.
- `direct`: nothing in DNS is its (or the MX keeps listing it): act at once.

"Act" disassociates a pool EIP still on the instance (it stays allocated) and then terminates,
stops or leaves the instance. Each step's outcome is written to the instance's TAG_DRAIN tag
before the next step relies on it, with what a rerun needs (the TTL, the serial to confirm, the
time confirmed), so a drain killed anywhere is finished by running it again. The tag also keeps
`run` from putting the instance back in DNS (Observation.healthy).
"""

from __future__ import annotations

from eipkeeper.drain.phases import Phase, Route, Step, parse_phase, steps_after, wait_left
from eipkeeper.drain.routes import (
    Withdrawal,
    choose_route,
    withdraw_address,
    withdraw_from_mx,
)
from eipkeeper.model import Then

__all__ = [
    "Phase",
    "Route",
    "Step",
    "Then",
    "Withdrawal",
    "choose_route",
    "parse_phase",
    "steps_after",
    "wait_left",
    "withdraw_address",
    "withdraw_from_mx",
]
