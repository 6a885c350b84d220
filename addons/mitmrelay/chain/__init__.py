"""Proxy chains: spec parsing, routing, the connector and its errors."""

from .connector import HopError, open_chain
from .routes import Router, build_router
from .spec import Chain, Hop, parse_chain

__all__ = ["Chain", "Hop", "HopError", "Router", "build_router", "open_chain", "parse_chain"]
