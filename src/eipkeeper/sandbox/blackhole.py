"""An address that drops connections, as EC2 drops packets to an address nobody answers.

On EC2 a connection to an Elastic IP that no running instance holds gets no answer at all: the
client's SYN is never answered and it waits out its connect timeout (Postfix: 30 s) before it
tries the next MX. On loopback an address nobody listens on answers RST at once ("connection
refused"), which would flatter every sender.

Userspace way, no iptables: Linux drops a SYN when the listening socket's accept queue is full
(`tcp_conn_request`: `sk_acceptq_is_full` -> drop, before any SYN cookie). A socket that
listens with backlog 0 holds one completed connection; the black hole makes that one
connection itself and never accepts it, so every later SYN to ADDRESS:PORT is dropped and the
client's connect times out, retrying its SYN meanwhile. Closing the black hole (the address
gets a holder) lets the client's next SYN retry reach whoever listens then, as on EC2.

Measured here (tests/sandbox/test_blackhole.py): `socket.create_connection(timeout=3)` raises
TimeoutError after 3 s, where an address without a listener refuses within a millisecond.
"""

from __future__ import annotations

import contextlib
import socket

_FILL_TIMEOUT = 1.0


class BlackHole:
    """A listening socket on ADDRESS:PORT whose accept queue is full: SYNs are dropped."""

    def __init__(self, address: str, port: int) -> None:
        self.address = address
        self.port = port
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind((address, port))
            listener.listen(0)
            filler.settimeout(_FILL_TIMEOUT)
            filler.connect((address, port))  # completes in the kernel: nobody accepts it
        except OSError:
            filler.close()
            listener.close()
            raise
        self._listener = listener
        self._filler = filler

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._filler.close()
        with contextlib.suppress(OSError):
            self._listener.close()
