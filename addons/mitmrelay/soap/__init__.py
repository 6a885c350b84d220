"""SOAP-aware inspection: detection by envelope namespace, summary, masking of WS-Security
secrets, pretty-printing and MTOM/XOP, all on untrusted input and for display only.

The mitmproxy addon is `mitmrelay.soap.addon.SoapView`; this package's functions do not need a
running proxy.
"""

from .mask import MASK, mask_text
from .render import DEFAULT_MAX_BYTES, Rendering, RenderOptions, analyze, is_soap, render
from .summary import Fault, MessageInfo, Summary

__all__ = [
    "DEFAULT_MAX_BYTES",
    "MASK",
    "Fault",
    "MessageInfo",
    "RenderOptions",
    "Rendering",
    "Summary",
    "analyze",
    "is_soap",
    "mask_text",
    "render",
]
