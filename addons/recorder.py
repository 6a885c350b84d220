"""Record each connection's two byte streams to files: `--set record_dir=DIR`.

Usage:
    mitmdump -s addons/recorder.py --mode reverse:tcp://127.0.0.1:5001@5000 --set record_dir=rec/
"""

from mitmrelay.streams.recorder import Recorder

addons = [Recorder()]
