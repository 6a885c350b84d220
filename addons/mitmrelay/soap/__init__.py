"""SOAP-aware inspection: detection by envelope namespace, summary, masking of WS-Security
secrets, pretty-printing, MTOM/XOP, and the service contract (WSDL operations, schema validation),
all on untrusted input and for display only.

    _xml.py         sniffing and bounded, entity-free parsing
    summary.py      the facts a message shows, its summary lines and flow label
    wsdl.py         WSDL 1.1 documents read into a contract: operations, imports, schema parts
    catalog.py      the WSDLs and schemas known (learned or configured) and their contracts
    resolve.py      the operation a message belongs to, and its contradictions with the WSDL
    xsd.py          the contract's schema compiled in memory; a Body validated against it
    fetch.py        soap_wsdl URLs fetched through the proxy chain
    render.py       the view; Inspector: one parse per message for label, validation and view
    mask.py pretty.py mtom.py   secrets masked, indentation, multipart/XOP parts
    contentview.py  the `SOAP` contentview for mitmproxy 11 and 12
    addon.py        the SoapView addon: options, hooks, WSDLs learned from traffic

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
