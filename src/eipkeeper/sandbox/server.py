"""`Sandbox`: moto's server in this process, with the EC2 fixes, the sample fleet and the
SMTP data plane. No AWS account is needed to try or test eipkeeper.

moto keeps its state in process-wide backends, so one process runs one sandbox at a time;
each start resets moto's state, so a sandbox always starts fresh.
"""

from __future__ import annotations

import logging
import os
import shlex
import socket
import threading
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar

import boto3
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.ec2.models import ec2_backends
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from moto.server import ThreadedMotoServer
from werkzeug.serving import make_server

from eipkeeper.environment import CONFIG_ENV_VAR as ENV_VAR
from eipkeeper.environment import SANDBOX_MAIL_ENV_VAR as MAIL_ENV_VAR
from eipkeeper.errors import OperationError
from eipkeeper.logs import get_logger
from eipkeeper.sandbox import fixes, ptr, route53_fixes, sampleconfig, statechanges
from eipkeeper.sandbox import realism as realism_module
from eipkeeper.sandbox.dataplane import ControlPlaneView, observe_moto
from eipkeeper.sandbox.dnsbl import BLOCKLIST, DnsblAnswer, DnsblServer, answer, tagged_listed
from eipkeeper.sandbox.fleet import Clients, create_event_route, create_sample_fleet
from eipkeeper.sandbox.listeners import DataPlane, Unanswered
from eipkeeper.sandbox.smtp import Message

HOST = "127.0.0.1"
# Dummy credentials: moto accepts any; fixed values keep boto3 off the user's real ones.
ACCESS_KEY_ID = "sandbox"
SECRET_ACCESS_KEY = "sandbox"  # noqa: S105 -- not a secret, the sandbox accepts anything

log = get_logger(__name__)

INSTANT: dict[str, Any] = {"consistency_lag": (0.0, 0.0), "throttle": False}
"""`Sandbox(**INSTANT)`: an API that shows every write at once and never throttles, for tests
and benchmarks that say why they need it (SPEC.md section 7)."""

# One boto3 session for every sandbox of the process: it caches the service models, which take
# most of a second to load. Sessions are not thread-safe, hence the lock around client().
_session: boto3.session.Session | None = None
_session_lock = threading.Lock()


def _listen(port: int) -> socket.socket:
    """A listening socket on HOST:PORT, bound here so that a busy port is a clear error.

    werkzeug, left to bind by itself, prints to stderr and calls sys.exit in moto's thread,
    which leaves ThreadedMotoServer.start() waiting forever.
    """
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((HOST, port))
        listener.listen(128)
    except OSError as exc:
        listener.close()
        raise OperationError(
            f"cannot listen on {HOST}:{port}: {exc.strerror} (choose another with --port)"
        ) from None
    return listener


class _MotoServer(ThreadedMotoServer):
    """ThreadedMotoServer on a socket bound beforehand, stopping in milliseconds rather than
    werkzeug's default half-second poll."""

    def __init__(self, *, listener: socket.socket, realism: realism_module.Settings) -> None:
        host, port = listener.getsockname()[:2]
        super().__init__(ip_address=host, port=port, verbose=False)
        self._listener = listener
        self.realism = realism_module.Realism(
            DomainDispatcherApplication(create_backend_app), realism
        )

    def _server_entry(self) -> None:
        try:
            self._server = make_server(
                self._ip_address,
                self._port,
                self.realism,
                True,
                request_handler=MotoRequestHandler,
                fd=self._listener.fileno(),
            )
        finally:
            self._server_ready_event.set()  # start() must return even if that failed
        self._server.serve_forever(poll_interval=0.02)

    @property
    def serving(self) -> bool:
        return self._server is not None

    def stop(self) -> None:
        super().stop()
        if self._server is not None:
            self._server.server_close()
        self._listener.close()


class Sandbox:
    """The embedded cloud of SPEC.md section 7. Use as a context manager, or start()/stop().

    The constructor's defaults are the quick ones tests want (instances answer at once,
    unanswered addresses refuse, no stranger); `eipkeeper sandbox` passes SPEC.md's faithful
    ones (`boot_delay=20`, `unanswered="drop"`, `reuse_after=2`).
    """

    # moto's backends are process-wide: this is the one sandbox that owns them, if any.
    _running: ClassVar[Sandbox | None] = None
    _running_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(
        self,
        *,
        port: int = 0,
        association_delay: float = 2.0,
        smtp_port: int = 2525,
        empty: bool = False,
        region: str = "us-east-1",
        owner: str = "sandbox",
        data_plane: bool = True,
        events: bool = True,
        boot_delay: float = 0.0,
        unanswered: Unanswered = "refuse",
        reuse_after: float | None = None,
        queue_port: int | None = 8025,
        queue_drain_rate: float = 10.0,
        mail_port: int | None = 0,
        forward_dns: tuple[tuple[str, int], ...] = (),
        ptr_delay: float = 0.0,
        listed: int = 0,
        dnsbl_port: int = 0,
        consistency_lag: tuple[float, float] = (0.0, 3.0),
        throttle: bool = True,
        throttle_chance: float = 0.0,
    ) -> None:
        """DATA_PLANE False runs no SMTP listeners and EVENTS False publishes no state-change
        events: for benchmarks with thousands of instances.

        BOOT_DELAY: seconds from a launch or start to answering. UNANSWERED: what a connection
        to an address nobody answers gets, `drop` (a timeout, as on EC2) or `refuse`.
        REUSE_AFTER: seconds after which the stranger takes an address the account gave up
        (None: no stranger). QUEUE_PORT: where each instance answers `GET /queue-empty` (None:
        nowhere); its queue empties at QUEUE_DRAIN_RATE messages a second. MAIL_PORT: the
        mailboxes' JSON endpoint on 127.0.0.1 (0: a free port; None: none). FORWARD_DNS:
        (host, port) of DNS servers, besides moto's Route 53, that ModifyAddressAttribute
        checks forward names against (the local BIND of `--bind`); PTR_DELAY: seconds a reverse
        DNS change stays pending. LISTED: the blocklist `dnsbl.example.test` lists every
        LISTED-th address the account allocates (0: none), served on 127.0.0.1:DNSBL_PORT
        (0: a free port).

        CONSISTENCY_LAG, THROTTLE, THROTTLE_CHANCE: the API answers as EC2's does (lagging
        Describe calls, AWS's token buckets, that share of calls throttled besides; see
        `realism`); `consistency_lag=(0, 0), throttle=False` is the instant world.
        """
        self.settings = realism_module.Settings(
            lag=consistency_lag, throttle=throttle, throttle_chance=throttle_chance
        )
        self._requested_port = port
        self.data_plane = data_plane
        self.events = events
        self.association_delay = association_delay
        self.smtp_port = smtp_port
        self.empty = empty
        self.region = region
        self.owner = owner
        self.boot_delay = boot_delay
        self.unanswered: Unanswered = unanswered
        self.reuse_after = reuse_after
        self.queue_port = queue_port
        self.queue_drain_rate = queue_drain_rate
        self.mail_port = mail_port
        self.forward_dns = forward_dns
        self.ptr_delay = ptr_delay
        self.listed = listed
        self._dnsbl_port = dnsbl_port
        self._dnsbl: DnsblServer | None = None
        self._server: _MotoServer | None = None
        self._dataplane: DataPlane | None = None
        self._port: int | None = None
        self._events_queue_url = ""
        self.config_path: Path | None = None
        """Where write_config last wrote; EIPKEEPER_CONFIG in environment() once set."""

    # -- what users see -------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._port is None:
            raise OperationError("the sandbox is not running (call start() first)")
        return self._port

    @property
    def endpoint(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def events_queue_url(self) -> str:
        """The SQS queue an EventBridge rule for EC2 state-change notifications feeds."""
        if not self._events_queue_url:
            raise OperationError("the sandbox is not running (call start() first)")
        return self._events_queue_url

    @property
    def realism(self) -> realism_module.Realism:
        """The API's lag, idempotency and throttling; `realism.settings` may be changed."""
        if self._server is None:
            raise OperationError("the sandbox is not running (call start() first)")
        return self._server.realism

    @property
    def dataplane(self) -> DataPlane:
        if self._dataplane is None:
            raise OperationError("the sandbox is not running (call start() first)")
        return self._dataplane

    @property
    def dnsbl_address(self) -> str:
        """HOST:PORT of the blocklist's responder (the sample config's `reputation.resolver`)."""
        if self._dnsbl is None:
            raise OperationError("the sandbox is not running (call start() first)")
        return self._dnsbl.address

    def environment(self) -> dict[str, str]:
        """The variables that point boto3 and eipkeeper at this sandbox."""
        env = {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
            "AWS_DEFAULT_REGION": self.region,
        }
        if self.config_path is not None:
            env[ENV_VAR] = str(self.config_path)
        if self._dataplane is not None and self.mail_port is not None:
            env[MAIL_ENV_VAR] = self._dataplane.mail_url
        return env

    def mailboxes(self) -> dict[str, list[Message]]:
        """Holder (instance id, or `stranger`) -> the messages it accepted, oldest first."""
        return self.dataplane.mailboxes.snapshot()

    @property
    def mail_url(self) -> str:
        """The mailboxes as JSON over HTTP, for another process (EIPKEEPER_SANDBOX_MAIL)."""
        return self.dataplane.mail_url

    def export_lines(self) -> list[str]:
        """The lines to paste into a POSIX shell."""
        return [f"export {key}={shlex.quote(value)}" for key, value in self.environment().items()]

    def write_config(self, path: Path, *, dns: str | None = None) -> None:
        """A ready eipkeeper config for the sample fleet (it passes `eipkeeper.config.load`).

        DNS, when given, is a `[dns]` table to use instead of the sandbox's Route 53 zone
        (`LocalBind.config_toml()` for `--bind`).
        """
        text = sampleconfig.render(
            owner=self.owner,
            region=self.region,
            smtp_port=self.smtp_port,
            dns=dns,
            dnsbl=self.dnsbl_address,
        )
        sampleconfig.write(path, text)
        self.config_path = path.resolve()

    def client(self, service: str) -> Any:
        """A boto3 client for SERVICE against this sandbox, with the dummy credentials."""
        global _session  # noqa: PLW0603 -- a process-wide cache, filled once
        with _session_lock:
            if _session is None:
                _session = boto3.session.Session()
            return _session.client(
                service,  # type: ignore[call-overload]
                endpoint_url=self.endpoint,
                region_name=self.region,
                aws_access_key_id=ACCESS_KEY_ID,
                aws_secret_access_key=SECRET_ACCESS_KEY,
            )

    # -- life cycle -----------------------------------------------------------------------

    def start(self) -> None:
        with Sandbox._running_lock:
            other = Sandbox._running
            if other is not None:
                raise OperationError(
                    f"a sandbox already runs in this process at {other.endpoint} "
                    "(moto's state is process-wide: stop it first)"
                )
            Sandbox._running = self
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> None:
        statechanges.Switch.on = self.events
        fixes.POOL.begin_run()
        BLOCKLIST.reset(every=self.listed)
        self._dnsbl = DnsblServer(answer=self._dnsbl_answer, port=self._dnsbl_port).start()
        ptr.PtrSettings.delay = self.ptr_delay
        ptr.PtrSettings.forward_servers = self.forward_dns
        fixes.install()
        route53_fixes.install()
        # werkzeug logs every request at INFO on stderr; the sandbox's own events say enough.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        server = _MotoServer(listener=_listen(self._requested_port), realism=self.settings)
        self._server = server
        server.start()
        if not server.serving:
            raise OperationError(f"moto's server did not start on {HOST}:{self._requested_port}")
        self._port = int(server.get_host_and_port()[1])
        self._reset_moto()
        clients = Clients(
            ec2=self.client("ec2"),
            route53=self.client("route53"),
            sqs=self.client("sqs"),
            events=self.client("events"),
            cloudwatch=self.client("cloudwatch"),
        )
        if not self.empty:
            create_sample_fleet(clients, owner=self.owner)
        BLOCKLIST.counting = True  # the sample fleet's own addresses are clean
        # After the fleet, so the queue starts empty rather than full of launch events.
        self._events_queue_url = create_event_route(clients)
        # The sample fleet is the world as the user finds it: lag and limits start now.
        server.realism.enabled = True
        if self.data_plane:
            self._dataplane = DataPlane(
                observe=self._observe,
                port=self.smtp_port,
                association_delay=self.association_delay,
                boot_delay=self.boot_delay,
                reuse_after=self.reuse_after,
                unanswered=self.unanswered,
                queue_port=self.queue_port,
                queue_drain_rate=self.queue_drain_rate,
                mail_port=self.mail_port,
                stranger_took=fixes.POOL.taken_by_stranger,
            )
            self._dataplane.start()
        log.info(
            "sandbox.started",
            endpoint=self.endpoint,
            smtp_port=self.smtp_port,
            association_delay=self.association_delay,
            boot_delay=self.boot_delay,
            unanswered=self.unanswered,
            reuse_after=self.reuse_after,
            empty=self.empty,
        )

    def _reset_moto(self) -> None:
        url = f"{self.endpoint}/moto-api/reset"  # always http://127.0.0.1:PORT, our own server
        request = urllib.request.Request(url, method="POST")  # noqa: S310
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            response.read()

    def _observe(self) -> ControlPlaneView:
        # moto serves the account MOTO_ACCOUNT_ID names, if set, as it does for requests.
        account = os.environ.get("MOTO_ACCOUNT_ID") or DEFAULT_ACCOUNT_ID
        return observe_moto(ec2_backends[account][self.region], handed_out=fixes.POOL.handed_out())

    def _dnsbl_answer(self, public_ip: str) -> DnsblAnswer:
        account = os.environ.get("MOTO_ACCOUNT_ID") or DEFAULT_ACCOUNT_ID
        return answer(public_ip, tagged=lambda: tagged_listed(ec2_backends[account][self.region]))

    def stop(self) -> None:
        if self._dnsbl is not None:
            self._dnsbl.stop()
            self._dnsbl = None
        if self._dataplane is not None:
            self._dataplane.stop()
            self._dataplane = None
        if self._server is not None:
            self._server.stop()
            self._server = None
            log.info("sandbox.stopped", port=self._port)
        self._port = None
        self._events_queue_url = ""
        with Sandbox._running_lock:
            if Sandbox._running is self:
                Sandbox._running = None

    def __enter__(self) -> Sandbox:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
