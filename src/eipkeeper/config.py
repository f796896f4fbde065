"""The TOML config file of SPEC.md section 5, validated by msgspec.

Every error names the file, the line and the key, and every problem in the file is reported,
not just the first. Unknown keys are errors. Durations are written as operators write them
(`2s`, `5m`, `24h`) and held as seconds.

msgspec rather than pydantic: a command that reads the config starts in about half the time
(SPEC.md section 8, start-up; `bench/cli_start.py` prints the floor of each).
"""

from __future__ import annotations

import re
import stat
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import msgspec
from msgspec import Meta, field

from eipkeeper.config_lines import Loc, dotted, locate
from eipkeeper.config_problems import Problem, validate
from eipkeeper.durations import parse_duration
from eipkeeper.environment import DEFAULT_CONFIG
from eipkeeper.errors import ConfigError

__all__ = ["Config", "ConfigError", "ConfigErrors", "load", "locate", "parse"]

_FQDN = re.compile(
    r"^(?=.{1,253}\.?$)([a-z0-9_]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.?$"
)

_RESOLVER = re.compile(r"^[A-Za-z0-9.:-]+?(:[0-9]{1,5})?$")

if TYPE_CHECKING:
    # To the rest of the code a duration is a float and a host name a str.
    Seconds = float
    Hostname = str
else:

    class Seconds(float):
        """A duration in seconds; the config may write it `30s`, `5m` or as a number."""

    class Hostname(str):
        """A host name, lower-cased, without the final dot."""


def _decode(kind: type, value: Any) -> Any:
    """msgspec's hook for the two types it does not know: raise ValueError or TypeError with
    the message the user sees (msgspec adds where)."""
    if kind is Seconds:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise TypeError("expected a duration (30s, 5m) or a number of seconds")
        seconds = parse_duration(value) if isinstance(value, str) else float(value)
        if seconds < 0:
            raise ValueError(f"{value!r} is not a duration: it must be 0 or more")
        return Seconds(seconds)
    if kind is Hostname:
        if not isinstance(value, str):
            raise TypeError("expected a host name (a string)")
        name = value.strip().lower().rstrip(".")
        if not _FQDN.match(name):
            raise ValueError(f"{value!r} is not a valid host name")
        return Hostname(name)
    raise NotImplementedError(kind)


Port = Annotated[int, Meta(ge=1, le=65535)]
Preference = Annotated[int, Meta(ge=0, le=65535)]


class _Strict(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Every table: unknown keys are errors, and a loaded config does not change (each
    subclass says `frozen=True` again for type checkers, which read it per class)."""


class DnsConfig(_Strict, frozen=True):
    provider: Literal["rfc2136", "route53"]
    zone: Hostname
    server: str = ""
    """rfc2136: the primary that takes UPDATE and AXFR."""
    port: Port = 53
    tsig_key_file: str = ""
    """rfc2136: a BIND key file (tsig-keygen output), relative to the config file."""
    verify_servers: list[str] = field(default_factory=list)
    """Where to confirm changes; empty means every NS of the zone."""
    hosted_zone_id: str = ""
    max_ttl: Annotated[int, Meta(ge=1)] = 300
    timeout: Seconds = Seconds(30.0)
    """rfc2136: how long one message's answer may take. PowerDNS on SQLite took 13 s for one
    message of about 570 RRsets (FACTS.md): 30 s leaves room for a slow backend, and after it
    the zone is re-read to tell what the server did."""
    max_changes_per_message: Annotated[int, Meta(ge=1, le=10000)] = 500
    """rfc2136: updates are split so that one message stays within this many RRset changes.
    Measured (bench/dns_sync.py): BIND and Knot are fastest with few large messages; PowerDNS
    on SQLite takes ~13 ms per RRset whatever the split (2,000 RRset updates: 26.8 s in
    messages of 100, 26.2 s of 500), so 500 keeps one message at 6.5 s, 13 s under load:
    inside `timeout` with room to spare."""

    def __post_init__(self) -> None:
        if self.provider == "rfc2136":
            if not self.server:
                raise ValueError("provider rfc2136 needs `server`")
            if not self.tsig_key_file:
                raise ValueError("provider rfc2136 needs `tsig_key_file`")


class SafetyConfig(_Strict, frozen=True):
    max_change_percent: Annotated[float, Meta(gt=0, le=100)] = 30.0
    release_quarantine: Seconds = Seconds(24 * 3600.0)
    drain_margin: Seconds = Seconds(30.0)


class CostConfig(_Strict, frozen=True):
    ipv4_hourly: Annotated[float, Meta(ge=0)] = 0.005


class AuditConfig(_Strict, frozen=True):
    cloud_ranges: str = ""


class SelectConfig(_Strict, frozen=True):
    tags: Annotated[dict[str, str], Meta(min_length=1)]


class MxConfig(_Strict, frozen=True):
    domain: Hostname
    preference: Preference = 10
    when_unbacked: Literal["keep", "withdraw"] = "keep"


class CheckConfig(_Strict, frozen=True):
    kind: Literal["tcp", "smtp", "spamd", "http"]
    port: Port
    interval: Seconds = Seconds(2.0)
    timeout: Seconds = Seconds(2.0)
    fail_after: Annotated[int, Meta(ge=1)] = 3
    pass_after: Annotated[int, Meta(ge=1)] = 2
    switch_grace: Seconds = Seconds(60.0)
    """After an EIP is associated with a holder, its failed probes do not count for this long
    (S6): EC2's data plane follows a move in seconds to minutes."""
    path: str = "/"
    """http: the path to GET."""
    tls: bool = False
    """spamd: talk TLS (spamd --ssl)."""
    ca_file: str = ""
    cert_file: str = ""
    key_file: str = ""


class MetricConfig(_Strict, frozen=True):
    namespace: str
    name: str
    dimensions: dict[str, str] = field(default_factory=dict)
    statistic: Literal["Average", "Maximum", "Minimum", "Sum"] = "Average"
    period: Seconds = Seconds(60.0)


class BurstConfig(_Strict, frozen=True):
    launch_template: str
    hostnames: list[Hostname] = field(default_factory=list)
    max: Annotated[int, Meta(ge=0)] = 1
    metric: MetricConfig | None = None
    scale_out_above: float | None = None
    scale_in_below: float | None = None
    cooldown: Seconds = Seconds(300.0)
    preference: Preference | None = None
    """The MX preference of the reserved hostnames; default the service's MX preference plus
    10: each unbacked address costs a sender a connect timeout and one of its few MX tries,
    so hosts that are not always there go last."""

    def __post_init__(self) -> None:
        out, back = self.scale_out_above, self.scale_in_below
        if out is not None and back is not None and back >= out:
            raise ValueError("scale_in_below must be lower than scale_out_above")
        if (self.scale_out_above is not None) and self.metric is None:
            raise ValueError("scale_out_above needs a `metric`")


class DrainReadyConfig(_Strict, frozen=True):
    """How `drain` learns that an instance's MTA queue is empty before it stops or terminates
    it (a provider once bounced 54,000 messages from nodes shut down with full queues)."""

    kind: Literal["http", "command"]
    port: Port = 8025
    """http: the port on the instance's address."""
    path: str = "/queue-empty"
    """http: answers 2xx when the queue is empty (anything else: not yet)."""
    command: str = ""
    """command: run with `sh -c`, EIPKEEPER_INSTANCE_ID and EIPKEEPER_ADDRESS set; exit 0 when
    the queue is empty."""
    interval: Seconds = Seconds(2.0)
    timeout: Seconds = Seconds(600.0)

    def __post_init__(self) -> None:
        if self.kind == "command" and not self.command.strip():
            raise ValueError('drain_ready kind = "command" needs `command`')


class ReputationConfig(_Strict, frozen=True):
    """An address fit to carry mail: not on a blocklist, with forward-confirmed reverse DNS.
    Checked before an address is claimed for the service and every `recheck` while it serves."""

    dnsbl: Annotated[list[Hostname], Meta(min_length=1)]
    """DNSBL zones (`zen.spamhaus.org`): a listing by any one keeps an address out of service."""
    fcrdns: bool = True
    """Audit that each address's reverse DNS name resolves back to it (Gmail, Yahoo)."""
    recheck: Seconds = Seconds(3600.0)
    """`run` looks each serving address up again this often."""
    max_tries: Annotated[int, Meta(ge=1, le=50)] = 5
    """`allocate --service`: fresh addresses tried before giving up."""
    resolver: str = ""
    """HOST or HOST:PORT of the resolver to ask; empty: the system's. Spamhaus refuses
    queries sent through large public resolvers (8.8.8.8 and the like): use your own."""
    timeout: Seconds = Seconds(2.0)
    """One lookup's wait; a zone that does not answer in time gave no verdict (never clean)."""

    def __post_init__(self) -> None:
        if self.resolver and not _RESOLVER.match(self.resolver):
            raise ValueError(f"resolver {self.resolver!r} is not HOST or HOST:PORT")


class MtaStsConfig(_Strict, frozen=True):
    policy: Annotated[str, Meta(min_length=1)]
    """The MTA-STS policy file (RFC 8461 section 3.2), relative to the config file; `audit`
    reads it from here and fetches nothing from the internet."""


class ServiceConfig(_Strict, frozen=True):
    name: Annotated[str, Meta(pattern=r"^[a-z0-9][a-z0-9-]{0,31}$")]
    select: SelectConfig
    addresses: Literal["elastic", "dynamic"]
    hostnames: Annotated[list[Hostname], Meta(min_length=1)]
    ttl: Annotated[int, Meta(ge=1)] = 300
    mx: MxConfig | None = None
    check: CheckConfig | None = None
    failover: bool = True
    replace_failed: bool = False
    burst: BurstConfig | None = None
    ptr: bool = False
    """Keep each pool EIP's reverse DNS equal to its hostname (elastic services)."""
    drain_ready: DrainReadyConfig | None = None
    reputation: ReputationConfig | None = None
    spf: Hostname | None = None
    """A sending service: one `ip4:` per address of the service in this name's SPF record."""
    mta_sts: MtaStsConfig | None = None

    def __post_init__(self) -> None:
        if self.mta_sts is not None and self.mx is None:
            raise ValueError("mta_sts needs `mx`: the policy judges the MX hostnames")
        if len(set(self.hostnames)) != len(self.hostnames):
            raise ValueError("hostnames are listed twice")
        if self.burst is not None:
            stray = [h for h in self.burst.hostnames if h not in self.hostnames]
            if stray:
                raise ValueError(f"burst.hostnames not among the service's hostnames: {stray}")
            if self.addresses != "elastic" and self.burst.hostnames:
                raise ValueError("burst.hostnames need an elastic service")
        if self.ptr and self.addresses != "elastic":
            raise ValueError("ptr = true needs an elastic service (a PTR is set on an EIP)")
        if self.replace_failed and self.burst is None:
            raise ValueError("replace_failed needs `burst.launch_template` to launch from")

    @property
    def burst_hostnames(self) -> frozenset[str]:
        return frozenset(self.burst.hostnames) if self.burst else frozenset()


class Config(_Strict, frozen=True):
    owner: Annotated[str, Meta(pattern=r"^[a-z0-9-]{1,32}$")]
    region: str = ""
    dns: DnsConfig | None = None
    safety: SafetyConfig = field(default_factory=SafetyConfig)
    cost: CostConfig = field(default_factory=CostConfig)
    audit: AuditConfig = field(default_factory=AuditConfig)
    services: list[ServiceConfig] = field(default_factory=list, name="service")

    source: Path = field(default_factory=lambda: Path(DEFAULT_CONFIG))
    """Where the file was read from (not a key of the file: `parse` refuses it); relative
    paths in it are relative to this folder."""

    def with_switch_grace(self, seconds: float) -> Config:
        """This config with every check's `switch_grace` set to SECONDS (`run --switch-grace`)."""
        services = [
            msgspec.structs.replace(
                s, check=msgspec.structs.replace(s.check, switch_grace=Seconds(seconds))
            )
            if s.check is not None
            else s
            for s in self.services
        ]
        return msgspec.structs.replace(self, services=services)

    def service(self, name: str) -> ServiceConfig:
        for service in self.services:
            if service.name == name:
                return service
        known = ", ".join(s.name for s in self.services) or "none"
        raise ConfigError(f"no service {name!r} in the config (services: {known})")

    def relative(self, path: str) -> Path:
        """PATH as written in the config, resolved against the config file's folder."""
        candidate = Path(path).expanduser()
        return candidate if candidate.is_absolute() else self.source.parent / candidate


NOT_KEYS = ("source",)
"""Fields of Config that the file may not set."""


def load(path: Path) -> Config:
    """Read and validate PATH; every problem becomes a ConfigError naming file, line and key."""
    try:
        text = read_text(path, limit=MAX_CONFIG_BYTES, what="a config file")
    except FileNotFoundError:
        raise ConfigError(
            "no such config file (pass --config PATH or set EIPKEEPER_CONFIG; "
            "`eipkeeper sandbox` writes one for its sample fleet)",
            path=str(path),
        ) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"not UTF-8 text (byte {exc.start}); TOML files are UTF-8", path=str(path)
        ) from None
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", path=str(path)) from None
    return parse(text, path)


MAX_CONFIG_BYTES = 1 << 20
"""A config is a few kilobytes: past a mebibyte it is not one (`--config /dev/zero` read
without bound, 3.7 GB in 8 s)."""


def read_text(path: Path, *, limit: int, what: str) -> str:
    """PATH's UTF-8 text, at most LIMIT bytes; a leading byte-order mark (Notepad writes one)
    is not part of the text. ConfigError for a directory or a file past LIMIT."""
    if path.is_dir():
        raise ConfigError(f"is a directory, not {what}", path=str(path))
    with path.open("rb") as stream:
        data = stream.read(limit + 1)
    if len(data) > limit:
        raise ConfigError(
            f"larger than {limit // 1024} KiB: not {what} (is the path right?)", path=str(path)
        )
    return data.decode("utf-8-sig")


def parse(text: str, path: Path) -> Config:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"\(at line (\d+)", str(exc))
        line = int(match.group(1)) if match else None
        reason = re.sub(r"\s*\(at line.*\)", "", str(exc))
        raise ConfigError(f"not valid TOML: {reason}", path=str(path), line=line) from None
    config, problems = validate(raw, Config, dec_hook=_decode, not_keys=NOT_KEYS)
    if config is None:
        raise ConfigErrors([_located(problem, text, path) for problem in problems])
    config = msgspec.structs.replace(config, source=path)
    cross = _cross_checks(config)
    if cross:
        raise ConfigErrors([_located(problem, text, path) for problem in cross])
    _check_files(config, text)
    return config


class ConfigErrors(ConfigError):
    """Several problems in one file; each is one line with file, line and key, in file order."""

    def __init__(self, problems: list[ConfigError]) -> None:
        self.problems = sorted(problems, key=lambda p: (p.line is None, p.line or 0))
        super().__init__("\n".join(p.message for p in self.problems))


def _located(problem: Problem, text: str, path: Path) -> ConfigError:
    return ConfigError(
        problem.message, path=str(path), line=locate(text, problem.loc), key=dotted(problem.loc)
    )


def _cross_checks(config: Config) -> list[Problem]:
    """Rules that span services (unique names and hostnames, names inside the zone)."""
    problems: list[Problem] = []

    def problem(message: str, loc: Loc) -> None:
        problems.append(Problem(loc, message))

    names: set[str] = set()
    owners: dict[str, str] = {}
    zone = config.dns.zone if config.dns else ""
    for index, service in enumerate(config.services):
        if service.name in names:
            problem(f"service name {service.name!r} is used twice", ("service", index, "name"))
        names.add(service.name)
        for host in service.hostnames:
            if host in owners and owners[host] != service.name:
                problem(
                    f"{host} belongs to both {owners[host]!r} and {service.name!r}",
                    ("service", index, "hostnames"),
                )
            owners[host] = service.name
            if zone and host != zone and not host.endswith("." + zone):
                problem(f"{host} is outside zone {zone}", ("service", index, "hostnames"))
        spf = service.spf
        if zone and spf and spf != zone and not spf.endswith("." + zone):
            problem(f"{spf} is outside zone {zone}", ("service", index, "spf"))
        mx = service.mx
        if zone and mx and mx.domain != zone and not mx.domain.endswith("." + zone):
            problem(f"{mx.domain} is outside zone {zone}", ("service", index, "mx", "domain"))
    return problems


def _check_files(config: Config, text: str) -> None:
    """Files named in the config must exist; a TSIG key readable by others is said (not fatal)."""
    for index, service in enumerate(config.services):
        policy = config.relative(service.mta_sts.policy) if service.mta_sts else None
        if policy is not None and not policy.is_file():
            where = ("service", index, "mta_sts", "policy")
            raise _located(
                Problem(where, f"MTA-STS policy {policy} does not exist"), text, config.source
            )
    if config.dns is None or config.dns.provider != "rfc2136":
        return
    key_path = config.relative(config.dns.tsig_key_file)
    if key_path.exists() and not key_path.is_file():
        kind = "a directory" if key_path.is_dir() else "not a regular file"
        problem = Problem(("dns", "tsig_key_file"), f"TSIG key file {key_path} is {kind}")
        raise _located(problem, text, config.source)
    if not key_path.is_file():
        missing = (
            f"TSIG key file {key_path} does not exist "
            "(make one with `tsig-keygen -a hmac-sha256 NAME`)"
        )
        raise _located(Problem(("dns", "tsig_key_file"), missing), text, config.source)


def key_file_is_private(path: Path) -> bool:
    """False when others than the owner may read PATH (a TSIG secret should not be)."""
    return not (path.stat().st_mode & (stat.S_IRGRP | stat.S_IROTH))
