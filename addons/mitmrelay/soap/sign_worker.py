"""The signing worker: libxmlsec1 (python-xmlsec) signs a recorded SOAP request again in a process
of its own, for sign.py.

The recorded request is untrusted XML read by native code: whatever libxmlsec1 does with it
(crash, hang, grow) happens here and not in mitmproxy's process. sign.py kills this process when
an answer is late and starts a new one after a death (mitmrelay/worker.py).

Run as `python -I sign_worker.py FOLDER...` (the folders go first on the path: where mitmproxy's
process imports mitmrelay, xmlsec and lxml from). One JSON object a line each way; every request
names the key and certificate files, loaded once and kept (the last pair only):

    -> {"key": "/etc/ws/client.key", "cert": "/etc/ws/client.pem"}
    <- {}                                                          (loaded)
    -> {"key": ..., "cert": ..., "document": "<soap:Envelope ...", "signature": 12}
    <- {"texts": {"14": "q3Z..."}, "tails": {}, "nodes": 40, "described": "rsa-sha1 over Body"}
    <- {"error": "cannot load the key /etc/ws/client.key and certificate ...: ..."}

`signature` is the ds:Signature's position among the envelope's nodes (lxml's iter()), and the
reply's keys are positions too: the texts and tails signing changed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def main(folders: list[str]) -> None:
    sys.path[:0] = folders
    from lxml import etree

    from mitmrelay.soap._xml import SAFE_PARSER
    from mitmrelay.soap.sign import SignError, XmlsecSigner, changes

    loaded: dict[tuple[str, str], XmlsecSigner] = {}

    def answer(request: dict[str, Any]) -> dict[str, Any]:
        files = (request["key"], request["cert"])
        if files not in loaded:
            loaded.clear()
            loaded[files] = XmlsecSigner(Path(files[0]), Path(files[1]))
        if "document" not in request:
            return {}
        root = etree.fromstring(request["document"].encode(), etree.XMLParser(**SAFE_PARSER))
        nodes = list(root.iter())
        before = [(node.text, node.tail) for node in nodes]
        described = loaded[files](nodes[request["signature"]], root)
        return changes(before, list(root.iter())) | {"described": described}

    for line in sys.stdin.buffer:
        try:
            reply = answer(json.loads(line))
        except SignError as e:
            reply = {"error": str(e)}
        except Exception as e:  # what libxmlsec1 or lxml raised: its kind, for the log
            reply = {"error": f"the envelope could not be signed again ({type(e).__name__})"}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main(sys.argv[1:])
