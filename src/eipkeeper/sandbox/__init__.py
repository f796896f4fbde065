"""The embedded sandbox cloud of SPEC.md section 7: moto's server made to behave like EC2 where
it matters for addresses, a sample fleet, and an SMTP data plane on 127.0.0.0/8.

Needs the `sandbox` extra (moto); import it only where the sandbox is used.
"""

from eipkeeper.sandbox.server import INSTANT, Sandbox

__all__ = ["INSTANT", "Sandbox"]
