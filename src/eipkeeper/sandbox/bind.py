"""A throwaway BIND server on a loopback port, for the tests, the benchmark and `sandbox --bind`.

`LocalBind` writes a temporary folder with a named.conf, a TSIG key made by `tsig-keygen` and a
zone file, starts `named` in the foreground, waits until it answers the zone's SOA and stops it
on exit. The zone takes TSIG-signed updates (`update-policy { grant KEY zonesub ANY; }`) and
TSIG-signed transfers, exactly what the rfc2136 provider needs.

Propagation checks and NS records: the zone's NS is `ns1.<zone>` with the address 127.0.0.1,
but this server listens on a random high port, so asking "every NS of the zone" on port 53 would
reach nothing. The config written by `config_toml()` therefore names the server explicitly in
`verify_servers` ("127.0.0.1:PORT"); a secondary started with `primary=` is another such entry.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Protocol

import dns.exception
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype

from eipkeeper.errors import OperationError

INSTALL_HINT = "apt-get install bind9 bind9-utils"
_START_TIMEOUT = 20.0


def find_program(name: str) -> str:
    """The path of a BIND program; /usr/sbin is searched too, as it is often not on PATH."""
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/local/sbin:/sbin")
    if not found:
        raise OperationError(f"BIND's `{name}` is not installed: run `{INSTALL_HINT}`")
    return found


def free_port(host: str = "127.0.0.1") -> int:
    """A port free for both TCP and UDP on HOST (named listens on both)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind((host, 0))
            port = int(tcp.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind((host, port))
                except OSError:
                    continue
                return port
    raise OperationError("no free loopback port for named")


def spawn_named(conf: Path, log: Path) -> subprocess.Popen[bytes]:
    """`named -g` with CONF, in the foreground, its output in LOG. As root it stays root:
    named would drop to user `bind`, who cannot write in a temporary folder."""
    argv = [find_program("named"), "-c", str(conf), "-g"]
    if os.geteuid() == 0:
        argv += ["-u", "root"]
    with log.open("wb") as out:
        return subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)


class Primary(Protocol):
    """What a secondary needs of its primary (a LocalBind, LocalKnot or LocalPdns)."""

    host: str
    port: int
    key_name: str
    key_file: Path


class LocalBind:
    """A BIND primary (or, with `primary=`, a secondary of one) for ZONE on 127.0.0.1:port."""

    host = "127.0.0.1"

    def __init__(
        self,
        zone: str = "example.test",
        *,
        records: Iterable[str] = (),
        port: int = 0,
        key_name: str = "eipkeeper-key",
        primary: Primary | None = None,
        also_notify: Iterable[int] = (),
        allow_update: bool = True,
        allow_transfer: bool = True,
        workdir: Path | None = None,
    ) -> None:
        """RECORDS are zone-file lines relative to the zone (`mx1 300 IN A 127.0.0.10`).

        A secondary (`primary=` another LocalBind) shares the primary's key and transfers the
        zone from it; list the secondary's port in the primary's `also_notify` so that it hears
        of changes at once (fix the port up front with `free_port()`). `allow_update` and
        `allow_transfer` False make the server refuse UPDATE and AXFR (for error tests).
        """
        self.zone = zone.lower().rstrip(".")
        self.port = port
        self.primary = primary
        self.key_name: str = primary.key_name if primary else key_name
        self._records = list(records)
        self._also_notify = list(also_notify)
        self._allow_update = allow_update
        self._allow_transfer = allow_transfer
        self._own_dir = workdir is None
        self.dir = workdir or Path(tempfile.mkdtemp(prefix="eipkeeper-bind-"))
        self.key_file = self.dir / f"{self.key_name}.key"
        self._process: subprocess.Popen[bytes] | None = None

    # -- lifecycle ------------------------------------------------------------------------

    def __enter__(self) -> LocalBind:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        self._write_key()
        self._write_zone()
        # A port picked free may be taken before named binds it: pick again a few times.
        for attempt in range(3):
            if not self.port or attempt:
                self.port = free_port(self.host)
            (self.dir / "named.conf").write_text(self._named_conf(), encoding="utf-8")
            self._process = spawn_named(self.dir / "named.conf", self.dir / "named.log")
            if self._wait_ready():
                return
            self._terminate()
            if "address in use" not in self.log_tail():
                break
        raise OperationError(f"named did not start for {self.zone}: {self.log_tail()}")

    def stop(self) -> None:
        self._terminate()
        if self._own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def kill(self) -> None:
        """Stop named but keep the folder: the server is gone, as after a crash."""
        self._terminate()

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def log_tail(self, lines: int = 15) -> str:
        try:
            text = (self.dir / "named.log").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return " | ".join(text.strip().splitlines()[-lines:])

    # -- what callers need --------------------------------------------------------------------

    @property
    def server(self) -> str:
        """`host:port`, as `verify_servers` takes it."""
        return f"{self.host}:{self.port}"

    def config_toml(self, *, verify: Iterable[str] = ()) -> str:
        """The `[dns]` table of an eipkeeper config that points at this server."""
        return dns_table(
            zone=self.zone,
            host=self.host,
            port=self.port,
            key_file=self.key_file,
            verify=[self.server, *verify],
        )

    def soa_serial(self) -> int:
        return soa_serial(self.host, self.port, self.zone)

    # -- files ----------------------------------------------------------------------------------

    def _write_key(self) -> None:
        if self.primary is not None:
            text = self.primary.key_file.read_text(encoding="utf-8")
        else:
            keygen = find_program("tsig-keygen")
            done = subprocess.run(
                [keygen, "-a", "hmac-sha256", self.key_name],
                capture_output=True,
                check=False,
            )
            if done.returncode != 0:
                raise OperationError(f"tsig-keygen failed: {done.stderr.decode().strip()}")
            text = done.stdout.decode()
        # A TSIG secret is readable by its owner only, as the provider expects.
        fd = os.open(self.key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)

    def _write_zone(self) -> None:
        if self.primary is not None:
            return  # a secondary gets its data by transfer
        origin = self.zone + "."
        head = [
            f"$ORIGIN {origin}",
            "$TTL 300",
            f"@ IN SOA ns1.{origin} hostmaster.{origin} 1 3600 600 86400 60",
            f"@ IN NS ns1.{origin}",
            "ns1 IN A 127.0.0.1",
        ]
        text = "\n".join([*head, *self._records]) + "\n"
        (self.dir / "zone.db").write_text(text, encoding="utf-8")

    def _named_conf(self) -> str:
        d = self.dir
        transfer = f'key "{self.key_name}";' if self._allow_transfer else "none;"
        options = f"""options {{
    directory "{d}";
    pid-file "{d}/named.pid";
    session-keyfile "{d}/session.key";
    managed-keys-directory "{d}";
    listen-on port {self.port} {{ {self.host}; }};
    listen-on-v6 {{ none; }};
    recursion no;
    dnssec-validation no;
    allow-transfer {{ {transfer} }};
    notify explicit;
}};
controls {{ }};
include "{self.key_file}";
"""
        if self.primary is not None:
            zone = f"""zone "{self.zone}" {{
    type secondary;
    file "{d}/zone.db";
    primaries {{ {self.primary.host} port {self.primary.port} key "{self.key_name}"; }};
}};
"""
        else:
            notify = "".join(f"{self.host} port {p}; " for p in self._also_notify)
            also = f"    also-notify {{ {notify}}};\n" if notify else ""
            grant = f'    update-policy {{ grant "{self.key_name}" zonesub ANY; }};\n'
            policy = grant if self._allow_update else ""
            zone = f"""zone "{self.zone}" {{
    type primary;
    file "{d}/zone.db";
{policy}{also}}};
"""
        return options + zone

    # -- process --------------------------------------------------------------------------------

    def _wait_ready(self) -> bool:
        return self._process is not None and wait_answering(
            self._process, self.host, self.port, self.zone
        )

    def _terminate(self) -> None:
        process, self._process = self._process, None
        stop_process(process)


def dns_table(*, zone: str, host: str, port: int, key_file: Path, verify: Iterable[str]) -> str:
    """The `[dns]` table of an eipkeeper config that points at a local server (any kind);
    VERIFY lists the servers to confirm on, this one first."""
    listed = ", ".join(f'"{s}"' for s in verify)
    return (
        "[dns]\n"
        'provider = "rfc2136"\n'
        f'zone = "{zone}"\n'
        f'server = "{host}"\n'
        f"port = {port}\n"
        f'tsig_key_file = "{key_file}"\n'
        f"verify_servers = [{listed}]\n"
    )


def soa_serial(host: str, port: int, zone: str) -> int:
    query = dns.message.make_query(zone + ".", dns.rdatatype.SOA)
    answer = dns.query.udp(query, host, port=port, timeout=2.0)
    return int(answer.answer[0][0].serial)


def wait_answering(process: subprocess.Popen[bytes], host: str, port: int, zone: str) -> bool:
    """Whether a DNS server just started answers ZONE's SOA before _START_TIMEOUT (False as
    soon as its process ends: a port taken, a bad config)."""
    deadline = time.monotonic() + _START_TIMEOUT
    query = dns.message.make_query(zone + ".", dns.rdatatype.SOA)
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        with contextlib.suppress(dns.exception.DNSException, OSError):
            answer = dns.query.udp(query, host, port=port, timeout=0.2)
            if answer.rcode() == dns.rcode.NOERROR and answer.answer:
                return True
        time.sleep(0.02)
    return False


def stop_process(process: subprocess.Popen[bytes] | None) -> None:
    """SIGTERM, then SIGKILL after 10 s."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
