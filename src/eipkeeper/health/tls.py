"""TLS for checks (spamd --ssl above all): the client context a check's files describe.

The probe connects to an IP address, not a name, and a pool of spamd hosts usually shares one
CA rather than one name per address. So the peer's certificate must chain to `ca_file` (or the
system's CAs when there is none), but its name is not matched against the address.
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import Callable
from pathlib import Path

from eipkeeper.config import CheckConfig
from eipkeeper.errors import ConfigError


def client_context(
    *, ca_file: Path | None = None, cert_file: Path | None = None, key_file: Path | None = None
) -> ssl.SSLContext:
    """A context that verifies the peer against CA_FILE and presents CERT_FILE when given."""
    context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_REQUIRED
    if cert_file is not None:
        context.load_cert_chain(str(cert_file), str(key_file) if key_file else None)
    return context


class TlsContexts:
    """One client context per check, built on first use; file paths are relative to the config.

    A context is built once because loading a CA bundle costs milliseconds and a busy monitor
    probes many times a second.
    """

    def __init__(self, *, relative: Callable[[str], Path] = Path) -> None:
        self._relative = relative
        self._contexts: dict[CheckConfig, ssl.SSLContext] = {}
        self._lock = threading.Lock()

    def for_check(self, check: CheckConfig) -> ssl.SSLContext | None:
        if not check.tls:
            return None
        with self._lock:
            context = self._contexts.get(check)
            if context is None:
                context = self._build(check)
                self._contexts[check] = context
            return context

    def _build(self, check: CheckConfig) -> ssl.SSLContext:
        if check.key_file and not check.cert_file:
            raise ConfigError("check.key_file needs check.cert_file", key="check.key_file")
        files = {
            key: self._relative(value) if value else None
            for key, value in (
                ("ca_file", check.ca_file),
                ("cert_file", check.cert_file),
                ("key_file", check.key_file),
            )
        }
        for key, path in files.items():
            if path is not None and not path.is_file():
                raise ConfigError(f"{path} does not exist", key=f"check.{key}")
        try:
            return client_context(**files)
        except (ssl.SSLError, OSError) as exc:
            raise ConfigError(f"cannot load the TLS files: {exc}", key="check") from None
