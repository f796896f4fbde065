"""A tiny SMTP responder: enough of RFC 5321 for a health check and a test message.

The greeting names the instance (`220 i-0abc ESMTP eipkeeper-sandbox`) so that a probe can
tell which instance answered an address; everything else accepts and discards.
"""

from __future__ import annotations

import asyncio
import contextlib

BANNER = "ESMTP eipkeeper-sandbox"
IDLE_TIMEOUT = 60.0
"""Seconds a silent client may hold a session; real servers use minutes, a sandbox needs less."""


def greeting(instance_id: str) -> str:
    return f"220 {instance_id} {BANNER}"


async def serve_session(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, instance_id: str
) -> None:
    """Greet as INSTANCE_ID, then answer commands until QUIT, EOF or the idle timeout."""

    async def say(*lines: str) -> None:
        writer.write("".join(f"{line}\r\n" for line in lines).encode("ascii"))
        await writer.drain()

    try:
        await say(greeting(instance_id))
        while True:
            raw = await asyncio.wait_for(reader.readline(), IDLE_TIMEOUT)
            if not raw:
                return
            verb, _, argument = raw.decode("ascii", "replace").strip().partition(" ")
            verb = verb.upper()
            if verb == "EHLO":
                await say(
                    f"250-{instance_id} greets {argument or 'you'}", "250-8BITMIME", "250 HELP"
                )
            elif verb == "HELO":
                await say(f"250 {instance_id}")
            elif verb in {"MAIL", "RCPT", "RSET", "NOOP", "VRFY"}:
                await say("250 OK")
            elif verb == "DATA":
                await say("354 End data with <CR><LF>.<CR><LF>")
                while (line := await asyncio.wait_for(reader.readline(), IDLE_TIMEOUT)) not in {
                    b".\r\n",
                    b".\n",
                    b"",
                }:
                    del line  # the sandbox keeps no mail
                await say(f"250 OK queued on {instance_id}")
            elif verb == "QUIT":
                await say(f"221 {instance_id} closing connection")
                return
            else:
                await say("502 Command not implemented")
    except (TimeoutError, ConnectionError):
        return
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
