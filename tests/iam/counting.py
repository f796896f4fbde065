"""`python -m tests.iam.counting ARGS`: the eipkeeper CLI, exactly as `python -m eipkeeper ARGS`
runs it, with every AWS call it makes counted by eipkeeper's own call counter and written, as
JSON `{"service:Operation": count}`, to $EIPKEEPER_CALLS_FILE when the process exits.

Every `AwsSession` of the process shares one counter; clients made outside `AwsSession`
(the Route 53 provider takes boto3's default session) get the same botocore hook the
counter's own clients get. Nothing is faked: the calls go to the sandbox as usual.
"""

from __future__ import annotations

import atexit
import json
import os
from pathlib import Path
from typing import Any

import boto3

from eipkeeper.cloud import aws

ENV_VAR = "EIPKEEPER_CALLS_FILE"


def main() -> None:
    counter = aws.CallCounter()
    setattr(aws, "CallCounter", lambda: counter)  # noqa: B010 -- every session shares it

    def count(model: Any, **_: Any) -> None:
        counter.record(f"{model.service_model.service_name}:{model.name}")

    boto3.setup_default_session()
    assert boto3.DEFAULT_SESSION is not None
    boto3.DEFAULT_SESSION.events.register("before-call.*.*", count)

    out = Path(os.environ[ENV_VAR])
    atexit.register(lambda: out.write_text(json.dumps(counter.snapshot())))

    from eipkeeper.cli.main import main as cli_main

    cli_main()


if __name__ == "__main__":
    main()
