"""A sender's caching resolver: a second `named` on port 53 of a loopback address of its own,
forwarding only to the sandbox's BIND (FACTS.md, "A real MTA on this machine").

Port 53 because the resolver library reads only `nameserver ADDRESS` from resolv.conf, no port.
The address is a fresh 127.53.x.y added to `lo` for the resolver's life (named binds only
addresses an interface carries), so that two scenarios running at once, or a resolver already on
127.0.0.1:53, never collide; it is removed at the end. It caches every answer for its TTL, as a
sender's resolver does: that is what keeps a stale address alive after the zone changed.
"""

from __future__ import annotations

import contextlib
import random
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

import dns.exception
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype

from eipkeeper.sandbox.bind import spawn_named

_START_TIMEOUT = 20.0


def _ip(*args: str) -> subprocess.CompletedProcess[str]:
    ip = shutil.which("ip") or shutil.which("ip", path="/usr/sbin:/sbin")
    if not ip:
        raise RuntimeError("the `ip` command is missing (apt-get install iproute2)")
    return subprocess.run([ip, *args], capture_output=True, text=True, timeout=10, check=False)


class Resolver:
    """`named` forwarding only to UPSTREAM (host, port), listening on ADDRESS:53."""

    def __init__(self, *, upstream: tuple[str, int], probe_name: str) -> None:
        self.upstream = upstream
        self.probe_name = probe_name
        self.address = ""
        self.dir = Path(tempfile.mkdtemp(prefix="eipkeeper-resolver-"))
        self._process: subprocess.Popen[bytes] | None = None
        self._added = False

    def __enter__(self) -> Resolver:
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
        for _ in range(5):
            address = f"127.53.{random.randint(1, 254)}.{random.randint(1, 254)}"
            if _ip("addr", "add", f"{address}/32", "dev", "lo").returncode == 0:
                self.address = address
                self._added = True
                break
        else:
            raise RuntimeError("could not add a loopback address for the resolver (root?)")
        (self.dir / "named.conf").write_text(self._conf(), encoding="utf-8")
        self._process = spawn_named(self.dir / "named.conf", self.dir / "named.log")
        if not self._wait_ready():
            tail = self.log_tail()
            self.stop()
            raise RuntimeError(f"the resolver named did not start: {tail}")

    def _conf(self) -> str:
        d = self.dir
        host, port = self.upstream
        return f"""options {{
    directory "{d}";
    pid-file "{d}/named.pid";
    session-keyfile "{d}/session.key";
    managed-keys-directory "{d}";
    listen-on port 53 {{ {self.address}; }};
    listen-on-v6 {{ none; }};
    recursion yes;
    allow-query {{ 127.0.0.0/8; }};
    allow-recursion {{ 127.0.0.0/8; }};
    forward only;
    forwarders {{ {host} port {port}; }};
    dnssec-validation no;
}};
controls {{ }};
"""

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + _START_TIMEOUT
        query = dns.message.make_query(self.probe_name, dns.rdatatype.SOA)
        while time.monotonic() < deadline:
            if self._process is None or self._process.poll() is not None:
                return False
            with contextlib.suppress(dns.exception.DNSException, OSError):
                answer = dns.query.udp(query, self.address, port=53, timeout=0.3)
                if answer.rcode() == dns.rcode.NOERROR and answer.answer:
                    return True
            time.sleep(0.05)
        return False

    def values(self, name: str, rdtype: str = "A") -> set[str]:
        """What this resolver answers for NAME now (from its cache while the TTL lasts)."""
        query = dns.message.make_query(name, rdtype)
        answer = dns.query.udp(query, self.address, port=53, timeout=2.0)
        wanted = dns.rdatatype.from_text(rdtype)
        return {r.to_text() for rrset in answer.answer if rrset.rdtype == wanted for r in rrset}

    def log_tail(self, lines: int = 10) -> str:
        try:
            text = (self.dir / "named.log").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return " | ".join(text.strip().splitlines()[-lines:])

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        if self._added:
            _ip("addr", "del", f"{self.address}/32", "dev", "lo")
            self._added = False
        shutil.rmtree(self.dir, ignore_errors=True)
