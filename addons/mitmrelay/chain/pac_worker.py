"""The PAC worker: a process of its own that runs one PAC script in QuickJS, for pac.py.

PAC files are JavaScript from the network. Whatever the script or the engine does (loop, allocate
without end, recurse, crash), it happens here and not in mitmproxy's process: pac.py kills this
process when an answer is late and starts a new one when it dies.

Run by pac.py as `python -I pac_worker.py ADDRESS_SPACE_BYTES ENGINE_FOLDER`, with the standard
library and the quickjs package (imported from ENGINE_FOLDER) only; not as part of mitmrelay.
One JSON object a line each way:

    -> {"load": SOURCE, "helpers": JS, "my_ip": "10.0.0.5", "time": 3.0, "memory": 67108864, ...}
    <- {"kind": "function"}                      (typeof FindProxyForURL)
    -> {"call": ["https://h/", "h"], "dns": {"h": "10.0.0.1"}, "time": 0.5}
    <- {"answer": "PROXY a:3128", "wanted": ["other.name"]}
    <- {"error": "ReferenceError: x is not defined", "bound": null}   (or "time", "memory", "stack")
"""

from __future__ import annotations

import json
import sys
from typing import Any

# QuickJS's own words for the bounds it enforces (its InternalError messages).
_BOUNDS = {"interrupted": "time", "out of memory": "memory", "stack overflow": "stack"}


def _error(e: Exception) -> dict[str, Any]:
    lines = str(e).strip().splitlines()
    first = lines[0] if lines else type(e).__name__
    bound = next((name for word, name in _BOUNDS.items() if word in first), None)
    if first == "null" or isinstance(e, MemoryError):
        # QuickJS throws null when not even its "out of memory" error can be made; Python's
        # MemoryError is the address-space limit reached.
        bound = "memory"
    return {"error": first[:300], "bound": bound}


def _load(context: Any, request: dict[str, Any]) -> dict[str, Any]:
    context.set_memory_limit(request["memory"])
    context.set_max_stack_size(request["stack"])
    context.set_time_limit(request["time"])
    context.eval(request["helpers"])
    context.eval(f"__mitmrelay_my_ip = {json.dumps(request['my_ip'])}")
    context.eval(request["load"])
    return {"kind": str(context.eval("typeof FindProxyForURL"))}


def _call(context: Any, request: dict[str, Any]) -> dict[str, Any]:
    context.set_time_limit(request["time"])
    url, host = request["call"]
    context.eval(f"__mitmrelay_dns = {json.dumps(request['dns'])}; __mitmrelay_wanted = [];")
    answer = context.eval(f"String(FindProxyForURL({json.dumps(url)}, {json.dumps(host)}))")
    wanted = json.loads(context.eval("JSON.stringify(__mitmrelay_wanted)"))
    return {"answer": str(answer), "wanted": [str(name) for name in wanted]}


def main(address_space: int, engine_folder: str) -> None:
    try:
        import resource

        # Set before any script runs: the kernel bounds the whole process, engine included.
        resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))
    except (ImportError, ValueError, OSError):
        pass  # no RLIMIT_AS here (Windows, macOS): the engine's heap limit still holds
    sys.path.append(engine_folder)
    import quickjs

    context = quickjs.Context()
    for line in sys.stdin.buffer:
        request = json.loads(line)
        try:
            reply = _load(context, request) if "load" in request else _call(context, request)
            line = json.dumps(reply)
        except Exception as e:  # the script's error, reported to pac.py as text
            line = json.dumps(_error(e))
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2])
