"""The proxy handshakes as sans-IO state machines: bytes in, events out, no socket, no asyncio.

One I/O driver runs them (chain/connector.py); tests feed them byte tables. Every failure is a
`ProxyFailure` whose type says whose fault it is and which carries the proxy's reply code.
"""

from .common import (
    AuthRejected,
    Event,
    LocalProtocolError,
    NeedData,
    ProxyClosed,
    ProxyFailure,
    Refused,
    RemoteProtocolError,
    SendData,
    TunnelOpen,
)
from .socks4 import Socks4Client
from .socks5 import Socks5Client

__all__ = [
    "AuthRejected",
    "Event",
    "LocalProtocolError",
    "NeedData",
    "ProxyClosed",
    "ProxyFailure",
    "Refused",
    "RemoteProtocolError",
    "SendData",
    "Socks4Client",
    "Socks5Client",
    "TunnelOpen",
]
