"""The TOML config file of SPEC.md section 5, validated by pydantic.

Every error names the file, the line and the key. Unknown keys are errors. Durations are
written as operators write them (`2s`, `5m`, `24h`) and held as seconds.
"""

from __future__ import annotations

import re
import stat
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from eipkeeper.durations import parse_duration
from eipkeeper.environment import DEFAULT_CONFIG
from eipkeeper.errors import ConfigError


def _seconds(value: Any) -> Any:
    if isinstance(value, str):
        return parse_duration(value)
    return value


Seconds = Annotated[float, BeforeValidator(_seconds), Field(ge=0)]
_FQDN = re.compile(
    r"^(?=.{1,253}\.?$)([a-z0-9_]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.?$"
)


def _fqdn(value: Any) -> Any:
    if isinstance(value, str):
        name = value.strip().lower().rstrip(".")
        if not _FQDN.match(name):
            raise ValueError(f"{value!r} is not a valid host name")
        return name
    return value


Hostname = Annotated[str, BeforeValidator(_fqdn)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DnsConfig(_Strict):
    provider: Literal["rfc2136", "route53"]
    zone: Hostname
    server: str = ""
    """rfc2136: the primary that takes UPDATE and AXFR."""
    port: int = Field(default=53, ge=1, le=65535)
    tsig_key_file: str = ""
    """rfc2136: a BIND key file (tsig-keygen output), relative to the config file."""
    verify_servers: list[str] = []
    """Where to confirm changes; empty means every NS of the zone."""
    hosted_zone_id: str = ""
    max_ttl: int = Field(default=300, ge=1)

    @model_validator(mode="after")
    def _provider_needs(self) -> DnsConfig:
        if self.provider == "rfc2136":
            if not self.server:
                raise ValueError("provider rfc2136 needs `server`")
            if not self.tsig_key_file:
                raise ValueError("provider rfc2136 needs `tsig_key_file`")
        return self


class SafetyConfig(_Strict):
    max_change_percent: float = Field(default=30, gt=0, le=100)
    release_quarantine: Seconds = 24 * 3600.0
    drain_margin: Seconds = 30.0


class CostConfig(_Strict):
    ipv4_hourly: float = Field(default=0.005, ge=0)


class AuditConfig(_Strict):
    cloud_ranges: str = ""


class SelectConfig(_Strict):
    tags: dict[str, str] = Field(min_length=1)


class MxConfig(_Strict):
    domain: Hostname
    preference: int = Field(default=10, ge=0, le=65535)
    when_unbacked: Literal["keep", "withdraw"] = "keep"


class CheckConfig(_Strict):
    kind: Literal["tcp", "smtp", "spamd", "http"]
    port: int = Field(ge=1, le=65535)
    interval: Seconds = 2.0
    timeout: Seconds = 2.0
    fail_after: int = Field(default=3, ge=1)
    pass_after: int = Field(default=2, ge=1)
    switch_grace: Seconds = 60.0
    """After an EIP is associated with a holder, its failed probes do not count for this long
    (S6): EC2's data plane follows a move in seconds to minutes."""
    path: str = "/"
    """http: the path to GET."""
    tls: bool = False
    """spamd: talk TLS (spamd --ssl)."""
    ca_file: str = ""
    cert_file: str = ""
    key_file: str = ""


class MetricConfig(_Strict):
    namespace: str
    name: str
    dimensions: dict[str, str] = {}
    statistic: Literal["Average", "Maximum", "Minimum", "Sum"] = "Average"
    period: Seconds = 60.0


class BurstConfig(_Strict):
    launch_template: str
    hostnames: list[Hostname] = []
    max: int = Field(default=1, ge=0)
    metric: MetricConfig | None = None
    scale_out_above: float | None = None
    scale_in_below: float | None = None
    cooldown: Seconds = 300.0
    preference: int | None = Field(default=None, ge=0, le=65535)
    """The MX preference of the reserved hostnames; default the service's MX preference plus
    10: each unbacked address costs a sender a connect timeout and one of its few MX tries,
    so hosts that are not always there go last."""

    @model_validator(mode="after")
    def _thresholds(self) -> BurstConfig:
        out, back = self.scale_out_above, self.scale_in_below
        if out is not None and back is not None and back >= out:
            raise ValueError("scale_in_below must be lower than scale_out_above")
        if (self.scale_out_above is not None) and self.metric is None:
            raise ValueError("scale_out_above needs a `metric`")
        return self


class DrainReadyConfig(_Strict):
    """How `drain` learns that an instance's MTA queue is empty before it stops or terminates
    it (a provider once bounced 54,000 messages from nodes shut down with full queues)."""

    kind: Literal["http", "command"]
    port: int = Field(default=8025, ge=1, le=65535)
    """http: the port on the instance's address."""
    path: str = "/queue-empty"
    """http: answers 2xx when the queue is empty (anything else: not yet)."""
    command: str = ""
    """command: run with `sh -c`, EIPKEEPER_INSTANCE_ID and EIPKEEPER_ADDRESS set; exit 0 when
    the queue is empty."""
    interval: Seconds = 2.0
    timeout: Seconds = 600.0

    @model_validator(mode="after")
    def _command_given(self) -> DrainReadyConfig:
        if self.kind == "command" and not self.command.strip():
            raise ValueError('drain_ready kind = "command" needs `command`')
        return self


class ServiceConfig(_Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,31}$")
    select: SelectConfig
    addresses: Literal["elastic", "dynamic"]
    hostnames: list[Hostname] = Field(min_length=1)
    ttl: int = Field(default=300, ge=1)
    mx: MxConfig | None = None
    check: CheckConfig | None = None
    failover: bool = True
    replace_failed: bool = False
    burst: BurstConfig | None = None
    ptr: bool = False
    """Keep each pool EIP's reverse DNS equal to its hostname (elastic services)."""
    drain_ready: DrainReadyConfig | None = None

    @model_validator(mode="after")
    def _consistent(self) -> ServiceConfig:
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
        return self

    @property
    def burst_hostnames(self) -> frozenset[str]:
        return frozenset(self.burst.hostnames) if self.burst else frozenset()


class Config(_Strict):
    owner: str = Field(pattern=r"^[a-z0-9-]{1,32}$")
    region: str = ""
    dns: DnsConfig | None = None
    safety: SafetyConfig = SafetyConfig()
    cost: CostConfig = CostConfig()
    audit: AuditConfig = AuditConfig()
    services: list[ServiceConfig] = Field(default=[], alias="service")

    # Where the file was read from; relative paths in it are relative to this folder.
    source: Path = Field(default=Path(DEFAULT_CONFIG), exclude=True)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    def with_switch_grace(self, seconds: float) -> Config:
        """This config with every check's `switch_grace` set to SECONDS (`run --switch-grace`)."""
        services = [
            s.model_copy(update={"check": s.check.model_copy(update={"switch_grace": seconds})})
            if s.check is not None
            else s
            for s in self.services
        ]
        return self.model_copy(update={"services": services})

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


def load(path: Path) -> Config:
    """Read and validate PATH; every problem becomes a ConfigError naming file, line and key."""
    try:
        text = path.read_text(encoding="utf-8")
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


def parse(text: str, path: Path) -> Config:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"\(at line (\d+)", str(exc))
        line = int(match.group(1)) if match else None
        reason = re.sub(r"\s*\(at line.*\)", "", str(exc))
        raise ConfigError(f"not valid TOML: {reason}", path=str(path), line=line) from None
    try:
        config = Config.model_validate({**raw, "source": path})
    except ValidationError as exc:
        problems = [_describe(error, text, path) for error in exc.errors()]
        raise ConfigErrors(problems) from None
    problems = _cross_checks(config, text)
    if problems:
        raise ConfigErrors(problems)
    _check_files(config, text)
    return config


class ConfigErrors(ConfigError):
    """Several problems in one file; each is one line with file, line and key."""

    def __init__(self, problems: list[ConfigError]) -> None:
        self.problems = problems
        super().__init__("\n".join(p.message for p in problems))


def _describe(error: Any, text: str, path: Path) -> ConfigError:
    loc = tuple(error["loc"])
    key = _dotted(loc)
    message = str(error["msg"])
    if error["type"] == "extra_forbidden":
        message = "unknown key"
    elif error["type"] == "missing":
        message = "required key is missing"
    message = message.removeprefix("Value error, ")
    return ConfigError(message, path=str(path), line=locate(text, loc), key=key)


def _dotted(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _cross_checks(config: Config, text: str) -> list[ConfigError]:
    """Rules that span services (unique names and hostnames, names inside the zone)."""
    problems: list[ConfigError] = []

    def problem(message: str, loc: tuple[Any, ...]) -> None:
        problems.append(
            ConfigError(message, path=str(config.source), line=locate(text, loc), key=_dotted(loc))
        )

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
        mx = service.mx
        if zone and mx and mx.domain != zone and not mx.domain.endswith("." + zone):
            problem(f"{mx.domain} is outside zone {zone}", ("service", index, "mx", "domain"))
    return problems


def _check_files(config: Config, text: str) -> None:
    """Files named in the config must exist; a TSIG key readable by others is said (not fatal)."""
    if config.dns is None or config.dns.provider != "rfc2136":
        return
    key_path = config.relative(config.dns.tsig_key_file)
    if not key_path.is_file():
        raise ConfigError(
            f"TSIG key file {key_path} does not exist "
            "(make one with `tsig-keygen -a hmac-sha256 NAME`)",
            path=str(config.source),
            line=locate(text, ("dns", "tsig_key_file")),
            key="dns.tsig_key_file",
        )


def key_file_is_private(path: Path) -> bool:
    """False when others than the owner may read PATH (a TSIG secret should not be)."""
    return not (path.stat().st_mode & (stat.S_IRGRP | stat.S_IROTH))


_HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\-\" ]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_.\-\"]+)\s*=")
_INLINE_KEY = re.compile(r"([A-Za-z0-9_\-]+)\s*=")


def locate(text: str, loc: tuple[Any, ...]) -> int | None:
    """The line of TEXT that best matches the key path LOC (pydantic's error location).

    tomllib keeps no positions, so walk the lines with the table headers in mind and pick the
    line whose path shares the longest prefix with LOC; keys inside an inline table on that line
    extend the match. A missing key resolves to its table's header line.
    """
    target = list(loc)
    best_line: int | None = None
    best_score = 0
    header: list[Any] = []
    array_counts: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.split("#", 1)[0] if '"' not in line else line
        head = _HEADER.match(stripped)
        path: list[Any]
        inline: list[str] = []
        if head:
            names = [n.strip().strip('"') for n in head.group(2).split(".")]
            if head.group(1) == "[[":
                joined = ".".join(names)
                index = array_counts.get(joined, -1) + 1
                array_counts[joined] = index
                header = [*names, index]
            else:
                header = names
            path = list(header)
        else:
            key = _KEY.match(stripped)
            if not key:
                continue
            path = [*header, *(k.strip('"') for k in key.group(1).split("."))]
            inline = _INLINE_KEY.findall(stripped[key.end() :])
        score = _prefix(path, target)
        if score == len(path) and score < len(target):
            rest = [p for p in target[score:] if isinstance(p, str)]
            for name in rest:
                if name in inline:
                    score += 1
                    inline = inline[inline.index(name) + 1 :]
                else:
                    break
        if score > best_score:
            best_score, best_line = score, number
    return best_line


def _prefix(path: list[Any], target: list[Any]) -> int:
    count = 0
    for mine, theirs in zip(path, target, strict=False):
        if mine != theirs:
            break
        count += 1
    return count
