"""The demo shows each command's output in the order the command wrote it, stdout and stderr
interleaved, while the checks still read each stream on its own."""

from __future__ import annotations

import socket
import sys

from eipkeeper.demo.runner import run_interleaved

# Writes stderr, stdout, stderr, and waits between writes until the parent has shown the line
# (an acknowledgement over TCP): the order is then the order written, with no sleeps.
CHILD = """
import socket, sys
ack = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
sys.stderr.write("warning: the dynamic IP goes away for good\\n"); sys.stderr.flush()
ack.recv(1)
sys.stdout.write("associated 127.9.9.9\\n"); sys.stdout.flush()
ack.recv(1)
sys.stderr.write("note: " + sys.stdin.read())
"""


def test_lines_come_in_the_order_written_and_each_stream_is_kept() -> None:
    shown: list[tuple[str, str]] = []
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        connections: list[socket.socket] = []

        def on_line(stream: str, line: str) -> None:
            shown.append((stream, line))
            if not connections:
                connections.append(server.accept()[0])
            connections[0].send(b"k")

        try:
            done = run_interleaved(
                [sys.executable, "-c", CHILD, str(port)],
                env={"PATH": "/usr/bin:/bin"},
                stdin="from stdin, unterminated",
                on_line=on_line,
            )
        finally:
            for connection in connections:
                connection.close()
    assert shown == [
        ("stderr", "warning: the dynamic IP goes away for good"),
        ("stdout", "associated 127.9.9.9"),
        ("stderr", "note: from stdin, unterminated"),
    ]
    assert done.returncode == 0
    assert done.stdout == "associated 127.9.9.9\n"
    assert done.stderr.splitlines() == [
        "warning: the dynamic IP goes away for good",
        "note: from stdin, unterminated",
    ]
