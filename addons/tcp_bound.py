"""Bound the memory of long raw TCP/TLS streams: `--set tcp_messages_max=N`.

Usage:
    mitmdump -s addons/tcp_bound.py --mode reverse:tcp://127.0.0.1:5001@5000 \\
        --set tcp_messages_max=16
"""

from mitmrelay.streams.tcp_bound import TcpMessageBound

addons = [TcpMessageBound()]
