"""The SOAP view's and SOAP replay's options, declared and checked here: soap_mask_secrets,
soap_max_bytes, soap_validate, soap_wsdl, soap_log_calls, soap_replay, soap_replay_ignore,
soap_replay_unmatched, and the refresh of replayed requests: soap_refresh_on_replay,
soap_wsse_password, soap_sign_key, soap_sign_cert (see optionkit)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from urllib.parse import urlsplit

from mitmrelay.chain.spec import names_in
from mitmrelay.optionkit import (
    BadValue,
    Option,
    Place,
    Table,
    absolute_input,
    input_check,
    missing,
    no_such_file,
    require_env,
)

from . import replay
from .catalog import Catalog, add_file
from .render import DEFAULT_MAX_BYTES
from .wsdl import ContractError

MIN_SOAP_BYTES = 1024


def _soap_bytes(value: int) -> int:
    if value < MIN_SOAP_BYTES:
        raise ValueError(
            f"must be at least {MIN_SOAP_BYTES} bytes; the default is {DEFAULT_MAX_BYTES} (4 MiB)"
        )
    return value


def _wsdl_source(entry: str) -> Path | str:
    """A soap_wsdl entry: a WSDL file (a Path) or an http(s) URL (fetched once running)."""
    entry = entry.strip()
    if entry.startswith(("http://", "https://")):
        if not urlsplit(entry).hostname:
            raise ValueError("a URL needs a host, e.g. https://partner.example/quotes?wsdl")
        return entry
    if "://" in entry and not entry.startswith("file://"):
        raise ValueError("give a WSDL file or an http:// or https:// URL")
    if not entry.removeprefix("file://"):
        raise ValueError("an empty entry; give a WSDL file or an http(s) URL")
    return Path(entry.removeprefix("file://")).expanduser()


def _wsdl_file(source: Path | str, place: Place) -> None:
    """A WSDL file is read now, with its imports from its folder, so a bad one is refused with
    its line in a recipe; URLs are fetched once running, through the proxy chain."""
    if isinstance(source, str):
        return
    file = place.path(str(source))
    if not file.is_file():
        raise missing(
            file,
            f"no such file {str(file)!r}: fix the path (relative paths are relative to "
            f"{place.name})",
        )
    try:
        add_file(Catalog(), file)
    except ContractError as e:
        raise ValueError(str(e)) from None


def _absolute_wsdl(value: str, place: Place) -> str:
    try:
        source = _wsdl_source(value)
    except ValueError:
        return value  # refused by the check
    return value if isinstance(source, str) else str(place.path(str(source)))


def _flow_path(value: str) -> Path:
    if not value.strip():
        raise ValueError("an empty file name; give flow files written by mitmdump -w")
    return Path(value).expanduser()


def _flow_file(path: Path, place: Place) -> list:
    """The flows of a soap_replay file, read now, so a bad file is refused before traffic."""
    file = place.path(str(path))
    if not file.exists():
        raise no_such_file(file)
    return replay.read_flows(file)


def _unmatched(value: str) -> str:
    if value not in replay.UNMATCHED:
        raise ValueError(f"use one of {', '.join(replay.UNMATCHED)}")
    return value


def _password_env(value: str, environ: Mapping[str, str]) -> None:
    require_env(names_in(value), environ)


def _pem_file(value: str, place: Place) -> None:
    if value:
        input_check("file")(value, place)


def _absolute_pem(value: str, place: Place) -> str:
    return absolute_input(value, place) if value else value


TABLE = Table(
    Option(
        name="soap_mask_secrets",
        typespec=bool,
        default=True,
        help="Mask WS-Security secrets (Password, Nonce, BinarySecurityToken, BinarySecret, "
        "SignatureValue, CipherValue) in the SOAP view. Display only: the forwarded bytes "
        "are never changed. Turn off to debug your own credentials: "
        "--set soap_mask_secrets=false",
    ),
    Option(
        name="soap_max_bytes",
        typespec=int,
        default=DEFAULT_MAX_BYTES,
        help="Parse at most this many bytes of a SOAP body for the view and labels; a longer "
        "body shows what its first soap_max_bytes hold. Example: --set soap_max_bytes=16777216",
        check=_soap_bytes,
    ),
    Option(
        name="soap_validate",
        typespec=bool,
        default=True,
        help="Validate SOAP messages against the schema of their WSDL (document/literal and "
        "rpc/literal) and label those that break it `invalid (...)`; filter them with "
        "~comment invalid. Never alters, delays or blocks a message. "
        "Example: --set soap_validate=false",
    ),
    Option(
        name="soap_log_calls",
        typespec=bool,
        default=False,
        help="Also log one line per ordinary SOAP call (`POST URL: SOAP GetQuote`); an "
        "exchange with a SOAP fault or a schema-invalid message is logged anyway. Off by "
        "default: the label is in the flow comment (mitmweb's Comment column, ~comment "
        "filters), and each log line costs CPU (docs/benchmarks.md). "
        "Example: --set soap_log_calls=true",
    ),
    Option(
        name="soap_wsdl",
        typespec=Sequence[str],
        default=[],
        help="WSDL 1.1 files (their imports are read from the same folder) or http(s) URLs "
        "(fetched once at start through the same proxy chain as the traffic, with imports "
        "from the same host). WSDLs that clients fetch through the proxy (?wsdl, "
        "?singleWsdl, ?xsd=...) are learned without it. Example: --set "
        "soap_wsdl=quotes.wsdl --set soap_wsdl=https://partner.example/quotes?wsdl",
        check=_wsdl_source,
        files=_wsdl_file,
        absolute=_absolute_wsdl,
    ),
    Option(
        name="soap_replay",
        typespec=Sequence[str],
        default=[],
        help="Answer SOAP requests from these flow files (written by mitmdump -w or mitmweb), "
        "matched by endpoint path, operation and envelope content, without contacting the "
        "server; other requests (a ?wsdl) by method, path and query. "
        "Example: --set soap_replay=tests/partner.flows",
        check=_flow_path,
        files=_flow_file,
        absolute=absolute_input,
    ),
    Option(
        name="soap_replay_ignore",
        typespec=Sequence[str],
        default=[],
        help="Elements soap_replay leaves out when comparing envelopes, besides WS-Security, "
        "wsa:MessageID/RelatesTo/To and wsu:Id: {namespace}Local, Local (any namespace) or a "
        "path of such steps, e.g. {urn:example}RequestTime or Body/*/Stamp",
        check=replay.parse_ignore,
    ),
    Option(
        name="soap_replay_unmatched",
        typespec=str,
        default="fault",
        help="What soap_replay does with a request no recording matches: fault (answer a SOAP "
        "fault, HTTP 500, naming the nearest recording) or forward (send it to the server), "
        "e.g. --set soap_replay_unmatched=forward",
        choices=replay.UNMATCHED,
        check=_unmatched,
    ),
    Option(
        name="soap_refresh_on_replay",
        typespec=bool,
        default=True,
        help="Give a SOAP request replayed from mitmweb, the console or replay.client fresh "
        "WS-Security: a new wsu:Timestamp (same lifetime), wsse:Nonce and wsa:MessageID, a "
        "PasswordDigest recomputed with soap_wsse_password, the signature made again with "
        "soap_sign_key and soap_sign_cert. A part without its material goes out as recorded "
        "and the log says which. Example: --set soap_refresh_on_replay=false",
    ),
    Option(
        name="soap_wsse_password",
        typespec=str,
        default="",
        help="The WS-Security UsernameToken password from which a replayed request's "
        "PasswordDigest is computed again (and soap.new then writes a UsernameToken); give it as "
        "an environment variable, read at each replay and never written to flows or logs: "
        "--set soap_wsse_password='${WSSE_PASS}'",
        environ=_password_env,
    ),
    Option(
        name="soap_sign_key",
        typespec=str,
        default="",
        help="A PEM private key with which a replayed signed SOAP request is signed again "
        "(with soap_sign_cert; needs the sign extra, python-xmlsec). "
        "Example: --set soap_sign_key=client.key --set soap_sign_cert=client.pem",
        files=_pem_file,
        absolute=_absolute_pem,
    ),
    Option(
        name="soap_sign_cert",
        typespec=str,
        default="",
        help="The PEM certificate of soap_sign_key, named in the signature's key information "
        "of replayed requests. Example: --set soap_sign_cert=client.pem",
        files=_pem_file,
        absolute=_absolute_pem,
    ),
)


declare = TABLE.declare
use = TABLE.use
parse = TABLE.parse
check_environment = TABLE.check_environment

__all__ = ["MIN_SOAP_BYTES", "TABLE", "BadValue", "check_environment", "declare", "parse", "use"]
