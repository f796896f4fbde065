"""Do the printed policy's resources and conditions admit the EC2 requests eipkeeper really
makes? moto evaluates neither, so the check is made here, on requests recorded as moto's
server receives them (with the tags of the resources they name at that moment), against the
parts of IAM's evaluation the policy relies on (the Service Authorization Reference for EC2):

- the resources IAM authorizes per action: the EIP (allocation id), the instance (InstanceId),
  the network interface (NetworkInterfaceId), each resource of CreateTags and DeleteTags;
  tags given at creation are authorized as CreateTags with `ec2:CreateAction`;
- the condition operators the policy uses: StringEquals, ForAllValues:StringLike and
  ForAnyValue:StringLike, on aws:ResourceTag/K, aws:RequestTag/K, aws:TagKeys and
  ec2:CreateAction; a key the request lacks fails StringEquals.

A test oracle for the policy's conditions, not a model of IAM: it knows only these pieces.
"""

from __future__ import annotations

import fnmatch
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from moto.core.responses import BaseResponse

KINDS = {"eipalloc-": "elastic-ip", "i-": "instance", "eni-": "network-interface"}


@dataclass(frozen=True)
class Check:
    """One authorization IAM makes for a request: an action on one resource, in a context."""

    action: str
    arn: str
    context: dict[str, list[str]]


@dataclass
class Ec2Requests:
    """EC2 requests as moto's server receives them, with the tags of what they name."""

    region: str = "us-east-1"
    seen: list[tuple[str, dict[str, str], dict[str, dict[str, str]]]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def install(self, monkeypatch: Any) -> None:
        original = BaseResponse.call_action
        recorder = self

        def call_action(response: Any) -> Any:
            if getattr(response, "service_name", "") == "ec2":
                recorder.record(response)
            return original(response)

        monkeypatch.setattr(BaseResponse, "call_action", call_action)

    def record(self, response: Any) -> None:
        params = {k: v[0] for k, v in response.querystring.items() if v}
        action = params.get("Action", "")
        if action.startswith("Describe"):
            return
        backend = response.ec2_backend
        named = {
            v for k, v in params.items() if re.fullmatch(r"(ResourceId|InstanceId)(\.\d+)?", k)
        }
        named |= {params[k] for k in ("AllocationId", "NetworkInterfaceId") if k in params}
        if "AssociationId" in params:
            named |= {
                a.allocation_id
                for a in list(backend.addresses)
                if a.association_id == params["AssociationId"]
            }
        tags = {rid: dict(backend.tags.get(rid, {})) for rid in named}
        name = params.get("LaunchTemplate.LaunchTemplateName", "")
        if name:
            # IAM sees a launch from a template as the template's ARN (ec2:LaunchTemplate).
            template = backend.launch_template_name_to_ids.get(name, "lt-unknown")
            params["ec2:LaunchTemplate"] = (
                f"arn:aws:ec2:{self.region}:123456789012:launch-template/{template}"
            )
        with self._lock:
            self.seen.append((action, params, tags))

    def checks(self) -> Iterator[tuple[str, list[Check]]]:
        """Per request, the authorizations IAM makes for it (a description, the checks)."""
        for action, params, tags in list(self.seen):
            yield f"{action} {params}", list(_checks(self.region, action, params, tags))


def _arn(region: str, resource_id: str) -> str:
    kind = next(k for prefix, k in KINDS.items() if resource_id.startswith(prefix))
    return f"arn:aws:ec2:{region}:123456789012:{kind}/{resource_id}"


def _request_tags(params: dict[str, str], kind: str) -> dict[str, str]:
    tags = {}
    for key, value in params.items():
        spec = re.fullmatch(r"TagSpecification\.(\d+)\.ResourceType", key)
        if spec and value == kind:
            n = spec[1]
            for tag_key, tag_value in params.items():
                found = re.fullmatch(rf"TagSpecification\.{n}\.Tag\.(\d+)\.Key", tag_key)
                if found:
                    tags[tag_value] = params.get(f"TagSpecification.{n}.Tag.{found[1]}.Value", "")
    return tags


def _resource_tags(tags: dict[str, str]) -> dict[str, list[str]]:
    return {f"aws:ResourceTag/{k}": [v] for k, v in tags.items()}


def _checks(
    region: str, action: str, params: dict[str, str], tags: dict[str, dict[str, str]]
) -> Iterator[Check]:
    api = f"ec2:{action}"
    if action in ("AllocateAddress", "RunInstances"):
        kind = "elastic-ip" if action == "AllocateAddress" else "instance"
        arn = f"arn:aws:ec2:{region}:123456789012:{kind}/*"
        wanted = _request_tags(params, kind)
        context = {f"aws:RequestTag/{k}": [v] for k, v in wanted.items()}
        if "ec2:LaunchTemplate" in params:
            context["ec2:LaunchTemplate"] = [params["ec2:LaunchTemplate"]]
        yield Check(api, arn, {**context, "aws:TagKeys": list(wanted)})
        if wanted:
            yield Check("ec2:CreateTags", arn, {**context, "ec2:CreateAction": [action]})
        return
    if action in ("CreateTags", "DeleteTags"):
        keys = [v for k, v in params.items() if re.fullmatch(r"Tag\.\d+\.Key", k)]
        for k, rid in params.items():
            if re.fullmatch(r"ResourceId\.\d+", k):
                context = {**_resource_tags(tags.get(rid, {})), "aws:TagKeys": keys}
                yield Check(api, _arn(region, rid), context)
        return
    for rid, current in tags.items():
        yield Check(api, _arn(region, rid), _resource_tags(current))


def _matches(patterns: Any, value: str) -> bool:
    listed = [patterns] if isinstance(patterns, str) else patterns
    return any(fnmatch.fnmatchcase(value, p) for p in listed)


def _condition_holds(operator: str, key: str, expected: Any, context: dict[str, list[str]]) -> bool:
    values = context.get(key)
    wanted = [expected] if isinstance(expected, str) else list(expected)
    if operator in ("StringEquals", "ArnEquals"):
        return bool(values) and all(v in wanted for v in values or [])
    if operator == "ForAllValues:StringLike":
        return all(_matches(wanted, v) for v in values or [])
    if operator == "ForAnyValue:StringLike":
        return any(_matches(wanted, v) for v in values or [])
    raise AssertionError(f"the oracle does not know the operator {operator}")


def allows(document: dict[str, Any], check: Check) -> bool:
    """Whether an Allow statement of DOCUMENT admits CHECK (no Deny is consulted)."""
    for statement in document["Statement"]:
        if statement["Effect"] != "Allow" or not _matches(statement["Action"], check.action):
            continue
        if "NotResource" in statement:
            if _matches(statement["NotResource"], check.arn):
                continue
        elif not _matches(statement["Resource"], check.arn):
            continue
        conditions = statement.get("Condition", {})
        if all(
            _condition_holds(operator, key, expected, check.context)
            for operator, pairs in conditions.items()
            for key, expected in pairs.items()
        ):
            return True
    return False
