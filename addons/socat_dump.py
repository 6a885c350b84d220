"""socat-style dumps of every connection's plaintext.

`--set socat_dump=-|PATH`, `--set socat_dump_format=v|x|vx`; see mitmrelay.streams.socat_dump.

Usage:
    mitmdump -s addons/socat_dump.py --mode reverse:tcp://127.0.0.1:5001@5000 --set socat_dump=-
"""

from mitmrelay.streams.socat_dump import SocatDump

addons = [SocatDump()]
