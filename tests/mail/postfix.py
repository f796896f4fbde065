"""A private Postfix instance, the real sender of the mail scenarios, beside any system Postfix.

Everything lives in one temporary folder: its own `config_directory` (main.cf, master.cf, the
transport map), `queue_directory`, `data_directory` and `maillog_file`. master.cf has no smtpd
listener (mail is submitted with `sendmail -C DIR -i`), so it takes no port; its master.pid is
in its own queue folder, so a system Postfix, running or not, is another world.

The `smtp` client alone runs chrooted, in the queue folder, so that it reads the
`etc/resolv.conf` written there (pointing at the test's resolver) and never the machine's own
/etc/resolv.conf (FACTS.md: Postfix's smtp reads /var/spool/postfix/etc/resolv.conf). The other
daemons need no DNS and run unchrooted.

Tempo (Postfix's defaults are for the internet; a scenario lasts seconds):
- `smtp_connect_timeout = 2s` (default 30 s): an address nobody answers costs the sender this
  long before it tries the next MX; 2 s keeps that cost visible in `delay=` while a scenario
  stays short.
- `queue_run_delay = 1s`, `minimal_backoff_time = 2s`, `maximal_backoff_time = 4s` (defaults
  300 s / 300 s / 4000 s): a deferred message is tried again within seconds, so that it is
  delivered, or counted lost, before the scenario ends. Deferrals are still logged and counted.
- `smtp_mx_address_limit = 5` (the default) and `smtp_randomize_addresses = yes` (default): MX
  hosts of equal preference share the stream, as real senders spread it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Mapping
from email.message import EmailMessage
from pathlib import Path
from types import TracebackType

CONNECT_TIMEOUT_S = 2
QUEUE_RUN_DELAY_S = 1
MINIMAL_BACKOFF_S = 2
MAXIMAL_BACKOFF_S = 4
SENDER = "stream@sender.invalid"
"""The envelope sender; its domain is discarded by the transport map, so a bounce (there
should be none) goes nowhere rather than out to DNS."""

_SBIN = "/usr/sbin"
INSTALL_HINT = "run `make system-deps` as root (apt-get install postfix)"
_CHROOT_FILES = ("etc/services", "etc/hosts", "etc/localtime", "etc/nsswitch.conf")


def program(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path=_SBIN)
    if not found:
        raise RuntimeError(f"Postfix's `{name}` is not installed: {INSTALL_HINT}")
    return found


def _main_cf(*, base: Path, transport: Path) -> str:
    return f"""\
# A private instance for eipkeeper's mail scenarios (tests/mail/postfix.py).
compatibility_level = 3.6
queue_directory = {base}/queue
data_directory = {base}/data
mail_owner = postfix
setgid_group = postdrop
myhostname = sender.invalid
mydomain = invalid
myorigin = $myhostname
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
relayhost =
relay_domains =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
default_transport = smtp
relay_transport = smtp
transport_maps = texthash:{transport}
smtp_host_lookup = dns
smtp_address_preference = ipv4
smtp_tls_security_level = none
smtp_connect_timeout = {CONNECT_TIMEOUT_S}s
smtp_helo_timeout = 10s
queue_run_delay = {QUEUE_RUN_DELAY_S}s
minimal_backoff_time = {MINIMAL_BACKOFF_S}s
maximal_backoff_time = {MAXIMAL_BACKOFF_S}s
delay_warning_time = 0h
maillog_file = {base}/maillog
maillog_file_prefixes = {base}
syslog_name = postfix-eipkeeper-test
biff = no
"""


# service type private unpriv chroot wakeup maxproc command
_MASTER_CF = """\
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
# chrooted in the queue folder: it reads that folder's etc/resolv.conf
smtp      unix  -       -       y       -       -       smtp
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Postfix:
    """A private Postfix that delivers ROUTES (domain -> `smtp:host:port`) through the
    resolver at RESOLVER (an IPv4 address answering on port 53)."""

    def __init__(self, *, resolver: str, routes: Mapping[str, str]) -> None:
        self.resolver = resolver
        self.routes = dict(routes)
        # Not under pytest's 0700 tmp_path: user `postfix` must reach the queue folder.
        self.base = Path(tempfile.mkdtemp(prefix="eipkeeper-postfix-"))
        self.base.chmod(0o755)
        self.config_dir = self.base / "config"
        self.queue_dir = self.base / "queue"
        self.maillog = self.base / "maillog"
        self._started = False

    def __enter__(self) -> Postfix:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _postfix(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [program("postfix"), "-c", str(self.config_dir), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def start(self) -> None:
        if os.geteuid() != 0:
            raise RuntimeError(
                "a private Postfix must be started as root (its daemons drop to `postfix`)"
            )
        program("postfix")
        self._write()
        # `start` runs `postfix check` first, which creates the queue's subfolders with
        # Postfix's own owners and modes.
        done = self._postfix("start")
        if done.returncode != 0:
            said = (done.stderr + done.stdout).strip()
            raise RuntimeError(f"postfix start failed: {said} {self.log_tail()}")
        self._started = True
        self._wait_for_master()

    def _write(self) -> None:
        self.config_dir.mkdir()
        data = self.base / "data"
        data.mkdir()
        shutil.chown(data, user="postfix")  # master's lock and the daemons' caches
        transport = self.config_dir / "transport"
        lines = [f"{domain} {route}" for domain, route in self.routes.items()]
        lines.append(f"{SENDER.partition('@')[2]} discard:")
        transport.write_text("\n".join(lines) + "\n", encoding="utf-8")
        (self.config_dir / "main.cf").write_text(
            _main_cf(base=self.base, transport=transport), encoding="utf-8"
        )
        (self.config_dir / "master.cf").write_text(_MASTER_CF, encoding="utf-8")
        etc = self.queue_dir / "etc"
        etc.mkdir(parents=True)
        self.queue_dir.chmod(0o755)
        for name in _CHROOT_FILES:
            source = Path("/") / name
            if source.exists():
                shutil.copyfile(source, self.queue_dir / name)
        # The smtp client's only view of DNS: the test's resolver, never the machine's.
        (etc / "resolv.conf").write_text(
            f"nameserver {self.resolver}\noptions timeout:1 attempts:2\n", encoding="utf-8"
        )

    def _wait_for_master(self) -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self._postfix("status").returncode == 0:
                return
            time.sleep(0.1)
        raise RuntimeError(f"postfix did not start: {self.log_tail()}")

    def stop(self) -> None:
        if self._started:
            master = self._master_pid()
            self._postfix("stop")
            self._started = False
            # `postfix stop` signals the master and returns; its folder goes once it is gone.
            deadline = time.monotonic() + 15
            while master and _alive(master) and time.monotonic() < deadline:
                time.sleep(0.1)
        shutil.rmtree(self.base, ignore_errors=True)

    def _master_pid(self) -> int:
        try:
            return int((self.queue_dir / "pid" / "master.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return 0

    def log_tail(self, lines: int = 10) -> str:
        try:
            text = self.maillog.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return " | ".join(text.strip().splitlines()[-lines:])

    # -- mail ---------------------------------------------------------------------------------

    def submit(self, *, recipient: str, message_id: str, subject: str = "stream") -> None:
        """Hand one message to Postfix as a local program would (`sendmail -i`)."""
        message = EmailMessage()
        message["From"] = SENDER
        message["To"] = recipient
        message["Subject"] = subject
        message["Message-ID"] = message_id
        message.set_content(f"{subject}: {message_id}\n")
        done = subprocess.run(
            [program("sendmail"), "-C", str(self.config_dir), "-i", "-f", SENDER, recipient],
            input=message.as_bytes(),
            capture_output=True,
            timeout=30,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"sendmail failed: {done.stderr.decode(errors='replace').strip()}")

    def flush(self) -> None:
        """Ask the queue manager to try every deferred message now (`postqueue -f`)."""
        subprocess.run(
            [program("postqueue"), "-c", str(self.config_dir), "-f"],
            capture_output=True,
            timeout=30,
            check=False,
        )

    def queued(self) -> int:
        """Messages still in the queue (incoming, active or deferred)."""
        count = 0
        for name in ("maildrop", "incoming", "active", "deferred", "hold"):
            folder = self.queue_dir / name
            count += sum(1 for path in folder.rglob("*") if path.is_file())
        return count
