"""boto3 clients with botocore's retry modes, call counting, and errors the user can act on.

Every client comes from `AwsSession`, which registers one event hook per client so that each
API call is counted by operation (metrics and benchmarks report these counts) and which
turns botocore's exceptions into the eipkeeper exception family.
"""

from __future__ import annotations

import os
import re
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import botocore.exceptions
import botocore.parsers
from botocore.config import Config as BotoConfig

from eipkeeper.cloud.limits import Limiter
from eipkeeper.errors import (
    ConfigError,
    ConflictError,
    EipkeeperError,
    NotFoundError,
    OperationError,
    PermissionDeniedError,
    TransientError,
)

# standard mode retries throttling and 5xx with exponential back-off and jitter, within a
# token bucket, which is what AWS asks of clients (FACTS.md: EC2 throttling); in front of it,
# a limiter sized from AWS's buckets keeps eipkeeper from being throttled by itself.
MAX_ATTEMPTS = 5

_THROTTLING = {
    "RequestLimitExceeded",
    "Throttling",
    "ThrottlingException",
    "TooManyRequestsException",
    "PriorRequestNotComplete",
    "RequestThrottled",
    "ServiceUnavailable",
    "InternalError",
    "InternalFailure",
}
_PERMISSION = {"UnauthorizedOperation", "AccessDenied", "AccessDeniedException"}
_CREDENTIALS = {"AuthFailure", "InvalidClientTokenId", "SignatureDoesNotMatch"}
# Resources only ever named by the config or the command line (the lease table, the events
# queue): their absence is a configuration error (exit 2), not a failed operation.
_CONFIGURED_MISSING = {
    "ResourceNotFoundException",
    "AWS.SimpleQueueService.NonExistentQueue",
    "QueueDoesNotExist",
}
_NOT_FOUND_SUFFIX = (".NotFound", ".Malformed", "NoSuchHostedZone", "NotFound")

SANDBOX_HINT = (
    "to try eipkeeper without an AWS account, run `eipkeeper sandbox` and paste its exports"
)


class CallCounter:
    """API calls made, by `service:Operation`. Thread-safe: `run` checks in threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def record(self, key: str) -> None:
        with self._lock:
            self._counts[key] += 1

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def total(self, *, writes_only: bool = False) -> int:
        with self._lock:
            return sum(n for k, n in self._counts.items() if not writes_only or is_write(k))


def is_write(key: str) -> bool:
    """A mutating call, by AWS's naming: anything that is not Describe/List/Get."""
    operation = key.split(":", 1)[-1]
    return not operation.startswith(("Describe", "List", "Get", "Receive"))


class AwsSession:
    """One boto3 session; the clients it makes share the counter and the retry policy."""

    def __init__(
        self,
        *,
        region: str | None = None,
        counter: CallCounter | None = None,
        connect_timeout: float = 5.0,
        read_timeout: float = 20.0,
        max_attempts: int = MAX_ATTEMPTS,
        endpoint_url: str | None = None,
        credentials: tuple[str, str] | None = None,
        limiter: Limiter | None = None,
    ) -> None:
        """REGION: `--region`, else the config's `region`, else (None) the AWS chain
        (AWS_DEFAULT_REGION, ~/.aws/config). ENDPOINT_URL and CREDENTIALS are for tests that
        reach a sandbox without exporting its environment; users set AWS_ENDPOINT_URL."""
        self.counter = counter or CallCounter()
        self.max_attempts = max_attempts
        self.limiter = limiter or Limiter()
        """AWS's buckets on this side (cloud/limits.py says why not botocore's adaptive)."""
        self.throttled = CallCounter()
        """Throttling answers botocore retried, by `service:Operation`."""
        key, secret = credentials or (None, None)
        try:
            self._session = boto3.session.Session(
                region_name=region or None, aws_access_key_id=key, aws_secret_access_key=secret
            )
        except botocore.exceptions.BotoCoreError as exc:
            # A broken ~/.aws/config or an unknown AWS_PROFILE: the user's configuration.
            raise ConfigError(f"AWS configuration: {exc}") from None
        self._endpoint_url = endpoint_url
        self._config = BotoConfig(
            retries={"mode": "standard", "total_max_attempts": max_attempts},
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
        )
        self._once = self._config.merge(
            BotoConfig(retries={"mode": "standard", "total_max_attempts": 1})
        )
        self._clients: dict[str, Any] = {}

    @property
    def region(self) -> str:
        return self._session.region_name or ""

    def check_region(self) -> None:
        """ConfigError unless the region is one AWS could have (before a client is made)."""
        _check_region(self._session)

    def account(self) -> str:
        """The account the credentials act in (STS GetCallerIdentity, which needs no
        permission): ownership records name it (S10)."""
        with aws_errors("GetCallerIdentity"):
            return str(self.client("sts").get_caller_identity().get("Account", ""))

    @property
    def endpoint(self) -> str:
        return self._endpoint_url or os.environ.get("AWS_ENDPOINT_URL", "")

    def client(self, service: str, *, retries: bool = True) -> Any:
        """SERVICE's client; RETRIES False: one attempt per call, for a write whose outcome
        must be read back before it is made again (AllocateAddress has no ClientToken)."""
        key = service if retries else f"{service}:once"
        if key not in self._clients:
            if not self._session.region_name:
                raise ConfigError(
                    "no AWS region: set `region` in the config, pass --region, "
                    f"or set AWS_DEFAULT_REGION ({SANDBOX_HINT})"
                )
            _check_region(self._session)
            with aws_errors(f"{service} client"):
                try:
                    client = self._session.client(  # type: ignore[call-overload]
                        service,
                        config=self._config if retries else self._once,
                        endpoint_url=self._endpoint_url,
                    )
                except ValueError as exc:  # botocore's "Invalid endpoint: ..."
                    raise ConfigError(
                        f"{exc} (AWS_ENDPOINT_URL should look like http://127.0.0.1:5000)"
                    ) from None
            client.meta.events.register("before-call.*.*", self._count)
            client.meta.events.register("needs-retry.*.*", self._note_throttle)
            self._clients[key] = client
        return self._clients[key]

    def _count(self, model: Any, params: Any = None, **_: Any) -> None:
        service = model.service_model.service_name
        self.counter.record(f"{service}:{model.name}")
        body = params.get("body") if isinstance(params, dict) else None
        self.limiter.acquire(service, model.name, body if isinstance(body, dict) else {})

    def _note_throttle(self, response: Any = None, operation: Any = None, **_: Any) -> None:
        if not response or operation is None:
            return
        code = str((response[1] or {}).get("Error", {}).get("Code", ""))
        if code in _THROTTLING:
            self.throttled.record(f"{operation.service_model.service_name}:{operation.name}")


# The shape of every AWS region name (us-east-1, eu-central-2, us-gov-west-1, cn-north-1,
# us-isob-east-1): a region newer than this botocore still passes; a typo does not.
_REGION_SHAPE = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$")


def _check_region(session: boto3.session.Session) -> None:
    region = session.region_name or ""
    if _REGION_SHAPE.match(region):
        return
    known: set[str] = set()
    for partition in session.get_available_partitions():
        known.update(session.get_available_regions("ec2", partition_name=partition))
    if region in known:
        return
    raise ConfigError(
        f"{region!r} is not an AWS region (e.g. us-east-1, eu-west-1); "
        "it comes from --region, the config's `region` or AWS_DEFAULT_REGION, in that order"
    )


def is_throttling(code: str) -> bool:
    """AWS said no before doing anything: the call may be made again as it was."""
    return code in _THROTTLING


def error_code(exc: botocore.exceptions.ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


@contextmanager
def aws_errors(action: str) -> Iterator[None]:
    """Turn what botocore raises while doing ACTION into one line the user can act on."""
    try:
        yield
    except EipkeeperError:
        raise
    except Exception as exc:
        known = translate_any(exc, action)
        if known is None:
            raise
        raise known from exc


_CONFIGURATION = (
    botocore.exceptions.NoRegionError,
    botocore.exceptions.InvalidRegionError,
    botocore.exceptions.ProfileNotFound,
    botocore.exceptions.PartialCredentialsError,
    botocore.exceptions.InvalidConfigError,
    botocore.exceptions.UnknownCredentialError,
    botocore.exceptions.InvalidEndpointConfigurationError,
)
_UNREACHABLE = (
    botocore.exceptions.EndpointConnectionError,
    botocore.exceptions.ConnectTimeoutError,
    botocore.exceptions.ReadTimeoutError,
    botocore.exceptions.ConnectionClosedError,
    botocore.exceptions.ProxyConnectionError,
)


def translate_any(exc: BaseException, action: str) -> EipkeeperError | None:
    """The eipkeeper error for what botocore raised while doing ACTION; None if not botocore's."""
    where = os.environ.get("AWS_ENDPOINT_URL") or "AWS"
    if isinstance(exc, botocore.exceptions.ClientError):
        return translate(exc, action)
    if isinstance(exc, botocore.exceptions.NoCredentialsError):
        return ConfigError(f"{action}: no AWS credentials found ({SANDBOX_HINT})")
    if isinstance(exc, botocore.exceptions.NoRegionError):
        return ConfigError(
            f"{action}: no AWS region: set `region` in the config, pass --region, "
            f"or set AWS_DEFAULT_REGION ({SANDBOX_HINT})"
        )
    if isinstance(exc, _CONFIGURATION):
        return ConfigError(f"{action}: {exc}")
    if isinstance(exc, _UNREACHABLE):
        return TransientError(f"{action}: {where} did not answer ({type(exc).__name__})")
    if isinstance(exc, botocore.exceptions.SSLError):
        return OperationError(f"{action}: TLS with {where} failed: {exc}")
    if isinstance(exc, botocore.parsers.ResponseParserError | botocore.exceptions.HTTPClientError):
        # Something answered, but not as AWS does: a web server, a proxy's error page.
        return ConfigError(
            f"{action}: {where} did not answer as AWS does ({type(exc).__name__}); "
            "is AWS_ENDPOINT_URL right?"
        )
    if isinstance(exc, botocore.exceptions.BotoCoreError):
        return OperationError(f"{action}: {exc}")
    return None


def where_text() -> str:
    return os.environ.get("AWS_ENDPOINT_URL") or "AWS"


def translate(exc: botocore.exceptions.ClientError, action: str) -> EipkeeperError:
    code = error_code(exc)
    message = str(exc.response.get("Error", {}).get("Message", "")) or code
    text = f"{action}: {message} ({code})"
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    if status >= 500 and (code.isdigit() or not code):
        return TransientError(f"{action}: {where_text()} answered HTTP {status}, retries used up")
    if code.isdigit() or not code:
        # AWS names every error; a bare HTTP status is a web server or a proxy answering.
        return ConfigError(
            f"{action}: {where_text()} did not answer as AWS does (HTTP {code or '?'}: {message}); "
            "is AWS_ENDPOINT_URL right?"
        )
    if code in _THROTTLING:
        return TransientError(
            f"{action}: AWS is throttling or unavailable, retries used up ({code})"
        )
    if code in _PERMISSION:
        return PermissionDeniedError(
            f"{action}: not permitted ({code}); `eipkeeper iam-policy` prints the policy it needs"
        )
    if code in _CREDENTIALS:
        return ConfigError(f"{action}: AWS rejected the credentials ({code}); {SANDBOX_HINT}")
    if code == "AddressLimitExceeded":
        return OperationError(
            f"{action}: the account's Elastic IP quota is used up ({code}); release an idle "
            "address (`eipkeeper audit` lists them) or ask AWS for a higher quota"
        )
    if code in _CONFIGURED_MISSING:
        return ConfigError(f"{action}: does not exist ({code}: {message})")
    if code in {"Resource.AlreadyAssociated", "InvalidIPAddress.InUse"}:
        return ConflictError(text)
    if code.endswith(_NOT_FOUND_SUFFIX):
        return NotFoundError(text)
    return OperationError(text)
