"""The authentication worker: NTLM and Negotiate tokens from pyspnego (Kerberos through the
system's GSSAPI) in a process of its own, for proxyauth.py.

A proxy's challenge is bytes from the network, read by native code (GSSAPI) and by pyspnego's
parsers: whatever they do with it (crash, hang, grow) happens here and not in mitmproxy's process.
proxyauth.py kills this process when a leg is late and starts a new one after a death
(mitmrelay/worker.py); the handshakes under way in it then fail, the next ones work.

Run as `python -I auth_worker.py FOLDER...` (the folders go first on the path: the packages
mitmproxy's process would import), with the standard library and pyspnego only; not as part of
mitmrelay. One JSON object a line each way; tokens in base64. Credentials come in the request and
go nowhere else; an error is the exception's type only (pyspnego's text may quote a token):

    -> {"open": 7, "protocol": "ntlm", "username": "CORP\\\\alice", "password": "...",
        "hostname": "proxy.corp", "env": {"KRB5CCNAME": "FILE:/tmp/cc", ...}, "token": null,
        "forget": [3]}
    <- {"token": "TlRMTVNT...", "complete": false}
    -> {"step": 7, "token": "TlRMTVNT...", "forget": []}
    <- {"token": "TlRMTVNT...", "complete": true}
    <- {"error": "SpnegoError", "refused": true}    (false: pyspnego could not read a token)

A context lives here from its "open" until it is complete, forgotten (its handshake ended in
mitmproxy's process) or pushed out by newer ones (MAX_CONTEXTS).
"""

from __future__ import annotations

import base64
import json
import os
import sys
from collections import OrderedDict
from typing import Any

MAX_CONTEXTS = 256  # handshakes under way at once; beyond, the oldest is dropped


def _open(request: dict[str, Any]) -> Any:
    import spnego

    # The environment of the moment in mitmproxy's process: where Kerberos finds its ticket cache
    # and configuration (read when the context is made).
    for name, value in request["env"].items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    return spnego.client(
        request["username"],
        request["password"],
        hostname=request["hostname"],
        service="HTTP",
        protocol=request["protocol"],
    )


def _answer(contexts: OrderedDict[int, Any], request: dict[str, Any]) -> dict[str, Any]:
    for key in request.get("forget", ()):
        contexts.pop(key, None)
    if "open" in request:
        key = request["open"]
        contexts[key] = _open(request)
        while len(contexts) > MAX_CONTEXTS:
            contexts.popitem(last=False)
    else:
        key = request["step"]
        if key not in contexts:
            return {"error": "UnknownContext", "refused": True}
    context = contexts[key]
    token = request.get("token")
    out = context.step(base64.b64decode(token) if token is not None else None)
    if context.complete:
        del contexts[key]
    return {
        "token": base64.b64encode(out).decode() if out else None,
        "complete": bool(context.complete),
    }


def _refused(e: Exception) -> bool:
    """Whether pyspnego refused (no credentials it can use, a token it rejects), rather than
    failing to read what it was given."""
    import spnego.exceptions

    return isinstance(e, spnego.exceptions.SpnegoError)


def main(folders: list[str]) -> None:
    sys.path[:0] = folders
    contexts: OrderedDict[int, Any] = OrderedDict()
    for line in sys.stdin.buffer:
        request = json.loads(line)
        try:
            reply = _answer(contexts, request)
        except Exception as e:  # its type only: the text may quote a token
            contexts.pop(request.get("open", request.get("step")), None)
            reply = {"error": type(e).__name__, "refused": _refused(e)}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main(sys.argv[1:])
