"""What to say about an exception that reached the command line without being one of ours.

Every failure is one line with the exit code of SPEC.md section 4. The layers translate what
they know (cloud/aws.py for botocore, the DNS providers for DNS); this is the last net, for
exceptions that escaped them, so that none ends as "internal error".
"""

from __future__ import annotations

import errno
import sys

from eipkeeper.errors import ConfigError, EipkeeperError, OperationError


def translate_foreign(exc: BaseException) -> EipkeeperError | None:
    """The eipkeeper error for EXC, or None when it is a bug of ours."""
    if "botocore" in sys.modules:
        from eipkeeper.cloud.aws import translate_any

        known = translate_any(exc, "AWS")
        if known is not None:
            return known
    if isinstance(exc, OSError):
        return _os_error(exc)
    if "dns.exception" in sys.modules:
        import dns.exception

        if isinstance(exc, dns.exception.DNSException):
            return OperationError(f"DNS: {exc}")
    return None


def _os_error(exc: OSError) -> EipkeeperError:
    reason = exc.strerror or str(exc) or type(exc).__name__
    subject = f" {exc.filename}" if exc.filename else ""
    if exc.errno in (errno.EADDRINUSE, errno.EADDRNOTAVAIL, errno.EACCES, errno.EPERM):
        return ConfigError(f"cannot use{subject}: {reason}")
    return OperationError(f"{reason}{':' + subject if subject else ''}")
