"""A throwaway Knot DNS primary on a loopback port (`sandbox --dns knot`, the contract suite).

Keys and rights live in knot.conf (FACTS.md, "DNS servers other than BIND"): an ACL with the
key and `action: [update, transfer]`; with `allow_update=False` the ACL allows the transfer
only, so the key is known and the update is denied (Knot answers NOTAUTH with TSIG BADKEY).
The serial moves by one per UPDATE message (`serial-policy: increment`, Knot's default).
With `primary=` it is a secondary instead: it transfers the zone with the primary's key and
takes NOTIFY from loopback (as a primary's `also_notify` sends it, unsigned).
"""

from __future__ import annotations

import os
from typing import Any

from eipkeeper.sandbox.bind import Primary
from eipkeeper.sandbox.localdns import LocalServer, program, secret_of

INSTALL_HINT = "apt-get install knot knot-dnsutils"


class LocalKnot(LocalServer):
    kind = "knot"
    daemon = "knotd"

    def __init__(
        self, zone: str = "example.test", *, primary: Primary | None = None, **kwargs: Any
    ) -> None:
        if primary is not None:
            kwargs["key_name"] = primary.key_name
        super().__init__(zone, **kwargs)
        self.primary = primary
        if primary is not None:  # the same key: the secondary's transfers are signed with it
            self.secret = secret_of(primary.key_file)

    def prepare(self) -> list[str]:
        d = self.dir
        (d / "db").mkdir(exist_ok=True)
        if self.primary is None:  # a secondary starts empty and transfers the zone
            zone_file = d / f"{self.zone}.zone"
            zone_file.write_text(self.zone_text(), encoding="utf-8")
        actions = "[update, transfer]" if self._allow_update else "[transfer]"
        notify = "".join(
            f"  - id: notify{p}\n    address: {self.host}@{p}\n" for p in self._also_notify
        )
        if self.primary is not None:
            notify += (
                f"  - id: primary\n    address: {self.primary.host}@{self.primary.port}\n"
                f"    key: {self.key_name}\n"
            )
        remotes = f"remote:\n{notify}" if notify else ""
        notify_ids = ", ".join(f"notify{p}" for p in self._also_notify)
        conf = f"""server:
    rundir: "{d}"
    listen: {self.host}@{self.port}
database:
    storage: "{d}/db"
control:
    listen: "{d}/knot.sock"
log:
  - target: stderr
    any: info
key:
  - id: {self.key_name}
    algorithm: hmac-sha256
    secret: {self.secret}
{remotes}acl:
  - id: eipkeeper
    key: {self.key_name}
    action: {actions}
  - id: notified
    address: {self.host}
    action: notify
template:
  - id: default
    storage: "{d}"
    file: "%s.zone"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: changes
    serial-policy: increment
zone:
  - domain: {self.zone}
    acl: [eipkeeper, notified]
"""
        if notify_ids:
            conf += f"    notify: [{notify_ids}]\n"
        if self.primary is not None:
            conf += "    master: primary\n"
        (d / "knot.conf").write_text(conf, encoding="utf-8")
        os.chmod(d / "knot.conf", 0o600)  # it holds the TSIG secret
        return [program("knotd", INSTALL_HINT), "-c", str(d / "knot.conf")]
