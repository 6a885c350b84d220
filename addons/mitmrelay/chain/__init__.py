"""Proxy chains: spec parsing, routing, the connector and its errors."""

from .connector import open_chain
from .errors import Failure, HopError
from .routes import Router, build_router
from .spec import Chain, Hop, parse_chain

__all__ = [
    "Chain",
    "Failure",
    "Hop",
    "HopError",
    "Router",
    "build_router",
    "open_chain",
    "parse_chain",
]
