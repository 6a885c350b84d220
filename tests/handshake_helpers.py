"""Run a sans-IO handshake machine against a scripted proxy, in memory: no socket, no event loop."""

from __future__ import annotations

from mitmrelay.chain.protocols import (
    ConnectClient,
    NeedData,
    NeedToken,
    ProxyFailure,
    Reconnect,
    SendData,
    Socks4Client,
    Socks5Client,
    TunnelOpen,
)
from mitmrelay.chain.protocols.http_connect import HttpEvent

Machine = Socks4Client | Socks5Client | ConnectClient
# What drive() records for a Reconnect event among the messages sent.
RECONNECT = b"<new connection>"
# How the proxy's bytes are handed over: as much as asked (what the connector does), one byte at a
# time, or all at once.
FEEDS = ("asked", "bytewise", "at once")


def drive(
    machine: Machine, incoming: bytes, feed: str = "asked", tokens: tuple[str | None, ...] = ()
) -> tuple[list[bytes], TunnelOpen | ProxyFailure, bytes]:
    """Hand the machine `incoming` (the proxy's bytes, then its end of stream) as `feed` says;
    an HTTP CONNECT machine's NeedToken events are answered from `tokens` in turn (then None),
    its Reconnect events recorded as RECONNECT and taken as done.

    Returns the messages it sent, how it ended (TunnelOpen, or the ProxyFailure it raised) and
    the bytes it was never handed.
    """
    sent: list[bytes] = []
    rest = incoming
    answers = list(tokens)
    for _ in range(2 * len(incoming) + 10):
        try:
            event: HttpEvent = machine.next_event()
        except ProxyFailure as e:
            return sent, e, rest
        if isinstance(event, SendData):
            sent.append(event.data)
        elif isinstance(event, NeedData):
            assert event.size > 0
            size = {"asked": event.size, "bytewise": 1, "at once": len(rest)}[feed]
            if feed == "asked" and event.delimiter and event.delimiter in rest[:size]:
                size = rest.index(event.delimiter) + len(event.delimiter)  # as readuntil
            chunk, rest = rest[:size], rest[size:]
            machine.receive_data(chunk)  # b"": the proxy closed
        elif isinstance(event, NeedToken):
            assert isinstance(machine, ConnectClient)
            value = answers.pop(0) if answers else None
            machine.authorize(value, scheme="Basic" if value else None)
        elif isinstance(event, Reconnect):
            assert isinstance(machine, ConnectClient)
            sent.append(RECONNECT)
            machine.reconnected()
        else:
            return sent, event, rest
    raise AssertionError(f"no end after {len(incoming)} bytes and their end of stream")


def outcome(result: TunnelOpen | ProxyFailure) -> tuple[type, str | None, int | None]:
    """What a run ended in, comparable across feeds."""
    if isinstance(result, TunnelOpen):
        return TunnelOpen, None, None
    return type(result), result.reason, result.code


def waits_for_more(machine: Machine, incoming: bytes) -> bool:
    """Whether the machine, handed all of incoming at once and no end of stream, asks for more
    (its own requests are taken as sent)."""
    handed = False
    while True:
        try:
            event = machine.next_event()
        except ProxyFailure:
            return False
        if isinstance(event, TunnelOpen):
            return False
        if isinstance(event, NeedToken):
            assert isinstance(machine, ConnectClient)
            machine.authorize(None)
        if isinstance(event, NeedData):
            if handed or not incoming:
                return True
            machine.receive_data(incoming)
            handed = True
