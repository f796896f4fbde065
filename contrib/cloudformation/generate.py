"""Write eipkeeper's role policy into the CloudFormation template, for one config.

    python contrib/cloudformation/generate.py --config eipkeeper.toml > stack.yaml
    python contrib/cloudformation/generate.py --check   # is eipkeeper.yaml up to date?

The statements are `eipkeeper iam-policy`'s, from the same code (eipkeeper.cloud.iam); the
SQS and DynamoDB statements name the queue and the table the stack creates. Everything
outside the marked block of the template is kept as written.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from eipkeeper import config as config_module
from eipkeeper.cloud import iam
from eipkeeper.cloud.iam_facts import Template, configured_templates

HERE = Path(__file__).resolve().parent
TEMPLATE = HERE / "eipkeeper.yaml"
EXAMPLE = HERE / "example.toml"
BEGIN = "# BEGIN iam-policy (generate.py writes this block; do not edit)"
END = "# END iam-policy"
# Stand-ins for the ARNs of the stack's own queue and table, replaced by GetAtt.
_QUEUE = "arn:aws:sqs:stack:000000000000:events-queue"
_TABLE = "arn:aws:dynamodb:stack:000000000000:table/lease"
# Stand-ins for the burst launch template and its instance profile's role, replaced by the
# stack's parameters (the template is the operator's, not the stack's).
_TEMPLATE = "arn:aws:ec2:stack:000000000000:launch-template/lt-burst"
_ROLE = "arn:aws:iam::000000000000:role/burst-instance"
_ATTS = {
    _QUEUE: {"Fn::GetAtt": ["EventsQueue", "Arn"]},
    _TABLE: {"Fn::GetAtt": ["LeaseTable", "Arn"]},
    _TEMPLATE: {"Ref": "BurstLaunchTemplateArn"},
    _ROLE: {"Ref": "BurstInstanceRoleArn"},
}


def _resolve(value: Any) -> Any:
    if isinstance(value, str):
        return _ATTS.get(value, value)
    if isinstance(value, list):
        return [_resolve(v) for v in value]
    if isinstance(value, dict):
        return {k: _resolve(v) for k, v in value.items()}
    return value


def policy_block(config_path: Path, indent: str) -> list[str]:
    config = config_module.load(config_path)
    templates = {n: Template(n, _TEMPLATE, (_ROLE,)) for n in configured_templates(config)}
    document = _resolve(
        iam.policy(config, events_queue=_QUEUE, lease_table=_TABLE, templates=templates)
    )
    # JSON is YAML: the block reads as `eipkeeper iam-policy` prints it.
    text = json.dumps(document, indent=2)
    return [indent + line for line in text.splitlines()]


def render(config_path: Path, template: str) -> str:
    lines = template.splitlines()
    start = next(n for n, line in enumerate(lines) if line.strip() == BEGIN)
    end = next(n for n, line in enumerate(lines) if line.strip() == END)
    indent = lines[start][: len(lines[start]) - len(lines[start].lstrip())]
    generated = [lines[start], *policy_block(config_path, indent), lines[end]]
    return "\n".join([*lines[:start], *generated, *lines[end + 1 :]]) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=EXAMPLE, help="default: example.toml")
    parser.add_argument("--template", type=Path, default=TEMPLATE)
    parser.add_argument("--check", action="store_true", help="exit 1 when the file is stale")
    parser.add_argument("--write", action="store_true", help="rewrite the template in place")
    args = parser.parse_args()
    current = args.template.read_text()
    rendered = render(args.config, current)
    if args.check:
        if rendered != current:
            print(f"{args.template} is stale: run {Path(__file__).name} --write", file=sys.stderr)
            return 1
        return 0
    if args.write:
        args.template.write_text(rendered)
    else:
        sys.stdout.write(rendered)
    return 0


if __name__ == "__main__":
    sys.exit(main())
