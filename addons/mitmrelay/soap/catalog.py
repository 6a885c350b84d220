"""The catalog: every WSDL and schema document known (learned from traffic or configured) and
the contracts built from its WSDLs, rebuilt when an import they missed arrives.

Configured files are read with their imports from the WSDL's own folder only; URLs only from the
same origin (`same_origin`), and by the caller (fetch.py, `mitmrelay soap-view`): nothing here
opens a connection.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

from .summary import Resolution
from .wsdl import (
    MAX_DOCUMENT_BYTES,
    MAX_DOCUMENTS,
    Contract,
    ContractError,
    Operation,
    build_contract,
    kind_of,
    normalize_url,
)

# In all: a long session of clients fetching schemas must not grow memory without end.
MAX_CATALOG_DOCUMENTS = 1000


class Catalog:
    """Every WSDL and schema document known, and the contracts built from the WSDLs.

    `add()` takes a document (seen in traffic or configured) and returns the contracts it made
    or completed; operation maps and compiled schemas are kept per WSDL until it changes.
    """

    def __init__(self) -> None:
        self.documents: dict[str, bytes] = {}
        self.contracts: dict[str, Contract] = {}
        self.errors: dict[str, str] = {}
        self.generation = 0  # changes whenever a contract does: cached answers are then stale

    def lookup(self, url: str) -> bytes | None:
        key = normalize_url(url)
        if key in self.documents:
            return self.documents[key]
        # The same document reached through another host name (a reverse proxy's own address,
        # or the server's name in an absolute import): match on path and query if unique.
        parts = urlsplit(key)
        same = [
            k
            for k in self.documents
            if (urlsplit(k).path, urlsplit(k).query) == (parts.path, parts.query)
        ]
        return self.documents[same[0]] if len(same) == 1 else None

    def add(self, url: str, data: bytes) -> list[Contract]:
        """Keep a document; build the contract if it is a WSDL, rebuild those that missed it."""
        key = normalize_url(url)
        if self.documents.get(key) == data:
            return []
        if key not in self.documents and len(self.documents) >= MAX_CATALOG_DOCUMENTS:
            self.errors[key] = f"{url}: not kept: {MAX_CATALOG_DOCUMENTS} documents known already"
            return []
        self.documents[key] = data
        wanted = [k for k, c in self.contracts.items() if key in c.missing or key in c.documents]
        if kind_of(data) == "wsdl":
            wanted.append(key)
        built = []
        self.generation += 1
        for wsdl in dict.fromkeys(wanted):
            try:
                contract = build_contract(wsdl, self.lookup)
            except ContractError as e:
                self.errors[wsdl] = str(e)
                self.contracts.pop(wsdl, None)
                continue
            self.errors.pop(wsdl, None)
            if not contract.operations:  # an abstract part (portType only), or no SOAP binding
                self.contracts.pop(wsdl, None)
                continue
            self.contracts[wsdl] = contract
            built.append(contract)
        return built

    def operations(self) -> Iterable[tuple[Contract, Operation]]:
        for contract in self.contracts.values():
            for op in contract.operations:
                yield contract, op


def find_operation(catalog: Catalog, resolution: Resolution) -> Operation | None:
    """The operation a resolution names, if its WSDL is still in the catalog."""
    contract = catalog.contracts.get(resolution.wsdl)
    if contract is None:
        return None
    return next(
        (
            op
            for op in contract.operations
            if (op.name, op.port, op.binding)
            == (resolution.operation, resolution.port, resolution.binding)
        ),
        None,
    )


# -- configured files --------------------------------------------------------------------------


def add_with_imports(
    catalog: Catalog, url: str, data: bytes, load_import: Callable[[str], bytes | None]
) -> Contract:
    """Add a WSDL the user named, then the imports `load_import` agrees to give (it decides
    which are allowed), until nothing new is missing. Raises ContractError if no contract."""
    url = normalize_url(url)
    catalog.add(url, data)
    tried: set[str] = set()
    while len(tried) <= MAX_DOCUMENTS:
        new = [m for m in build_contract(url, catalog.lookup).missing if m not in tried]
        if not new:
            break
        for missing in new:
            tried.add(missing)
            found = load_import(missing)
            if found is not None:
                catalog.add(missing, found)
    contract = catalog.contracts.get(url)
    if contract is None:
        raise ContractError(catalog.errors.get(url) or f"{url}: no SOAP binding in this WSDL")
    return contract


def add_file(catalog: Catalog, path: Path) -> Contract:
    """Add a WSDL file and the files it imports. Imports are read only from the WSDL's own folder
    (or below it) and only if they are files: a WSDL naming /etc/passwd or a URL gets nothing."""
    folder = path.resolve().parent

    def load_import(url: str) -> bytes | None:
        local = Path(url2pathname(urlsplit(url).path)).resolve()
        allowed = url.startswith("file:") and local.is_relative_to(folder) and local.is_file()
        if not allowed or local.stat().st_size > MAX_DOCUMENT_BYTES:
            return None
        return local.read_bytes()

    try:
        data = path.read_bytes()
    except OSError as e:
        raise ContractError(f"{path}: cannot read: {e.strerror or e}") from e
    return add_with_imports(catalog, path.resolve().as_uri(), data, load_import)


def same_origin(base: str, url: str) -> bool:
    """Whether `url` is on the scheme, host and port of `base` (imports a URL may pull in)."""
    a, b = urlsplit(base), urlsplit(url)
    return (a.scheme, a.netloc) == (b.scheme, b.netloc)
