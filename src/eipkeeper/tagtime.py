"""Times kept in EC2 tags (S3, S8, the switch grace): one codec, pure.

Tags hold UTC as ISO 8601 to the second without a zone (`2026-12-01T21:46:54`); a `Z` or an
offset is accepted when read. What cannot be read is None: each caller says which side is safe.
"""

from __future__ import annotations

from datetime import UTC, datetime


def utc_stamp(when: float) -> str:
    """WHEN (a Unix time) as a tag value."""
    return datetime.fromtimestamp(when, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")


def parse_stamp(text: str) -> float | None:
    """A tag value as a Unix time; None when empty or unreadable."""
    if not text:
        return None
    try:
        stamp = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return (stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)).timestamp()
