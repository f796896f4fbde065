"""A black hole drops SYNs, so a client times out; no listener at all refuses at once."""

from __future__ import annotations

import random
import socket
import time

from eipkeeper.sandbox.blackhole import BlackHole
from tests.sandbox.conftest import CONNECT_TIMEOUT, connect_outcome


def _quiet_address() -> tuple[str, int]:
    address = f"127.{random.randrange(1, 255)}.{random.randrange(256)}.{random.randrange(1, 255)}"
    with socket.socket() as probe:
        probe.bind((address, 0))
        return address, int(probe.getsockname()[1])


def test_a_client_times_out_on_a_black_hole_and_is_refused_without_one() -> None:
    address, port = _quiet_address()
    assert connect_outcome(address, port) == "refused"

    hole = BlackHole(address, port)
    try:
        started = time.monotonic()
        assert connect_outcome(address, port) == "timeout"
        assert time.monotonic() - started >= CONNECT_TIMEOUT  # it waited: nothing answered
        assert connect_outcome(address, port) == "timeout", "it stays full"
    finally:
        hole.close()

    assert connect_outcome(address, port) == "refused"


def test_a_listener_may_take_the_address_once_the_hole_is_closed() -> None:
    address, port = _quiet_address()
    BlackHole(address, port).close()
    with socket.create_server((address, port)) as server:
        server.listen()
        assert connect_outcome(address, port) == "connected"
