"""`mitmrelay soap-view`: the SOAP view (summary, then the envelope pretty-printed, secrets
masked) of message files or of the SOAP messages in mitmproxy flow files (`mitmdump -w` output),
for offline use and CI logs. The XML is read as untrusted input; nothing is expanded, and nothing
is fetched except the `--wsdl` URLs you give (and their imports on the same host).

A flow file also teaches the view the WSDLs in it (the `?wsdl` answers a client fetched), so its
messages are named after their WSDL operations and validated against its schema.

Usage:
    mitmrelay soap-view flows.mitm
    mitmrelay soap-view --wsdl quotes.wsdl --soap-action '"urn:quotes/GetQuote"' request.xml
    mitmrelay soap-view --wsdl https://partner.example/quotes?wsdl flows.mitm
    mitmrelay soap-view --content-type 'multipart/related; boundary=b' upload.bin
    mitmrelay soap-view --no-mask --no-validate request.xml
"""

from __future__ import annotations

import argparse
import sys
import urllib.request
from pathlib import Path

from mitmproxy import exceptions, http
from mitmproxy import io as flow_io

from ..soap import DEFAULT_MAX_BYTES, MessageInfo, RenderOptions, is_soap
from ..soap.catalog import add_file, add_with_imports, same_origin
from ..soap.contentview import message_info, render_message
from ..soap.render import Inspector
from ..soap.wsdl import MAX_DOCUMENT_BYTES, Contract, ContractError, kind_of

# tnetstring, the flow file format, starts with the length of the first flow.
FLOW_FILE_START = b"0123456789"


FETCH_TIMEOUT = 30


def fetch(url: str) -> bytes:
    """A WSDL or schema the user named by URL, bounded in size."""
    with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT) as answer:
        data = answer.read(MAX_DOCUMENT_BYTES + 1)
    return data


def load_wsdl(inspector: Inspector, source: str) -> Contract:
    """A --wsdl file (imports from its folder) or URL (imports from the same host only)."""
    if "://" not in source or source.startswith("file://"):
        return add_file(inspector.catalog, Path(source.removeprefix("file://")))

    def load_import(url: str) -> bytes | None:
        if not same_origin(source, url):
            return None
        try:
            return fetch(url)
        except OSError:
            return None

    try:
        data = fetch(source)
    except OSError as e:
        raise ContractError(f"{source}: cannot fetch: {e}") from e
    return add_with_imports(inspector.catalog, source, data, load_import)


def _flows(path: Path) -> list[http.HTTPFlow]:
    with path.open("rb") as f:
        return [fl for fl in flow_io.FlowReader(f).stream() if isinstance(fl, http.HTTPFlow)]


def learn_flows(inspector: Inspector, flows: list[http.HTTPFlow]) -> list[str]:
    """Keep the WSDL and schema documents the flows fetched; the log lines of contracts made."""
    learned = []
    for flow in flows:
        response = flow.response
        if flow.request.method != "GET" or response is None or response.status_code != 200:
            continue
        content = response.get_content(strict=False) or b""
        if kind_of(content):
            for found in inspector.catalog.add(flow.request.pretty_url, content):
                learned.append(f"SOAP: learned {found.describe()}")
    return learned


def view_flows(inspector: Inspector, flows: list[http.HTTPFlow]) -> list[str]:
    """The SOAP view of every SOAP request and response in a flow file, each under a heading."""
    out = []
    for flow in flows:
        for side, message in (("request", flow.request), ("response", flow.response)):
            if message is None:
                continue
            info = message_info(message)
            # An unknown Content-Encoding leaves the bytes as they came.
            content = message.get_content(strict=False) or b""
            if not is_soap(content, info.content_type):
                continue
            out.append(f"=== {flow.request.method} {flow.request.pretty_url} {side} ===")
            out.append(render_message(inspector, content, message, flow, None)[1])
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="mitmrelay soap-view",
        description=__doc__.split("\n\n")[0],
        epilog="examples:\n  mitmrelay soap-view flows.mitm\n"
        "  mitmrelay soap-view --soap-action '\"urn:quotes/GetQuote\"' --no-mask request.xml",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE")
    parser.add_argument("--no-mask", action="store_true", help="show WS-Security secrets")
    parser.add_argument("--content-type", help="Content-Type of message files")
    parser.add_argument("--soap-action", help="SOAPAction header of message files")
    parser.add_argument(
        "--wsdl",
        action="append",
        default=[],
        metavar="FILE_OR_URL",
        help="a WSDL describing the messages (repeatable); a file's imports are read from its "
        "folder, a URL's from the same host",
    )
    side = parser.add_mutually_exclusive_group()
    side.add_argument("--request", action="store_true", help="message files are requests")
    side.add_argument("--response", action="store_true", help="message files are responses")
    parser.add_argument("--no-validate", action="store_true", help="skip schema validation")
    parser.add_argument(
        "--max-bytes",
        type=int,
        default=DEFAULT_MAX_BYTES,
        help="parse at most this many bytes of a body (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    inspector = Inspector(
        RenderOptions(
            mask=not args.no_mask, max_bytes=args.max_bytes, validate=not args.no_validate
        )
    )
    try:
        for source in args.wsdl:
            print(f"SOAP: learned {load_wsdl(inspector, source).describe()}", file=sys.stderr)
    except ContractError as e:
        print(f"soap-view: cannot use --wsdl: {e}", file=sys.stderr)
        return 2
    status = 0
    for path in args.files:
        try:
            data = path.read_bytes()
            if data[:1] and data[:1] in FLOW_FILE_START:
                flows = _flows(path)
                for line in learn_flows(inspector, flows):
                    print(line, file=sys.stderr)
                print("\n".join(view_flows(inspector, flows)) or f"{path}: no SOAP messages")
            else:
                is_request = True if args.request else False if args.response else None
                info = MessageInfo(args.content_type, args.soap_action, is_request)
                print(inspector.render(data, info).text)
        except (OSError, exceptions.FlowReadException) as e:
            print(f"soap-view: cannot read {path}: {e}", file=sys.stderr)
            status = 1
    return status
