"""What a throwaway Knot DNS or PowerDNS server on loopback shares with `LocalBind`.

Each writes a temporary folder with its own config, a TSIG key (written as a BIND key file,
which is what `tsig_key_file` reads) and the zone, starts the daemon in the foreground, waits
until it answers the zone's SOA, and stops it on exit. `local_dns(kind)` picks one of the
three for the tests, the benchmark and `sandbox --dns`.
"""

from __future__ import annotations

import base64
import os
import secrets
import shutil
import subprocess
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Literal

from eipkeeper.dns.tsig import load_key
from eipkeeper.errors import OperationError
from eipkeeper.sandbox.bind import dns_table, free_port, soa_serial, stop_process, wait_answering

DnsKind = Literal["bind", "knot", "pdns"]
DNS_KINDS: tuple[DnsKind, ...] = ("bind", "knot", "pdns")
_START_TIMEOUT = 20.0


def program(name: str, hint: str) -> str:
    """The path of a daemon or tool; /usr/sbin is searched too, as it is often not on PATH."""
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/local/sbin:/sbin")
    if not found:
        raise OperationError(f"`{name}` is not installed: run `{hint}`")
    return found


def secret_of(key_file: Path) -> str:
    """The base64 secret of a BIND key file (a primary's), read by the one TSIG parser."""
    return base64.b64encode(load_key(key_file).secret).decode()


def zone_lines(zone: str, records: Iterable[str], *, serial: int = 1) -> list[str]:
    """The zone file: SOA with SERIAL, NS ns1 with glue 127.0.0.1, then RECORDS."""
    origin = zone + "."
    return [
        f"$ORIGIN {origin}",
        "$TTL 300",
        f"@ 300 IN SOA ns1.{origin} hostmaster.{origin} {serial} 3600 600 86400 60",
        f"@ 300 IN NS ns1.{origin}",
        "ns1 300 IN A 127.0.0.1",
        *records,
    ]


class LocalServer(ABC):
    """A primary for ZONE on 127.0.0.1:port with a TSIG key that may update and transfer it."""

    host = "127.0.0.1"
    kind: DnsKind
    daemon: str

    def __init__(
        self,
        zone: str = "example.test",
        *,
        records: Iterable[str] = (),
        port: int = 0,
        key_name: str = "eipkeeper-key",
        allow_update: bool = True,
        also_notify: Iterable[int] = (),
        serial: int = 1,
        workdir: Path | None = None,
    ) -> None:
        self.zone = zone.lower().rstrip(".")
        self.serial = serial
        self.port = port
        self.key_name = key_name
        self.secret = base64.b64encode(secrets.token_bytes(32)).decode()
        self._records = list(records)
        self._allow_update = allow_update
        self._also_notify = list(also_notify)
        self._own_dir = workdir is None
        self.dir = workdir or Path(tempfile.mkdtemp(prefix=f"eipkeeper-{self.kind}-"))
        self.key_file = self.dir / f"{key_name}.key"
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> LocalServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def server(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def log(self) -> Path:
        return self.dir / f"{self.kind}.log"

    def start(self) -> None:
        fd = os.open(self.key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(
                f'key "{self.key_name}" {{\n\talgorithm hmac-sha256;\n'
                f'\tsecret "{self.secret}";\n}};\n'
            )
        for attempt in range(3):
            if not self.port or attempt:
                self.port = free_port(self.host)
            argv = self.prepare()
            with self.log.open("wb") as out:
                self._process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
            if self._wait_ready():
                return
            self._terminate()
        raise OperationError(f"{self.daemon} did not start for {self.zone}: {self.log_tail()}")

    def stop(self) -> None:
        self._terminate()
        if self._own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def zone_text(self) -> str:
        return "\n".join(zone_lines(self.zone, self._records, serial=self.serial)) + "\n"

    @abstractmethod
    def prepare(self) -> list[str]:
        """Write the config and the zone for `self.port`; the daemon's argv."""

    def log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return " | ".join(text.strip().splitlines()[-lines:])

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

    def _wait_ready(self) -> bool:
        return self._process is not None and wait_answering(
            self._process, self.host, self.port, self.zone
        )

    def _terminate(self) -> None:
        process, self._process = self._process, None
        stop_process(process)
