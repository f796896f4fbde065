"""Where moto's Route 53 differs from Route 53 for change batches, and the fix.

Route 53 applies a batch's changes in order and all or nothing; a DELETE must match the
current RRset exactly (name, type, TTL and every value), a CREATE must find no RRset there
(counting the changes before it in the same batch), an UPSERT always succeeds (AWS API
reference, ChangeResourceRecordSets). That is what makes "exact DELETE plus CREATE in one
batch" a compare-and-swap (S5). moto 5.2 instead checks a DELETE against every value ever
created at that name, and rejects a CREATE of values created once before even when the same
batch deletes the RRset first. This wrapper validates the batch as Route 53 does, then
applies it; batches with alias or set-identifier records are left to moto.
"""

from __future__ import annotations

import copy
import functools
import threading
from collections.abc import Callable
from typing import Any

from moto.route53.exceptions import (
    DnsNameInvalidForZone,
    InvalidActionValue,
    ResourceRecordAlreadyExists,
    Route53ClientError,
)
from moto.route53.models import Route53Backend

_APPLIED = "_eipkeeper_route53_fix"
_lock = threading.Lock()
_batch_lock = threading.Lock()

ZoneState = dict[tuple[str, str], tuple[str, tuple[str, ...]]]


def _key(name: str, rdtype: str) -> tuple[str, str]:
    return (name.rstrip(".").lower(), rdtype)


def _simple(change: dict[str, Any]) -> bool:
    record = change["ResourceRecordSet"]
    return "AliasTarget" not in record and "SetIdentifier" not in record


def _validate(zone: Any, changes: list[dict[str, Any]]) -> None:
    state: ZoneState = {
        _key(r.name, r.type): (str(r.ttl), tuple(sorted(r.records)))
        for r in zone.rrsets
        if not r.set_identifier
    }
    for change in changes:
        action, record = change["Action"], change["ResourceRecordSet"]
        if action not in ("CREATE", "UPSERT", "DELETE"):
            raise InvalidActionValue(action)
        name, rdtype = record["Name"], record["Type"]
        key = _key(name, rdtype)
        value = (
            str(record.get("TTL")),
            tuple(sorted(v["Value"] for v in record.get("ResourceRecords", []))),
        )
        if action == "CREATE":
            if key in state:
                raise ResourceRecordAlreadyExists(name=name, _type=rdtype)
            state[key] = value
        elif action == "DELETE":
            if key not in state:
                raise Route53ClientError(
                    "InvalidChangeBatch",
                    f"Tried to delete resource record set [name='{name}', type='{rdtype}'] "
                    "but it was not found",
                )
            if state[key] != value:
                raise Route53ClientError(
                    "InvalidChangeBatch",
                    f"Tried to delete resource record set [name='{name}', type='{rdtype}'] "
                    "but the values provided do not match the current values",
                )
            del state[key]
        else:
            state[key] = value


def _apply(zone: Any, changes: list[dict[str, Any]]) -> None:
    for change in changes:
        journal_entry = copy.deepcopy(change)
        record = dict(change["ResourceRecordSet"])
        if not record["Name"].rstrip(".").endswith(zone.name.rstrip(".")):
            raise DnsNameInvalidForZone(name=record["Name"], zone_name=zone.name)
        if not record["Name"].endswith("."):
            record["Name"] += "."
        if change["Action"] == "DELETE":
            zone.delete_rrset(record)
        else:
            if "ResourceRecords" in record:
                record["ResourceRecords"] = [v["Value"] for v in record["ResourceRecords"]]
            zone.upsert_rrset(record)
        zone.rr_changes.append(journal_entry)


def in_order_batches(original: Callable[..., Any]) -> Callable[..., Any]:
    """Route 53: a change batch is validated in order against the current zone, then applied
    as a whole; DELETE must match exactly (the compare-and-swap of S5)."""

    @functools.wraps(original)
    def change_resource_record_sets(
        self: Any, zoneid: str, change_list: list[dict[str, Any]]
    ) -> None:
        if not all(_simple(change) for change in change_list):
            return original(self, zoneid, change_list)  # type: ignore[no-any-return]
        zone = self.get_hosted_zone(zoneid)
        # moto's server is threaded: validate and apply as one step, as Route 53 does.
        with _batch_lock:
            _validate(zone, change_list)
            _apply(zone, change_list)
        return None

    setattr(change_resource_record_sets, _APPLIED, True)
    return change_resource_record_sets


def install() -> None:
    with _lock:
        current = Route53Backend.change_resource_record_sets
        if not getattr(current, _APPLIED, False):
            Route53Backend.change_resource_record_sets = in_order_batches(current)  # type: ignore[method-assign]
