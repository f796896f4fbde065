"""The Route 53 provider: paged listing to read, change batches to write, GetChange to confirm.

Compare-and-swap (S5): an update is an exact DELETE of the RRset as read plus a CREATE of the
new one, in one batch; a create is a bare CREATE (it fails when the RRset exists); a delete is
an exact DELETE. Route 53 applies a batch all or nothing and rejects a DELETE that does not
match the current values, so a concurrent writer makes the batch fail (InvalidChangeBatch),
which is reported as a ConflictError. Batches stay within 1,000 records and 32,000 characters
of values.

Every call goes through the command's `AwsSession`, as EC2's do: its region, timeouts and call
counter, and botocore's standard retry mode, which already retries throttling, 5xx and
`PriorRequestNotComplete` with jittered back-off (botocore/retries/standard.py). There is no
loop of our own on top: it would multiply the attempts.

Alias and routing-policy record sets (weighted, latency, ...) are left out of the snapshot:
eipkeeper neither writes nor audits them.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import botocore.exceptions

from eipkeeper.cloud.aws import AwsSession, aws_errors, error_code
from eipkeeper.config import Config
from eipkeeper.dns.provider import (
    ApplyResult,
    Clock,
    Propagation,
    Provider,
    ServerCheck,
    Sleep,
    Unit,
)
from eipkeeper.dns.records import Change, Record, Zone, canonical_value, normalize_name
from eipkeeper.errors import ConfigError, ConflictError, OperationError
from eipkeeper.logs import get_logger

if TYPE_CHECKING:
    from mypy_boto3_route53 import Route53Client
    from mypy_boto3_route53.type_defs import ChangeTypeDef, ResourceRecordSetOutputTypeDef

log = get_logger(__name__)

MAX_RECORDS = 1000
MAX_CHARACTERS = 32000
_CONFLICT_HINTS = ("already exists", "not found", "do not match", "values provided")
_OCTAL = re.compile(r"\\(\d{3})")
T = TypeVar("T")


@dataclass
class Route53Batch:
    """One ChangeResourceRecordSets call: its changes and the requests they became."""

    changes: list[Change] = field(default_factory=list)
    requests: list[ChangeTypeDef] = field(default_factory=list)
    records: int = 0
    characters: int = 0


class Route53Provider(Provider[Route53Batch]):
    kind = "route53"

    def __init__(
        self,
        zone: str,
        *,
        session: AwsSession,
        hosted_zone_id: str = "",
        poll_interval: float = 1.0,
        clock: Clock = time.time,
        sleep: Sleep = time.sleep,
    ) -> None:
        super().__init__(zone, clock=clock, sleep=sleep)
        self.session = session
        self._zone_id = hosted_zone_id.rsplit("/", maxsplit=1)[-1]
        self._client: Route53Client | None = None
        self.poll_interval = poll_interval

    @classmethod
    def from_config(cls, config: Config, *, session: AwsSession | None = None) -> Route53Provider:
        if config.dns is None or config.dns.provider != "route53":
            raise ConfigError("the config has no [dns] table with provider = route53")
        session = session or AwsSession(region=config.region or None)
        return cls(config.dns.zone, session=session, hosted_zone_id=config.dns.hosted_zone_id)

    @property
    def client(self) -> Route53Client:
        """Made on first use, so that a config without a region fails only when Route 53 is
        needed (and then with the session's one-line ConfigError)."""
        if self._client is None:
            self._client = self.session.client("route53")
        return self._client

    @property
    def zone_id(self) -> str:
        """The hosted zone's id; found by the zone's name when the config gives none."""
        if not self._zone_id:
            self._zone_id = self._find_zone()
        return self._zone_id

    def _find_zone(self) -> str:
        answer = self._call(
            "ListHostedZonesByName",
            lambda: self.client.list_hosted_zones_by_name(DNSName=self.zone + ".", MaxItems="20"),
        )
        matches = [z for z in answer["HostedZones"] if z["Name"].rstrip(".").lower() == self.zone]
        public = [z for z in matches if not z.get("Config", {}).get("PrivateZone", False)]
        chosen = public or matches
        if not chosen:
            raise ConfigError(
                f"[dns] zone: no Route 53 hosted zone named {self.zone} in this account "
                "(create it, or set [dns] hosted_zone_id)"
            )
        if len(chosen) > 1:
            ids = ", ".join(z["Id"].split("/")[-1] for z in chosen)
            raise OperationError(
                f"several Route 53 hosted zones are named {self.zone} ({ids}): "
                "set [dns] hosted_zone_id to one of them"
            )
        return chosen[0]["Id"].split("/")[-1]

    # -- read -----------------------------------------------------------------------------------

    def _read(self) -> Zone:
        zone_id = self.zone_id
        records: list[Record] = []
        serial = 0
        kwargs: dict[str, Any] = {"HostedZoneId": zone_id, "MaxItems": "300"}
        while True:
            page = self._call(
                "ListResourceRecordSets", lambda: self.client.list_resource_record_sets(**kwargs)
            )
            for rrset in page["ResourceRecordSets"]:
                if rrset["Type"] == "SOA":
                    serial = _soa_serial(rrset["ResourceRecords"][0]["Value"])
                    continue
                record = _record(rrset)
                if record is not None:
                    records.append(record)
            if not page.get("IsTruncated"):
                break
            kwargs["StartRecordName"] = page["NextRecordName"]
            kwargs["StartRecordType"] = page["NextRecordType"]
            if "NextRecordIdentifier" in page:
                kwargs["StartRecordIdentifier"] = page["NextRecordIdentifier"]
        records.sort(key=lambda r: (r.name, r.type))
        return Zone(name=self.zone, serial=serial, records=tuple(records))

    # -- write ----------------------------------------------------------------------------------

    def _batches(self, units: list[Unit]) -> list[Route53Batch]:
        batches = [Route53Batch()]
        for unit in units:
            requests = [r for change in unit for r in _requests(change)]
            count = sum(len(r["ResourceRecordSet"].get("ResourceRecords", [])) for r in requests)
            chars = sum(
                len(v["Value"]) for r in requests for v in r["ResourceRecordSet"]["ResourceRecords"]
            )
            if count > MAX_RECORDS or chars > MAX_CHARACTERS:
                names = ", ".join(f"{c.key[1]} {c.key[0]}" for c in unit)
                raise OperationError(f"too large for one Route 53 change batch: {names}")
            last = batches[-1]
            if last.records + count > MAX_RECORDS or last.characters + chars > MAX_CHARACTERS:
                last = Route53Batch()
                batches.append(last)
            last.changes.extend(unit)
            last.requests.extend(requests)
            last.records += count
            last.characters += chars
        return batches

    def _send(
        self, batches: list[Route53Batch], applied: Callable[[int], None]
    ) -> tuple[int | None, tuple[str, ...]]:
        zone_id = self.zone_id
        ids: list[str] = []
        for index, batch in enumerate(batches):
            answer = self._call(
                "ChangeResourceRecordSets",
                lambda b=batch: self.client.change_resource_record_sets(  # type: ignore[misc]
                    HostedZoneId=zone_id,
                    ChangeBatch={"Comment": "eipkeeper", "Changes": b.requests},
                ),
            )
            ids.append(answer["ChangeInfo"]["Id"])
            applied(index)
            if index + 1 < len(batches):
                self._insync(ids[-1])
        return None, tuple(ids)

    def _insync(self, change_id: str, *, timeout: float = 120.0) -> None:
        """Wait for CHANGE_ID to be INSYNC before the next batch to the zone: Route 53 answers
        PriorRequestNotComplete to a change while the zone's last one is PENDING (FACTS.md),
        and a retry's back-off would wait longer than the change takes."""
        deadline = self.clock() + timeout
        while self.clock() < deadline:
            info = self._call("GetChange", lambda: self.client.get_change(Id=change_id))
            if info["ChangeInfo"]["Status"] == "INSYNC":
                return
            self.sleep(min(self.poll_interval, max(0.0, deadline - self.clock())))

    # -- confirm --------------------------------------------------------------------------------

    def _confirm(self, result: ApplyResult, *, timeout: float) -> Propagation:
        deadline = self.clock() + timeout
        checks: dict[str, ServerCheck] = {}
        pending = list(result.change_ids)
        while pending:
            for change_id in list(pending):
                info = self._call("GetChange", lambda c=change_id: self.client.get_change(Id=c))  # type: ignore[misc]
                status = info["ChangeInfo"]["Status"]
                label = f"route53 {change_id.split('/')[-1]}"
                if status == "INSYNC":
                    checks[change_id] = ServerCheck(label, confirmed_at=self.clock())
                    pending.remove(change_id)
                else:
                    checks[change_id] = ServerCheck(label, error=status)
            remaining = deadline - self.clock()
            if not pending or remaining <= 0:
                break
            self.sleep(min(self.poll_interval, remaining))
        return Propagation(serial=None, servers=tuple(checks[c] for c in result.change_ids))

    # -- calls and errors -----------------------------------------------------------------------

    def _call(self, operation: str, call: Callable[[], T]) -> T:
        """CALL, with botocore's retries; what is left of a failure becomes one line. A retried
        change whose first attempt did land fails its exact DELETE (S5), which is a conflict:
        the caller re-reads and re-plans."""
        with aws_errors(f"Route 53 {operation} in zone {self.zone}"):
            try:
                return call()
            except botocore.exceptions.ClientError as exc:
                conflict = _conflict(exc)
                if conflict is not None:
                    raise conflict from exc
                if error_code(exc) == "NoSuchHostedZone":
                    # The id comes from the config, or was just found by the zone's name.
                    raise ConfigError(
                        f"[dns] hosted_zone_id: no Route 53 hosted zone {self._zone_id} "
                        f"for {self.zone} (NoSuchHostedZone)"
                    ) from exc
                raise


def _conflict(exc: botocore.exceptions.ClientError) -> ConflictError | None:
    code = error_code(exc)
    message = str(exc.response.get("Error", {}).get("Message", "")) or str(exc)
    if code == "InvalidChangeBatch" and any(h in message.lower() for h in _CONFLICT_HINTS):
        return ConflictError(
            f"Route 53 {code}: {message} (the zone changed since it was read: re-read and re-plan)"
        )
    return None


def _record(rrset: ResourceRecordSetOutputTypeDef) -> Record | None:
    if "AliasTarget" in rrset or "SetIdentifier" in rrset or "ResourceRecords" not in rrset:
        log.debug("dns.route53.skipped", name=rrset["Name"], type=rrset["Type"])
        return None
    name = normalize_name(_OCTAL.sub(lambda m: chr(int(m.group(1), 8)), rrset["Name"]))
    rdtype = rrset["Type"]
    values = tuple(sorted({canonical_value(rdtype, v["Value"]) for v in rrset["ResourceRecords"]}))
    return Record.trusted(name, rdtype, int(rrset.get("TTL", 0)), values)


def _requests(change: Change) -> list[ChangeTypeDef]:
    requests: list[ChangeTypeDef] = []
    if change.old is not None:
        requests.append({"Action": "DELETE", "ResourceRecordSet": _rrset(change.old)})
    if change.new is not None:
        requests.append({"Action": "CREATE", "ResourceRecordSet": _rrset(change.new)})
    return requests


def _rrset(record: Record) -> Any:
    return {
        "Name": record.name + ".",
        "Type": record.type,
        "TTL": record.ttl,
        "ResourceRecords": [{"Value": value} for value in record.values],
    }


_SOA_NUMBERS = re.compile(r"(\d+)\s+\d+\s+\d+\s+\d+\s+\d+")


def _soa_serial(value: str) -> int:
    """The serial of an SOA value. moto 5.2 wraps the value of a zone created through its
    server in a stringified dict, so look for the five numbers rather than count fields.
    (Route 53 keeps the serial at 1 anyway; INSYNC, not the serial, confirms a change.)"""
    match = _SOA_NUMBERS.search(value)
    return int(match.group(1)) if match else 0
