"""Health checks of SPEC.md section 5: probes, many at once, hysteresis, and the monitor.

- `probes`: one probe of one address (`tcp`, `smtp`, `spamd`, `http`) -> `ProbeResult`.
- `runner`: which check applies to an instance (`Target`), and many probes concurrently.
- `hysteresis`: `fail_after` / `pass_after` as a pure function.
- `monitor`: `HealthMonitor`, the controller's `HealthSource`, probing in a background thread.
- `watch` and `switch`: an address probed many times a second, and the timeline of a switch.
"""

from eipkeeper.health.hysteresis import InstanceHealth
from eipkeeper.health.monitor import HealthChange, HealthMonitor
from eipkeeper.health.probes import (
    ProbeResult,
    probe,
    probe_http,
    probe_smtp,
    probe_spamd,
    probe_tcp,
)
from eipkeeper.health.runner import CheckTarget, check_of, check_once, instance_target
from eipkeeper.health.tls import TlsContexts

__all__ = [
    "CheckTarget",
    "HealthChange",
    "HealthMonitor",
    "InstanceHealth",
    "ProbeResult",
    "TlsContexts",
    "check_of",
    "check_once",
    "instance_target",
    "probe",
    "probe_http",
    "probe_smtp",
    "probe_spamd",
    "probe_tcp",
]
