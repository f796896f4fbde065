"""EC2's eventual consistency for addresses and instances (EC2 developer guide, "Eventual
consistency"; FACTS.md): Describe calls show a written resource as it was before the write
until the write's lag has passed; a resource created inside its lag is NotFound by id and
missing from lists; CreateTags (and AssociateAddress, terraform #6970) on it fail NotFound once.

Each write keeps the resource's Describe item from just before it (moto read directly, not
lagged); while a write is inside its lag, the item shown is the one from before the earliest
such write. Filters are judged again on a kept item where this module knows the filter (tags,
ids, state, domain, client token); where it does not, the list is left as moto made it.
"""

from __future__ import annotations

import copy
import threading
import xml.etree.ElementTree as ET
from collections.abc import Callable
from urllib.parse import urlencode

from eipkeeper.sandbox.wsgi import Call, WsgiResponse, error_reply

Element = ET.Element
Describe = Callable[[bytes], WsgiResponse]

READS = frozenset({"DescribeAddresses", "DescribeInstances"})
WRITES = frozenset(
    {
        "AllocateAddress",
        "AssociateAddress",
        "DisassociateAddress",
        "ReleaseAddress",
        "ModifyAddressAttribute",
        "RunInstances",
        "TerminateInstances",
        "StopInstances",
        "StartInstances",
        "CreateTags",
        "DeleteTags",
    }
)
_VERSION = "2016-11-15"
_PATHS = {True: ("addressesSet",), False: ("reservationSet", "instancesSet")}
"""Where the items are: DescribeAddresses (True), DescribeInstances (False)."""
HIDDEN = None


def _parse(body: bytes) -> Element:
    return ET.fromstring(body)  # noqa: S314 -- moto's own reply, in this process


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(item: Element, name: str) -> Element | None:
    return next((c for c in item if _local(c.tag) == name), None)


def _text(item: Element, *path: str) -> str:
    node: Element | None = item
    for name in path:
        node = _child(node, name) if node is not None else None
    return (node.text or "") if node is not None else ""


def _items(root: Element, *path: str) -> list[tuple[Element, Element]]:
    """(parent set, item) for every item at PATH (sets of items, nested)."""
    found: list[tuple[Element, Element]] = []
    parents = [root]
    for depth, name in enumerate(path):
        sets = [s for p in parents for s in p if _local(s.tag) == name]
        items = [(s, i) for s in sets for i in s if _local(i.tag) == "item"]
        if depth == len(path) - 1:
            found = items
        parents = [i for _, i in items]
    return found


def _id_of(item: Element) -> str:
    return _text(item, "allocationId") or _text(item, "instanceId")


def _indexed(params: dict[str, str], prefix: str) -> list[str]:
    return [v for k, v in sorted(params.items()) if k.startswith(prefix + ".")]


def _filters(params: dict[str, str]) -> dict[str, list[str]]:
    names = {
        k.split(".")[1]: v
        for k, v in params.items()
        if k.startswith("Filter.") and k.endswith(".Name")
    }
    return {name: _indexed(params, f"Filter.{n}.Value") for n, name in names.items()}


def _matches(item: Element, filters: dict[str, list[str]]) -> bool | None:
    """Whether ITEM passes FILTERS (None: a filter this module does not know)."""
    tags = {
        _text(t, "key"): _text(t, "value") for s in item if _local(s.tag) == "tagSet" for t in s
    }
    for name, values in filters.items():
        if name.startswith("tag:"):
            value: str | None = tags.get(name[4:])
        elif name == "tag-key":
            if not set(values) & set(tags):
                return False
            continue
        else:
            field = {
                "domain": ("domain",),
                "allocation-id": ("allocationId",),
                "association-id": ("associationId",),
                "instance-id": ("instanceId",),
                "public-ip": ("publicIp",),
                "instance-state-name": ("instanceState", "name"),
                "client-token": ("clientToken",),
            }.get(name)
            if field is None:
                return None
            value = _text(item, *field)
        if value not in values:
            return False
    return True


def touched(call: Call, describe: Describe) -> list[tuple[str, Element]]:
    """The resources CALL writes and their Describe items now (before the write)."""
    p = call.params
    ids: list[str] = []
    if call.action in ("AssociateAddress", "ReleaseAddress", "ModifyAddressAttribute"):
        # The address only: what an instance shows of it (PublicIpAddress) is not lagged here,
        # and reading a thousand-instance fleet per association would slow the sandbox down.
        ids.append(p.get("AllocationId", ""))
    elif call.action == "DisassociateAddress":
        found = _describe(
            describe,
            "DescribeAddresses",
            {"Filter.1.Name": "association-id", "Filter.1.Value.1": p.get("AssociationId", "")},
        )
        ids += [_id_of(i) for i in found] + [_text(i, "instanceId") for i in found]
    elif call.action in ("TerminateInstances", "StopInstances", "StartInstances"):
        ids += _indexed(p, "InstanceId")
    elif call.action in ("CreateTags", "DeleteTags"):
        ids += _indexed(p, "ResourceId")
    return [(i, item) for i in dict.fromkeys(filter(None, ids)) for item in _snapshot(describe, i)]


def _snapshot(describe: Describe, resource: str) -> list[Element]:
    if resource.startswith("eipalloc-"):
        return _describe(describe, "DescribeAddresses", {"AllocationId.1": resource})
    if resource.startswith("i-"):
        return _describe(describe, "DescribeInstances", {"InstanceId.1": resource})
    return []


def _describe(describe: Describe, action: str, params: dict[str, str]) -> list[Element]:
    reply = describe(urlencode({"Action": action, "Version": _VERSION, **params}).encode())
    if reply.status != 200:
        return []
    root = _parse(reply.body)
    path = (
        ("addressesSet",) if action == "DescribeAddresses" else ("reservationSet", "instancesSet")
    )
    return [copy.deepcopy(item) for _, item in _items(root, *path)]


def created(call: Call, reply: WsgiResponse) -> list[str]:
    """Ids of the resources CALL created (AllocateAddress, RunInstances)."""
    if call.action not in ("AllocateAddress", "RunInstances"):
        return []
    root = _parse(reply.body)
    if call.action == "AllocateAddress":
        return [_text(root, "allocationId")]
    return [_id_of(item) for _, item in _items(root, "instancesSet")]


class Lagged:
    """Per resource id: (until, the item shown meanwhile, or HIDDEN) for each write in its lag."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._writes: dict[str, list[tuple[float, Element | None]]] = {}
        self._refused: set[str] = set()

    def record(
        self, call: Call, reply: WsgiResponse, before: list[tuple[str, Element]], lag: float
    ) -> None:
        until = self.clock() + lag
        with self._lock:
            for resource in created(call, reply):
                self._writes.setdefault(resource, []).append((until, HIDDEN))
            for resource, item in before:
                self._writes.setdefault(resource, []).append((until, item))

    def view(self, resource: str) -> tuple[bool, Element | None]:
        """(lagged, the item to show instead: None when hidden)."""
        now = self.clock()
        with self._lock:
            writes = [w for w in self._writes.get(resource, ()) if w[0] > now]
            if not writes:
                self._writes.pop(resource, None)
                return False, None
            self._writes[resource] = writes
            return True, writes[0][1]

    def _hidden(self, resource: str) -> bool:
        lagged, item = self.view(resource)
        return lagged and item is None

    def refuse_by_id(self, call: Call) -> WsgiResponse | None:
        kind = "AllocationId" if call.action == "DescribeAddresses" else "InstanceId"
        for resource in _indexed(call.params, kind):
            if self._hidden(resource):
                return _not_found(resource)
        return None

    def refuse_write(self, call: Call) -> WsgiResponse | None:
        """CreateTags or AssociateAddress on a resource created inside its lag: NotFound once."""
        if call.action == "CreateTags":
            named = _indexed(call.params, "ResourceId")
        elif call.action == "AssociateAddress":
            named = [call.params.get("AllocationId", ""), call.params.get("InstanceId", "")]
        else:
            return None
        for resource in filter(None, named):
            if self._hidden(resource) and resource not in self._refused:
                self._refused.add(resource)
                return _not_found(resource)
        return None

    def rewrite(self, call: Call, reply: WsgiResponse) -> WsgiResponse:
        if reply.status != 200 or not self._writes:
            return reply
        root = _parse(reply.body)
        addresses = call.action == "DescribeAddresses"
        path = _PATHS[addresses]
        filters = _filters(call.params)
        changed = False
        for parent, item in _items(root, *path):
            lagged, shown = self.view(_id_of(item))
            if not lagged:
                continue
            changed = True
            index = list(parent).index(item)
            parent.remove(item)
            if shown is not None and _matches(shown, filters) is not False:
                parent.insert(index, copy.deepcopy(shown))
        if not addresses:
            changed |= _drop_empty_reservations(root)
        if not changed:
            return reply
        return reply.replace_body(ET.tostring(root, encoding="utf-8", xml_declaration=True))


def _drop_empty_reservations(root: Element) -> bool:
    dropped = False
    for parent, reservation in _items(root, "reservationSet"):
        instances = _child(reservation, "instancesSet")
        if instances is not None and len(instances) == 0:
            parent.remove(reservation)
            dropped = True
    return dropped


def _not_found(resource: str) -> WsgiResponse:
    if resource.startswith("eipalloc-"):
        code, what = (
            "InvalidAllocationID.NotFound",
            f"The allocation ID '{resource}' does not exist",
        )
    else:
        code, what = "InvalidInstanceID.NotFound", f"The instance ID '{resource}' does not exist"
    return error_reply("ec2", 400, code, what)
