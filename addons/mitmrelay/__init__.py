"""mitmrelay: mitmproxy addons that watch TLS traffic travelling through SOCKS and HTTP CONNECT
proxy chains, with SOAP-aware views and socat-style dumps.

The public surface is what `__all__` names; every other module and name is private and may change
in any release. Usage:

    import mitmrelay
    mitmrelay.__version__                                  # '0.1.0'
    addons = mitmrelay.all_addons()                        # what `-s addons/relay.py` loads
    chain = mitmrelay.parse_chain("socks5h://127.0.0.1:1080,http://proxy.corp:3128")
    reader, writer = await mitmrelay.open_chain(chain, "api.example", 443, timeout=10)
    # raises mitmrelay.HopError: .kind (a mitmrelay.Failure), .index, .hop, .code, .reason
    recording = mitmrelay.read_recording(Path("rec/x.recording"))
    text = mitmrelay.format_socat_block("-v", True, b"GET / HTTP/1.1\\r\\n", 0, time.time())

The names load on first use: importing mitmrelay alone imports neither mitmproxy nor lxml.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

__all__ = [
    "Failure",
    "HopError",
    "__version__",
    "all_addons",
    "format_socat_block",
    "open_chain",
    "parse_chain",
    "parse_hop",
    "read_recording",
]

# public name -> (module, name there)
_LAZY = {
    "Failure": ("mitmrelay.chain.errors", "Failure"),
    "HopError": ("mitmrelay.chain.errors", "HopError"),
    "all_addons": ("mitmrelay.relay", "all_addons"),
    "format_socat_block": ("mitmrelay.streams.socat_format", "format_block"),
    "open_chain": ("mitmrelay.chain.connector", "open_chain"),
    "parse_chain": ("mitmrelay.chain.spec", "parse_chain"),
    "parse_hop": ("mitmrelay.chain.spec", "parse_hop"),
    "read_recording": ("mitmrelay.streams.recording", "read"),
}

# A checkout that is not installed declares its version here.
_PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def _version(pyproject: Path = _PYPROJECT) -> str:
    """The installed distribution's version; from a checkout that is not installed, the one its
    pyproject.toml declares; else 'unknown'."""
    from importlib import metadata

    try:
        return metadata.version("mitmrelay")
    except metadata.PackageNotFoundError:
        pass
    import tomllib

    try:
        project = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {})
    except (OSError, tomllib.TOMLDecodeError):
        return "unknown"
    if project.get("name") != "mitmrelay":
        return "unknown"
    return str(project.get("version", "unknown"))


__version__ = _version()


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'mitmrelay' has no attribute {name!r}")
    module, attribute = _LAZY[name]
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
