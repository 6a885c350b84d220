"""Proxy authentication for HTTP CONNECT hops: Basic, Digest, NTLM and Negotiate (Kerberos).

The proxy says what it accepts in `407` replies (`Proxy-Authenticate`, RFC 9110 §11.7.1); we answer
with the strongest scheme we can actually use, or with the one the hop pins (`?auth=ntlm`). NTLM and
Negotiate tokens come from pyspnego (its own NTLM code; Kerberos through the system's GSSAPI, so a
ticket from `kinit` in the user's cache works with no password at all), run in a worker process
(auth_worker.py): the proxy's challenge is read there, so a crash or hang of that native code is
not mitmproxy's. A worker that dies or is late ends the handshakes under way in it (an
auth_rejected failure naming the worker) and a new one serves the next connection. Digest is
RFC 7616, computed here: it is a few hashes over strings, and no maintained library does the
proxy side of it.

Nothing here logs: tokens and passwords only ever leave as header values written to the proxy.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import itertools
import os
import re
import sys
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from ..worker import Command, ReplyTooLong, Shared, WorkerDied, package_folders
from .protocols import AuthRejected, AuthUnsupported, RemoteProtocolError
from .protocols.http_connect import Reply

# Pinned names and the order we prefer offers in, strongest first.
SCHEMES = ("negotiate", "ntlm", "digest", "basic")
_DISPLAY = {"negotiate": "Negotiate", "ntlm": "NTLM", "digest": "Digest", "basic": "Basic"}

# RFC 7616 §3.5: algorithms we compute, strongest first. `-sess` variants hash the nonce into A1.
_DIGEST_HASHES: dict[str, Callable[[bytes], str]] = {
    "SHA-512-256": lambda b: hashlib.new("sha512_256", b).hexdigest(),
    "SHA-256": lambda b: hashlib.sha256(b).hexdigest(),
    "MD5": lambda b: hashlib.md5(b, usedforsecurity=False).hexdigest(),
}
if "sha512_256" not in hashlib.algorithms_available:  # an OpenSSL build without it
    del _DIGEST_HASHES["SHA-512-256"]

_TOKEN = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_TOKEN68 = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
_PARAM = re.compile(rf"({_TOKEN})\s*=\s*(\"(?:[^\"\\]|\\.)*\"|{_TOKEN})")


def display(scheme: str) -> str:
    """A scheme as people write it: `NTLM`, `Negotiate`."""
    return _DISPLAY.get(scheme, scheme)


@dataclass(frozen=True)
class Challenge:
    """One challenge of a `Proxy-Authenticate` header: a scheme and a token68 or parameters."""

    scheme: str  # lower-case
    token68: str | None = None
    params: dict[str, str] = field(default_factory=dict)


def _split_commas(value: str) -> list[str]:
    """Split at commas outside quoted strings."""
    parts: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    for char in value:
        if escaped:
            escaped = False
        elif char == "\\" and quoted:
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == "," and not quoted:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    return [part.strip() for part in parts if part.strip()]


def _unquote(value: str) -> str:
    if value.startswith('"') and value.endswith('"') and len(value) >= 2:
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value


def parse_challenges(values: list[str]) -> list[Challenge]:
    """Every challenge in the `Proxy-Authenticate` header values (RFC 9110 §11.6.1).

    One header may hold several challenges separated by commas, and a challenge's parameters are
    separated by commas too: an element that starts with `scheme SP` begins a new challenge.
    Elements that fit neither form are skipped: a proxy's odd header must not stop the others.
    """
    challenges: list[Challenge] = []
    for value in values:
        for element in _split_commas(value):
            head = re.match(rf"({_TOKEN})(?:\s+(.*))?$", element, re.S)
            param = _PARAM.fullmatch(element)
            if param and challenges and not (head and head.group(2)):
                challenges[-1].params[param.group(1).lower()] = _unquote(param.group(2))
                continue
            if not head:
                continue
            scheme, rest = head.group(1).lower(), (head.group(2) or "").strip()
            if not rest:
                challenges.append(Challenge(scheme))
            elif _PARAM.fullmatch(rest):
                found = _PARAM.fullmatch(rest)
                assert found
                challenges.append(
                    Challenge(scheme, params={found.group(1).lower(): _unquote(found.group(2))})
                )
            elif _TOKEN68.fullmatch(rest):
                challenges.append(Challenge(scheme, token68=rest))
    return challenges


@dataclass(frozen=True)
class Credentials:
    """What a hop may authenticate with; the username may carry a domain (`CORP\\alice`,
    `alice@CORP`)."""

    username: str | None
    password: str | None
    proxy_host: str  # the Kerberos service name is HTTP@proxy_host

    @property
    def has_password(self) -> bool:
        return self.username is not None and self.password is not None


def kerberos_missing(platform: str = sys.platform) -> str | None:
    """What to install for Kerberos when pyspnego has no backend for it here, else None.

    pyspnego does Kerberos through SSPI on Windows, elsewhere only when both the `gssapi` and `krb5`
    packages import (its `kerberos` extra), which a plain install leaves out: they are built
    against the system's Kerberos.
    """
    if platform == "win32":
        return None
    try:
        import gssapi  # noqa: F401
        import krb5  # noqa: F401
    except ImportError:
        pass
    else:
        return None
    if platform == "darwin":
        needs = "gssapi's wheels use macOS's own Kerberos: nothing else to install"
    else:
        needs = (
            "the build needs libkrb5-dev gcc python3-dev on Debian/Ubuntu, "
            "krb5-devel gcc python3-devel on Fedora"
        )
    return (
        "Kerberos support is not installed (pyspnego has no GSSAPI backend): install mitmrelay "
        "with its kerberos extra, in its checkout pipx install --force '.[kerberos]' or "
        f"pip install '.[kerberos]' ({needs}; see the README's Install)"
    )


class AuthUnavailable(Exception):
    """This scheme cannot be used with what we have (no password, no ticket); text says why."""


class Authenticator:
    """One scheme's side of the exchange; `respond` gives the next `Proxy-Authorization` value."""

    scheme = ""
    # Whether the proxy binds this scheme's exchange to the TCP connection (all legs on one).
    connection_bound = False

    def __init__(self, credentials: Credentials) -> None:
        self.credentials = credentials
        self.legs = 0

    async def respond(self, challenge: Challenge | None) -> str | None:
        """The header value for the next request, or None when the proxy's answer means "no"."""
        raise NotImplementedError

    def rejected_note(self) -> str:
        """What to add when the proxy rejected this scheme: something the user can fix here."""
        return ""


class Basic(Authenticator):
    scheme = "basic"

    def __init__(self, credentials: Credentials) -> None:
        if not credentials.has_password:
            raise AuthUnavailable("the hop has no user:password@")
        super().__init__(credentials)

    async def respond(self, challenge: Challenge | None) -> str | None:
        self.legs += 1
        if self.legs > 1:
            return None  # Basic is one leg: a second 407 rejects the credentials
        pair = f"{self.credentials.username}:{self.credentials.password}".encode()
        return "Basic " + base64.b64encode(pair).decode()


def digest_response(
    *,
    username: str,
    password: str,
    realm: str,
    nonce: str,
    uri: str,
    method: str = "CONNECT",
    algorithm: str = "MD5",
    qop: str | None = "auth",
    nc: int = 1,
    cnonce: str = "",
    body: bytes = b"",
) -> str:
    """The `response` value of RFC 7616 §3.4.1 (and RFC 2069's when qop is None)."""
    base, sess = algorithm.upper().removesuffix("-SESS"), algorithm.upper().endswith("-SESS")
    h = _DIGEST_HASHES[base]
    a1 = h(f"{username}:{realm}:{password}".encode())
    if sess:
        a1 = h(f"{a1}:{nonce}:{cnonce}".encode())
    a2 = f"{method}:{uri}" if qop != "auth-int" else f"{method}:{uri}:{h(body)}"
    if qop is None:
        return h(f"{a1}:{nonce}:{h(a2.encode())}".encode())
    return h(f"{a1}:{nonce}:{nc:08x}:{cnonce}:{qop}:{h(a2.encode())}".encode())


def digest_algorithm(challenge: Challenge) -> str | None:
    """The challenge's algorithm if we compute it, spelled as the proxy spelled it."""
    algorithm = challenge.params.get("algorithm", "MD5")
    return algorithm if algorithm.upper().removesuffix("-SESS") in _DIGEST_HASHES else None


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Digest(Authenticator):
    scheme = "digest"

    def __init__(self, credentials: Credentials, uri: str) -> None:
        if not credentials.has_password:
            raise AuthUnavailable("the hop has no user:password@")
        super().__init__(credentials)
        self.uri = uri
        self.nc = 0
        self.nonce: str | None = None

    async def respond(self, challenge: Challenge | None) -> str | None:
        if challenge is None or "nonce" not in challenge.params:
            return None  # Digest cannot go first: it needs the proxy's nonce
        params = challenge.params
        stale = params.get("stale", "").lower() == "true"
        if self.nonce is not None and not (stale and params["nonce"] != self.nonce):
            return None  # a fresh 407 on a nonce we answered: the password is wrong
        self.legs += 1
        algorithm = digest_algorithm(challenge)
        if algorithm is None:
            return None
        qops = [q.strip() for q in params.get("qop", "").split(",") if q.strip()]
        qop = "auth" if "auth" in qops else ("auth-int" if "auth-int" in qops else None)
        if qops and qop is None:
            return None
        self.nonce, self.nc = params["nonce"], self.nc + 1
        cnonce = os.urandom(16).hex()
        realm = params.get("realm", "")
        username = str(self.credentials.username)
        user_field = ("username", _quote(username))
        if params.get("userhash", "").lower() == "true":
            base = algorithm.upper().removesuffix("-SESS")
            user_field = ("username", _quote(_DIGEST_HASHES[base](f"{username}:{realm}".encode())))
        response = digest_response(
            username=username,
            password=str(self.credentials.password),
            realm=realm,
            nonce=self.nonce,
            uri=self.uri,
            algorithm=algorithm,
            qop=qop,
            nc=self.nc,
            cnonce=cnonce,
        )
        fields = [
            user_field,
            ("realm", _quote(realm)),
            ("nonce", _quote(self.nonce)),
            ("uri", _quote(self.uri)),
            ("algorithm", algorithm),
            ("response", _quote(response)),
        ]
        if qop:
            fields += [("qop", qop), ("nc", f"{self.nc:08x}"), ("cnonce", _quote(cnonce))]
        if "opaque" in params:
            fields.append(("opaque", _quote(params["opaque"])))
        if params.get("userhash", "").lower() == "true":
            fields.append(("userhash", "true"))
        return "Digest " + ", ".join(f"{k}={v}" for k, v in fields)


# The authentication worker's environment, and what each handshake brings of this process's:
# where Kerberos finds its configuration, tickets and keys, and pyspnego's NTLM settings.
_KERBEROS_ENV = (
    "KRB5_CONFIG",
    "KRB5CCNAME",
    "KRB5_KTNAME",
    "KRB5_CLIENT_KTNAME",
    "KRB5RCACHEDIR",
    "KRB5RCACHETYPE",
    "KRB5_TRACE",
    "NTLM_USER_FILE",
    "LM_COMPAT_LEVEL",
)
_ENV_KEPT = ("PATH", "SYSTEMROOT", "LANG", "LC_ALL", *_KERBEROS_ENV)
WORKER = Path(__file__).with_name("auth_worker.py")
# One leg: NTLM is instant, Kerberos may ask a KDC (krb5's own retries take seconds).
LEG_SECONDS = 15.0
_ids = itertools.count(1)
# Workers that may run at once: one leg at a time each, and a Kerberos leg may wait seconds on a
# KDC; the others keep other connections' handshakes going meanwhile.
POOL_SIZE = 4
_turn = itertools.count()


class _AuthWorker(NamedTuple):
    shared: Shared
    ended: list[int]  # its contexts whose handshake ended here, for it to drop


# Made here, not at first use: connections authenticate concurrently, and every leg of a
# handshake must reach the worker holding its context. Each process starts at its first use.
_POOL = tuple(
    _AuthWorker(
        Shared(
            Command(
                WORKER,
                tuple(package_folders("spnego", "gssapi", "krb5", "cryptography")),
                _ENV_KEPT,
                "authentication worker",
            )
        ),
        [],
    )
    for _ in range(POOL_SIZE)
)


def auth_worker() -> Shared:
    """The first authentication worker: the one a handshake takes when no other is under way."""
    return _POOL[0].shared


def _pick() -> _AuthWorker:
    """A worker for a new handshake: the first idle one, else each in turn."""
    for candidate in _POOL:
        if not candidate.shared.busy:
            return candidate
    return _POOL[next(_turn) % POOL_SIZE]


def _take(ended: list[int]) -> list[int]:
    """Every item of ended, taken out (other threads may append or take meanwhile)."""
    taken = []
    while True:
        try:
            taken.append(ended.pop())
        except IndexError:
            return taken


class _Spnego(Authenticator):
    """NTLM or Negotiate through pyspnego, in the authentication worker (auth_worker.py): the
    proxy's tokens are read there, never here. Each leg may block (Kerberos asks the KDC): a
    thread waits for it."""

    protocol = ""
    connection_bound = True

    def __init__(self, credentials: Credentials) -> None:
        super().__init__(credentials)
        self._id = next(_ids)  # the context's key in the worker
        self._worker: _AuthWorker | None = None  # the worker holding it, once made there
        self._generation: int | None = None  # and which of that worker's processes
        self._complete = False

    def _step(self, token: bytes | None) -> bytes | None:
        request: dict[str, Any] = {"token": base64.b64encode(token).decode() if token else None}
        if self._generation is None:
            request |= {
                "open": self._id,
                "protocol": self.protocol,
                "username": self.credentials.username,
                "password": self.credentials.password,
                "hostname": self.credentials.proxy_host,
                "env": {name: os.environ.get(name) for name in _KERBEROS_ENV},
            }
        else:
            request["step"] = self._id
        if self._worker is None:
            self._worker = _pick()
            weakref.finalize(self, self._worker.ended.append, self._id)
        worker = self._worker
        try:
            self._generation, reply = worker.shared.ask(
                request | {"forget": _take(worker.ended)}, LEG_SECONDS, self._generation
            )
        except (WorkerDied, ReplyTooLong) as e:
            raise AuthRejected(
                f"{display(self.scheme)}: {e} during the handshake; the next connection starts "
                "a new one"
            ) from None
        if "error" in reply:
            if not reply.get("refused"):
                raise RemoteProtocolError(
                    f"{display(self.scheme)}: pyspnego could not read the proxy's token "
                    f"({reply['error']})"
                )
            raise AuthUnavailable(self._why(str(reply["error"])))
        self._complete = bool(reply["complete"])
        return base64.b64decode(reply["token"]) if reply["token"] else None

    def _why(self, error: str) -> str:
        return f"{display(self.scheme)} could not make a token ({error})"

    async def first(self) -> str:
        """The first leg's header value; AuthUnavailable if we have nothing to make it from."""
        self.legs = 1
        token = await asyncio.to_thread(self._step, None)
        assert token
        return f"{display(self.scheme)} {base64.b64encode(token).decode()}"

    async def respond(self, challenge: Challenge | None) -> str | None:
        if challenge is None:
            return await self.first() if self.legs == 0 else None
        if not challenge.token68 or self._generation is None or self._complete:
            return None  # a bare challenge after our token: the proxy rejected it
        self.legs += 1
        try:
            incoming = base64.b64decode(challenge.token68, validate=True)
        except ValueError:
            return None
        try:
            token = await asyncio.to_thread(self._step, incoming)
        except AuthUnavailable:
            return None
        if not token:
            return None
        return f"{display(self.scheme)} {base64.b64encode(token).decode()}"


class Ntlm(_Spnego):
    scheme = "ntlm"
    protocol = "ntlm"

    def __init__(self, credentials: Credentials) -> None:
        if not credentials.has_password:
            raise AuthUnavailable("the hop has no user:password@ (DOMAIN%5Cuser:pass@)")
        super().__init__(credentials)


class Negotiate(_Spnego):
    """SPNEGO: Kerberos when a ticket (or a password the KDC accepts) is there, else NTLM inside."""

    scheme = "negotiate"
    protocol = "negotiate"

    def _why(self, error: str) -> str:
        missing = kerberos_missing()
        if self.credentials.has_password:
            if missing:
                return f"NTLM could not use the hop's credentials here, and {missing}"
            return "neither Kerberos nor NTLM accepted the hop's credentials here"
        if missing:
            return f"{missing}, and the hop has no user:password@ for NTLM"
        return (
            "we have no Kerberos ticket (run kinit, or check KRB5CCNAME) and the hop has no "
            "user:password@ for NTLM"
        )

    def rejected_note(self) -> str:
        # Without a Kerberos backend SPNEGO offers only NTLM, which a Kerberos-only proxy refuses.
        missing = kerberos_missing()
        return f"; only NTLM could be offered: {missing}" if missing else ""


def make(scheme: str, credentials: Credentials, uri: str) -> Authenticator:
    """An authenticator for scheme; AuthUnavailable says why we cannot use it."""
    if scheme == "basic":
        return Basic(credentials)
    if scheme == "digest":
        return Digest(credentials, uri)
    if scheme == "ntlm":
        return Ntlm(credentials)
    if scheme == "negotiate":
        return Negotiate(credentials)
    raise AuthUnavailable("not supported")


def rank(challenges: list[Challenge]) -> list[Challenge]:
    """Offers we know, strongest first; Digest offers by algorithm strength."""
    known = [c for c in challenges if c.scheme in SCHEMES]

    def strength(challenge: Challenge) -> tuple[int, int]:
        if challenge.scheme != "digest":
            return SCHEMES.index(challenge.scheme), 0
        algorithm = (digest_algorithm(challenge) or "").upper().removesuffix("-SESS")
        order = list(_DIGEST_HASHES)
        return SCHEMES.index("digest"), order.index(algorithm) if algorithm in order else 99

    return sorted(known, key=strength)


@dataclass(frozen=True, slots=True)
class Answer:
    """What the next CONNECT request carries: its Proxy-Authorization value (None: nothing), the
    scheme's name for messages, and whether it must go on a new connection."""

    value: str | None
    scheme: str | None = None
    new_connection: bool = False


class Responder:
    """Which scheme answers a proxy's 407s, and with what: the policy the CONNECT machine
    (protocols.ConnectClient) asks for at each NeedToken.

    pinned names the one scheme to use; Basic, NTLM and Negotiate then go with the first request.
    Otherwise the first request carries no credentials and the proxy's 407 decides: the strongest
    offer we can use. Failures are ProxyFailures whose text never holds a token or a password.
    """

    def __init__(self, credentials: Credentials, target: str, pinned: str | None = None) -> None:
        self.credentials = credentials
        self.target = target
        self.pinned = pinned
        self.authenticator: Authenticator | None = None

    @property
    def tried(self) -> str | None:
        return display(self.authenticator.scheme) if self.authenticator else None

    async def answer(self, reply: Reply | None) -> Answer:
        """The answer to NeedToken(reply): reply None before the first request."""
        if reply is None:
            return await self._first()
        challenges = parse_challenges(reply.header("proxy-authenticate"))
        if self.authenticator is None:
            try:
                chosen = await self._choose(challenges, self.pinned)
            except AuthUnsupported as e:
                raise AuthUnsupported(f"{reply.line}: {e.reason}", 407) from None
            return await self._onward(reply, chosen)
        authenticator = self.authenticator
        same = [c for c in challenges if c.scheme == authenticator.scheme]
        if self.pinned and not same:
            raise AuthUnsupported(self._pin_unmet(challenges), 407)
        value = await authenticator.respond(same[0] if same else None)
        if value is None and authenticator.scheme == "negotiate" and not self.pinned:
            # A proxy that offers Negotiate may only do Kerberos, and SPNEGO's NTLM inside it is
            # then refused: go on with the next offer, as browsers do. squid keeps the failed
            # scheme bound to the connection, so the next offer needs a new one.
            others = [c for c in challenges if c.scheme != "negotiate"]
            if rank(others):
                value = await self._choose(others, None, skip=("negotiate",))
                return Answer(value, self.tried, new_connection=True)
        if value is None:
            raise AuthRejected(
                f"407 after {self.tried}: credentials rejected ({reply.line})"
                + authenticator.rejected_note(),
                407,
            )
        return await self._onward(reply, value)

    async def _first(self) -> Answer:
        if self.pinned not in ("basic", "ntlm", "negotiate"):
            return Answer(None)
        try:
            self.authenticator = make(self.pinned, self.credentials, self.target)
            return Answer(await self.authenticator.respond(None), self.tried)
        except AuthUnavailable as e:
            raise AuthUnsupported(f"auth={self.pinned}: {e}") from None

    async def _onward(self, reply: Reply, value: str) -> Answer:
        """value, or a first leg again when a connection-bound scheme must start over on the new
        connection a proxy that closes after its 407 needs; past its first leg it is lost."""
        authenticator = self.authenticator
        assert authenticator is not None
        if reply.reusable or not authenticator.connection_bound:
            return Answer(value, self.tried)
        if authenticator.legs > 1:
            raise RemoteProtocolError(
                f"the proxy closed the connection after 407 during {self.tried}", 407
            )
        self.authenticator = make(authenticator.scheme, self.credentials, self.target)
        return Answer(await self.authenticator.respond(None), self.tried)

    def _pin_unmet(self, challenges: list[Challenge]) -> str:
        return f"the hop pins auth={self.pinned} but the proxy offers {_offers(challenges)}"

    async def _choose(
        self, challenges: list[Challenge], pinned: str | None, skip: tuple[str, ...] = ()
    ) -> str:
        """The first header value of the strongest offer we can use; its authenticator is kept."""
        offered = [c for c in rank(challenges) if c.scheme not in skip]
        if pinned:
            offered = [c for c in offered if c.scheme == pinned]
            if not offered:
                raise AuthUnsupported(self._pin_unmet(challenges), 407)
        why = []
        for challenge in offered:
            try:
                authenticator = make(challenge.scheme, self.credentials, self.target)
                value = await authenticator.respond(
                    challenge if challenge.scheme == "digest" else None
                )
            except AuthUnavailable as e:
                why.append(f"{display(challenge.scheme)}: {e}")
                continue
            if value:
                self.authenticator = authenticator
                return value
            why.append(f"{display(challenge.scheme)}: its challenge has nothing we can answer")
        detail = f"; {'; '.join(why)}" if why else ""
        if skip:
            detail = f"; {display(skip[0])} was rejected" + detail
        raise AuthUnsupported(
            f"no supported authentication scheme: offered {_offers(challenges)}{detail}", 407
        )


def _offers(challenges: list[Challenge]) -> str:
    names = []
    for challenge in challenges:
        name = display(challenge.scheme)
        if challenge.scheme == "digest" and "algorithm" in challenge.params:
            name += f" ({challenge.params['algorithm']})"
        if name not in names:
            names.append(name)
    return ", ".join(names) or "nothing"
