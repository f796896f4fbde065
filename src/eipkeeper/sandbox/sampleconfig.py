"""The eipkeeper config for the sample fleet, as TOML an operator can read and edit."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from eipkeeper.sandbox import fleet
from eipkeeper.sandbox.dnsbl import ZONE as DNSBL_ZONE


def _s(value: str) -> str:
    # A JSON string of printable ASCII is a valid TOML basic string.
    return json.dumps(value, ensure_ascii=True)


def _list(values: tuple[str, ...]) -> str:
    return "[" + ", ".join(_s(v) for v in values) + "]"


ROUTE53 = f"""\
[dns]
provider = "route53"
zone = {_s(fleet.ZONE)}
"""


def render(
    *, owner: str, region: str, smtp_port: int, dns: str | None = None, dnsbl: str = ""
) -> str:
    """The config; DNS is a `[dns]` table to use instead of the sandbox's Route 53 zone;
    DNSBL the HOST:PORT of the sandbox's blocklist (the mx service checks its addresses)."""
    dims = ", ".join(f"{k} = {_s(v)}" for k, v in fleet.METRIC_DIMENSIONS.items())
    metric = (
        f"{{ namespace = {_s(fleet.METRIC_NAMESPACE)}, name = {_s(fleet.METRIC_NAME)}, "
        f"dimensions = {{ {dims} }} }}"
    )
    return f"""\
# Written by `eipkeeper sandbox` for its sample fleet; rewritten each time the sandbox starts.
owner = {_s(owner)}
region = {_s(region)}

{(dns or ROUTE53).strip()}

[[service]]
name = {_s(fleet.MX_SERVICE)}
select = {{ tags = {{ Role = "mx" }} }}
addresses = "elastic"
hostnames = {_list(fleet.MX_HOSTNAMES)}
ttl = 300
mx = {{ domain = {_s(fleet.ZONE)}, preference = 10 }}
# The sandbox's data plane answers SMTP on every instance's public address at this port.
check = {{ kind = "smtp", port = {smtp_port}, interval = "1s", timeout = "1s", \
fail_after = 3, pass_after = 2 }}
failover = true
replace_failed = true
burst = {{ launch_template = {_s(fleet.LAUNCH_TEMPLATE)}, \
hostnames = {_list(fleet.BURST_HOSTNAMES)}, max = 1, metric = {metric}, \
scale_out_above = 500, scale_in_below = 50, cooldown = "1m" }}
{_reputation(dnsbl)}
[[service]]
name = {_s(fleet.SCAN_SERVICE)}
select = {{ tags = {{ Role = "scan" }} }}
addresses = "dynamic"
hostnames = [{_s(fleet.SCAN_HOSTNAME)}]
ttl = 60
check = {{ kind = "tcp", port = {smtp_port}, interval = "1s", timeout = "1s" }}
"""


def _reputation(dnsbl: str) -> str:
    if not dnsbl:
        return ""
    return f"""\
# The sandbox's blocklist lists some addresses it hands out (`--listed`): none goes into service.
reputation = {{ dnsbl = [{_s(DNSBL_ZONE)}], resolver = {_s(dnsbl)}, recheck = "1m", \
max_tries = 5, fcrdns = false }}
"""


def write(path: Path, text: str) -> None:
    """Write TEXT to PATH atomically, so that a reader never sees half a config."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(temp, 0o644)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
