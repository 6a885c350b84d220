"""The proxy handshakes as sans-IO state machines: bytes in, events out, no socket, no asyncio.

SOCKS4/4a (socks4.py), SOCKS5 (socks5.py) and HTTP CONNECT (http_connect.py). One I/O driver
runs them (chain/connector.py); tests feed them byte tables. Every failure is a
`ProxyFailure` whose type says whose fault it is and which carries the proxy's reply code.
"""

from .common import (
    AuthRejected,
    AuthUnsupported,
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
from .http_connect import ConnectClient, NeedToken, Reconnect, Reply
from .socks4 import Socks4Client
from .socks5 import Socks5Client

__all__ = [
    "AuthRejected",
    "AuthUnsupported",
    "ConnectClient",
    "Event",
    "LocalProtocolError",
    "NeedData",
    "NeedToken",
    "ProxyClosed",
    "ProxyFailure",
    "Reconnect",
    "Refused",
    "RemoteProtocolError",
    "Reply",
    "SendData",
    "Socks4Client",
    "Socks5Client",
    "TunnelOpen",
]
