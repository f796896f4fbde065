"""A throwaway PowerDNS Authoritative primary (gsqlite3) on a loopback port.

As FACTS.md ("DNS servers other than BIND") found it: `dnsupdate=yes` is needed; the key is
imported with `pdnsutil import-tsig-key` and given rights by zone metadata
(`TSIG-ALLOW-DNSUPDATE`, `ALLOW-DNSUPDATE-FROM`, `TSIG-ALLOW-AXFR`); the zone is made before
the server starts (one made while it runs is REFUSED until its zone cache refreshes).
`soa_edit` sets `SOA-EDIT-DNSUPDATE` (EPOCH makes the serial the Unix time: the case that
fooled confirmation by serial); `notify` sets `NOTIFY-DNSUPDATE`, without which PowerDNS
sends no NOTIFY after an update. With `primary=` it is a secondary instead (`secondary=yes`,
`pdnsutil create-secondary-zone`, the primary's key as `AXFR-MASTER-TSIG`); it takes NOTIFY
from its primary's address without `allow-notify-from`.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

from eipkeeper.errors import OperationError
from eipkeeper.sandbox.bind import Primary
from eipkeeper.sandbox.localdns import LocalServer, program, secret_of

INSTALL_HINT = "apt-get install pdns-server pdns-backend-sqlite3"
_SCHEMAS = (
    Path("/usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql"),
    Path("/usr/share/doc/pdns-backend-sqlite3/schema.sqlite3.sql"),
)


class LocalPdns(LocalServer):
    kind = "pdns"
    daemon = "pdns_server"

    def __init__(
        self,
        zone: str = "example.test",
        *,
        soa_edit: str = "INCREASE",
        primary: Primary | None = None,
        **kwargs: Any,
    ) -> None:
        if primary is not None:
            kwargs["key_name"] = primary.key_name
        super().__init__(zone, **kwargs)
        self.soa_edit = soa_edit
        self.primary = primary
        if primary is not None:  # the same key: the secondary's transfers are signed with it
            self.secret = secret_of(primary.key_file)

    def prepare(self) -> list[str]:
        d = self.dir
        conf = "\n".join(
            [
                "launch=gsqlite3",
                f"gsqlite3-database={d}/pdns.sqlite3",
                f"local-address={self.host}",
                f"local-port={self.port}",
                "dnsupdate=yes",
                "primary=yes",
                "allow-axfr-ips=127.0.0.0/8",
                f"socket-dir={d}",
                "guardian=no",
                "daemon=no",
                "disable-syslog=yes",
                "write-pid=no",
                "loglevel=6",
                *(f"also-notify={self.host}:{p}" for p in self._also_notify),
                *(["secondary=yes"] if self.primary else []),
            ]
        )
        (d / "pdns.conf").write_text(conf + "\n", encoding="utf-8")
        if not (d / "pdns.sqlite3").exists():
            self._database()
        return [program("pdns_server", INSTALL_HINT), f"--config-dir={d}"]

    def _database(self) -> None:
        schema = next((p for p in _SCHEMAS if p.exists()), None)
        if schema is None:
            raise OperationError(f"PowerDNS's SQLite schema is missing: run `{INSTALL_HINT}`")
        with sqlite3.connect(self.dir / "pdns.sqlite3") as db:
            db.executescript(schema.read_text(encoding="utf-8"))
        if self.primary is not None:
            self._secondary(self.primary)
            return
        zone_file = self.dir / "zone.db"
        zone_file.write_text(self.zone_text(), encoding="utf-8")
        self._pdnsutil("load-zone", self.zone, str(zone_file))
        self._pdnsutil("import-tsig-key", self.key_name, "hmac-sha256", self.secret)
        self._pdnsutil("set-meta", self.zone, "TSIG-ALLOW-AXFR", self.key_name)
        # Without allow_update another key holds the right: ours is known but may not update.
        updater = self.key_name if self._allow_update else "someone-else"
        if not self._allow_update:
            self._pdnsutil("generate-tsig-key", updater, "hmac-sha256")
        self._pdnsutil("set-meta", self.zone, "TSIG-ALLOW-DNSUPDATE", updater)
        self._pdnsutil("set-meta", self.zone, "ALLOW-DNSUPDATE-FROM", "127.0.0.0/8")
        self._pdnsutil("set-meta", self.zone, "SOA-EDIT-DNSUPDATE", self.soa_edit)
        if self._also_notify:
            # Only a primary zone (not "native") sends NOTIFY, and after an update only so.
            self._pdnsutil("set-kind", self.zone, "primary")
            self._pdnsutil("set-meta", self.zone, "NOTIFY-DNSUPDATE", "1")
        os.chmod(self.dir / "pdns.sqlite3", 0o600)  # it holds the TSIG secret

    def _secondary(self, primary: Primary) -> None:
        self._pdnsutil("create-secondary-zone", self.zone, f"{primary.host}:{primary.port}")
        self._pdnsutil("import-tsig-key", self.key_name, "hmac-sha256", self.secret)
        self._pdnsutil("set-meta", self.zone, "AXFR-MASTER-TSIG", self.key_name)
        os.chmod(self.dir / "pdns.sqlite3", 0o600)  # it holds the TSIG secret

    def _pdnsutil(self, *args: str) -> None:
        argv = [program("pdnsutil", INSTALL_HINT), f"--config-dir={self.dir}", *args]
        done = subprocess.run(argv, capture_output=True, check=False)
        if done.returncode != 0:
            said = (done.stderr or done.stdout).decode(errors="replace").strip()
            raise OperationError(f"pdnsutil {args[0]} failed: {said}")

    def set_meta(self, kind: str, *values: str) -> None:
        """Change zone metadata while the server runs (it reads it per update)."""
        self._pdnsutil("set-meta", self.zone, kind, *values)
