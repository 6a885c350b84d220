"""`mitmrelay soap-view`: the SOAP view (summary, then the envelope pretty-printed, secrets masked)
of message files or of the SOAP messages in mitmproxy flow files (`mitmdump -w` output), for offline
use and CI logs. Nothing is fetched or expanded: the XML is read as untrusted input.

Usage:
    mitmrelay soap-view flows.mitm
    mitmrelay soap-view --content-type 'multipart/related; boundary=b' upload.bin
    mitmrelay soap-view --soap-action '"urn:quotes/GetQuote"' --no-mask request.xml
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from mitmproxy import exceptions, http
from mitmproxy import io as flow_io

from ..soap import DEFAULT_MAX_BYTES, MessageInfo, RenderOptions, is_soap, render
from ..soap.contentview import message_info

# tnetstring, the flow file format, starts with the length of the first flow.
FLOW_FILE_START = b"0123456789"


def view_flows(path: Path, options: RenderOptions) -> list[str]:
    """The SOAP view of every SOAP request and response in a flow file, each under a heading."""
    out = []
    with path.open("rb") as f:
        for flow in flow_io.FlowReader(f).stream():
            if not isinstance(flow, http.HTTPFlow):
                continue
            for side, message in (("request", flow.request), ("response", flow.response)):
                if message is None:
                    continue
                info = message_info(message)
                # An unknown Content-Encoding leaves the bytes as they came.
                content = message.get_content(strict=False) or b""
                if not is_soap(content, info.content_type):
                    continue
                out.append(f"=== {flow.request.method} {flow.request.pretty_url} {side} ===")
                out.append(render(content, info, options).text)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="mitmrelay soap-view",
        description=__doc__.split("\n\n")[0],
        epilog="examples:\n  mitmrelay soap-view flows.mitm\n"
        "  mitmrelay soap-view --content-type 'multipart/related; boundary=b' upload.bin\n"
        "  mitmrelay soap-view --soap-action '\"urn:quotes/GetQuote\"' --no-mask request.xml",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE")
    parser.add_argument("--no-mask", action="store_true", help="show WS-Security secrets")
    parser.add_argument("--content-type", help="Content-Type of message files")
    parser.add_argument("--soap-action", help="SOAPAction header of message files")
    parser.add_argument(
        "--max-bytes",
        type=int,
        default=DEFAULT_MAX_BYTES,
        help="parse at most this many bytes of a body (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    options = RenderOptions(mask=not args.no_mask, max_bytes=args.max_bytes)
    status = 0
    for path in args.files:
        try:
            data = path.read_bytes()
            if data[:1] and data[:1] in FLOW_FILE_START:
                print("\n".join(view_flows(path, options)) or f"{path}: no SOAP messages")
            else:
                info = MessageInfo(args.content_type, args.soap_action)
                print(render(data, info, options).text)
        except (OSError, exceptions.FlowReadException) as e:
            print(f"soap-view: cannot read {path}: {e}", file=sys.stderr)
            status = 1
    return status
