"""The block model: one read of one direction of a connection, as taps deliver it.

Dumps, recordings and the mock server all speak in blocks.
"""

from __future__ import annotations

from typing import NamedTuple


class Block(NamedTuple):
    """One read: its direction, its bytes and when it was read (seconds since the epoch)."""

    from_client: bool
    data: bytes
    timestamp: float | None = None
