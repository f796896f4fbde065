"""Real peers for the probes: SpamAssassin's spamd (plain, TLS, TLS with client certificates)
and a tiny HTTP server, all on loopback. Certificates are made here with `cryptography`."""

from __future__ import annotations

import contextlib
import datetime
import http.server
import os
import shutil
import signal
import socket
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, TypeVar

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from eipkeeper.sandbox.bind import free_port
from tests.support import waiting

SPAMD_START_DEADLINE = 60.0


# -- certificates ------------------------------------------------------------------------


@dataclass(frozen=True)
class Pki:
    """A CA, a server certificate it signed (CN spamd-test) and a client one (CN client)."""

    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    stranger_cert: Path
    """A client certificate from another CA: spamd must turn it away."""
    stranger_key: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _issue(
    *,
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: x509.Name | None = None,
    issuer_key: ec.EllipticCurvePrivateKey | None = None,
    ca: bool = False,
) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer or _name(subject))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    return builder.sign(issuer_key or key, hashes.SHA256())


def _write(
    folder: Path, stem: str, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey
) -> None:
    (folder / f"{stem}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / f"{stem}.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    folder = tmp_path_factory.mktemp("pki")
    ca_key, other_key = (
        ec.generate_private_key(ec.SECP256R1()),
        ec.generate_private_key(ec.SECP256R1()),
    )
    ca = _issue(subject="test-ca", key=ca_key, ca=True)
    other_ca = _issue(subject="other-ca", key=other_key, ca=True)
    _write(folder, "ca", ca, ca_key)
    for stem, common_name, issuer, issuer_key in (
        ("server", "spamd-test", ca, ca_key),
        ("client", "client", ca, ca_key),
        ("stranger", "stranger", other_ca, other_key),
    ):
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _issue(subject=common_name, key=key, issuer=issuer.subject, issuer_key=issuer_key)
        _write(folder, stem, cert, key)
    return Pki(
        ca=folder / "ca.pem",
        server_cert=folder / "server.pem",
        server_key=folder / "server.key",
        client_cert=folder / "client.pem",
        client_key=folder / "client.key",
        stranger_cert=folder / "stranger.pem",
        stranger_key=folder / "stranger.key",
    )


# -- spamd -------------------------------------------------------------------------------


def spamd_binary() -> str:
    found = shutil.which("spamd") or shutil.which("spamd", path="/usr/sbin:/usr/local/sbin")
    if found is None:
        pytest.fail(
            "SpamAssassin's spamd is not installed: run `apt-get install spamd` as root "
            "(`make test` installs it)"
        )
    return found


@dataclass(frozen=True)
class Spamd:
    port: int
    log: Path


def _pong(port: int, *, tls: bool) -> bool:
    """Whether spamd is up: a plain PING for a plain server, a TLS handshake for a TLS one."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0) as conn:
            if tls:
                return True  # listening is enough here; the tests themselves speak TLS
            conn.sendall(b"PING SPAMC/1.5\r\n\r\n")
            return b"PONG" in conn.recv(100)
    except OSError:
        return False


def _run_spamd(folder: Path, *extra: str, tls: bool = False) -> Iterator[Spamd]:
    port = free_port()
    log = folder / f"spamd-{port}.log"
    argv = [spamd_binary(), "-i", "127.0.0.1", "-p", str(port), "--syslog=stderr", "-m", "1"]
    if os.geteuid() == 0:
        argv += ["-u", "nobody"]  # spamd refuses to run its children as root
    with log.open("wb") as out:
        # A session of its own, so that stopping it reaches its children too.
        process = subprocess.Popen(
            [*argv, *extra], stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:

        def up() -> bool:
            if process.poll() is not None:
                pytest.fail(f"spamd exited on port {port}:\n{log.read_text()[-2000:]}")
            return _pong(port, tls=tls)

        try:
            waiting.eventually(up, what=f"spamd on port {port}", deadline=SPAMD_START_DEADLINE)
        except AssertionError:
            pytest.fail(f"spamd did not start on port {port}:\n{log.read_text()[-2000:]}")
        yield Spamd(port=port, log=log)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@pytest.fixture(scope="session")
def spamd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Spamd]:
    yield from _run_spamd(tmp_path_factory.mktemp("spamd"))


@pytest.fixture(scope="session")
def spamd_tls(tmp_path_factory: pytest.TempPathFactory, pki: Pki) -> Iterator[Spamd]:
    folder = tmp_path_factory.mktemp("spamd-tls")
    yield from _run_spamd(
        folder,
        "--ssl",
        "--server-key",
        str(pki.server_key),
        "--server-cert",
        str(pki.server_cert),
        tls=True,
    )


@pytest.fixture(scope="session")
def spamd_client_certs(tmp_path_factory: pytest.TempPathFactory, pki: Pki) -> Iterator[Spamd]:
    """spamd --ssl-verify: only clients with a certificate from our CA get an answer."""
    folder = tmp_path_factory.mktemp("spamd-verify")
    yield from _run_spamd(
        folder,
        "--ssl",
        "--server-key",
        str(pki.server_key),
        "--server-cert",
        str(pki.server_cert),
        "--ssl-verify",
        "--ssl-ca-file",
        str(pki.ca),
        tls=True,
    )


# -- http --------------------------------------------------------------------------------


class _Handler(http.server.BaseHTTPRequestHandler):
    """`/ok` 200, `/moved` 301, `/broken` 500, anything else 404."""

    STATUS: ClassVar[dict[str, int]] = {"/ok": 200, "/moved": 301, "/broken": 500}

    def do_GET(self) -> None:
        status = self.STATUS.get(self.path, 404)
        self.send_response(status)
        if status == 301:
            self.send_header("Location", "/ok")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="session")
def http_port() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


# -- scripted peers and waiting ------------------------------------------------------------


@contextlib.contextmanager
def scripted_server(*replies: bytes, speak_first: bool = True) -> Iterator[int]:
    """A loopback server that answers each connection with REPLIES in turn: the first at once
    (when SPEAK_FIRST), each next one after a line from the client. Yields its port."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    stop = threading.Event()

    def serve(conn: socket.socket) -> None:
        with conn, conn.makefile("rb") as lines:
            script = list(replies)
            if speak_first and script:
                conn.sendall(script.pop(0))
            while script and lines.readline():
                conn.sendall(script.pop(0))

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        stop.set()
        thread.join()
        listener.close()


@contextlib.contextmanager
def silent_server() -> Iterator[int]:
    """A port whose connections are accepted by the kernel and never answered."""
    listener = socket.create_server(("127.0.0.1", 0), backlog=64)
    try:
        yield int(listener.getsockname()[1])
    finally:
        listener.close()


T = TypeVar("T")


def eventually(probe: Callable[[], T | None], *, what: str, deadline: float = 30.0) -> T:
    """PROBE's first truthy answer (the tests' one wait helper)."""
    return waiting.eventually(probe, what=what, deadline=deadline)
