"""The Setup page's handlers, mounted into mitmweb's own tornado application.

mitmweb has no plugin API. Its application (`WebMaster.app`) routes by host; `mount` adds our
rules under the host pattern that routes mitmweb's own index page, so mitmweb 11's host check
(DNS-rebinding protection) applies to our paths as to its own. Every handler subclasses mitmweb's
`RequestHandler`: on mitmweb 12 (from 11.1.2) that class wraps each method of a subclass in its
token check, and its `prepare` refuses cross-site requests; on both, tornado checks the XSRF token
of every POST. Our POSTs also want `Content-Type: application/json` (no form a foreign page can
post without a CORS preflight) and, when the browser sends one, an Origin of this host.

Importing this module reaches into mitmweb's private modules: the addon imports it inside its
guard (addon.py) and turns any mismatch into one log line.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import urllib.parse
from pathlib import Path
from typing import Any

import tornado.web
from mitmproxy import exceptions
from mitmproxy.tools.web import app as web_app
from tornado.routing import AnyMatches, HostMatches

from mitmrelay.chain import check as engine
from mitmrelay.chain import schemes
from mitmrelay.chain.proxyauth import SCHEMES as AUTH_SCHEMES
from mitmrelay.recipe import shipped
from mitmrelay.recipe import validate as recipes
from mitmrelay.recipe.catalog import catalog
from mitmrelay.streams import socat_format

from . import form as setup_form

STATIC = Path(__file__).resolve().parent / "static"
_FILES = {"setup.js": "text/javascript", "setup.css": "text/css"}
_RECIPE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


class Refused(Exception):
    def __init__(self, status: int, errors: dict[str, str]) -> None:
        super().__init__(status)
        self.status = status
        self.errors = errors


class _Handler(web_app.RequestHandler):
    def initialize(self, setup: Any) -> None:
        self.setup = setup

    def prepare(self) -> None:
        if self.request.method not in ("GET", "HEAD"):
            headers = self.request.headers
            if not headers.get("Content-Type", "").startswith("application/json"):
                raise tornado.web.HTTPError(415, "the Setup page's API takes application/json")
            origin = headers.get("Origin")
            # mitmweb 12 refuses these too, but with a 500 (an HTTPError of tornado's client)
            if headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none") or (
                origin and urllib.parse.urlsplit(origin).netloc != self.request.host
            ):
                raise tornado.web.HTTPError(403, "cross-origin request refused")
        super().prepare()

    def body(self) -> dict[str, Any]:
        try:
            data = json.loads(self.request.body or b"{}")
        except ValueError as e:
            raise Refused(400, {"request": f"not JSON: {e}"}) from None
        if not isinstance(data, dict):
            raise Refused(400, {"request": "expected a JSON object"})
        return data

    def answer(self, data: dict[str, Any], status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps(data))


class Page(_Handler):
    def get(self) -> None:
        html = (STATIC / "index.html").read_text(encoding="utf-8")
        token = self.xsrf_token.decode()  # sets the XSRF cookie our POSTs echo
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(html.replace("{{xsrf}}", token))


class Static(_Handler):
    def get(self, name: str) -> None:
        if name not in _FILES:
            raise tornado.web.HTTPError(404)
        self.set_header("Content-Type", f"{_FILES[name]}; charset=UTF-8")
        self.finish((STATIC / name).read_bytes())


class State(_Handler):
    def get(self) -> None:
        self.answer(
            {
                "form": setup_form.from_options(self.master.options),
                "schemes": [
                    {
                        "name": s.name,
                        "port": s.port_hint,
                        "password": s.credentials is schemes.Credentials.USER_AND_PASSWORD,
                        "connect": s.handshake is schemes.Handshake.HTTP_CONNECT,
                        "proxy": s.proxy,
                    }
                    for s in schemes.SCHEMES.values()
                ],
                "auth": list(AUTH_SCHEMES),
                "formats": list(socat_format.FORMATS),
                "recipes": sorted(shipped.available()),
                "recipe_dir": str(shipped.user_dir()),
            }
        )


class Apply(_Handler):
    def post(self) -> None:
        try:
            built = setup_form.build(self.body().get("form") or {}, self.master.options.proxy_chain)
            if built.errors:
                raise Refused(400, built.errors)
            apply(self.master.options, built)
        except Refused as e:
            self.answer({"errors": e.errors}, e.status)
            return
        self.answer({"applied": True, "form": setup_form.from_options(self.master.options)})


def apply(opts: Any, built: setup_form.Built) -> None:
    """Set the built options at once; on a refusal nothing changes (mitmproxy rolls the options
    back, and the passwords put in the environment are taken out again)."""
    before = {name: os.environ.get(name) for name in built.secrets}
    os.environ.update(built.secrets)
    try:
        opts.update(**built.options)
    except exceptions.OptionsError as e:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        text = str(e)
        raise Refused(400, {setup_form.field_of(text): text}) from None


class StartCheck(_Handler):
    def post(self) -> None:
        target = str(self.body().get("target", "")).strip()
        try:
            parsed = engine.parse_target(target)
        except ValueError as e:
            self.answer({"errors": {"target": str(e)}}, 400)
            return
        chain = self.master.addons.get("proxychain")
        if chain is None:
            self.answer({"errors": {"target": "the chain addon is not loaded"}}, 400)
            return
        self.answer({"id": self.setup.start_check(chain, self.master.options, parsed)})


class CheckSteps(_Handler):
    def get(self, check_id: str) -> None:
        found = self.setup.checks.get(check_id)
        if found is None:
            raise tornado.web.HTTPError(404)
        self.answer(found.as_json())


class Route(_Handler):
    """POST {host, port[, form]}: the route a destination takes: with the form as it stands
    (not applied: bypass, routes, chain, the proxy environment, the running PAC file if the form
    names it), or without it on the running options."""

    async def post(self) -> None:
        data = self.body()
        chain = self.master.addons.get("proxychain")
        host, port = str(data.get("host", "")).strip(), str(data.get("port", "")).strip()
        if not host or not port.isdigit() or chain is None:
            self.answer({"errors": {"route_probe": "give a host and a port number"}}, 400)
            return
        if isinstance(data.get("form"), dict):
            built = setup_form.build(data["form"], self.master.options.proxy_chain)
            if built.errors:
                self.answer({"errors": built.errors}, 400)
                return
            route = await setup_form.preview(built, host, int(port), chain.pac)
            self.answer({"route": route})
            return
        decision = await chain.decide(host, int(port))
        self.answer({"route": f"{host}:{port}: {setup_form.describe(decision)}"})


class Wsdls(_Handler):
    def get(self) -> None:
        """The WSDLs known, as the `soap.wsdls` command lists them (none without the SOAP addon)."""
        try:
            found = self.master.commands.call("soap.wsdls")
        except exceptions.CommandError:
            found = []
        self.answer({"wsdls": list(found)})


class LoadRecipe(_Handler):
    def get(self) -> None:
        name = self.get_argument("name", "")
        known = shipped.available()  # by name only: the page reads no other file
        try:
            if name not in known:
                raise ValueError(f"no recipe named {name!r}; the names are: {', '.join(known)}")
            path = known[name]
            recipe, problems = recipes.parse(path.read_text(encoding="utf-8"), str(path))
        except (ValueError, OSError) as e:
            self.answer({"errors": {"recipe": str(e)}}, 400)
            return
        if problems:
            self.answer({"errors": {"recipe": str(problems[0])}}, 400)
            return
        data = recipe.data if isinstance(recipe.data, dict) else {}
        self.answer(
            {
                "form": setup_form.from_recipe(data),
                "description": str(data.get("description", "")),
                "path": str(path),
            }
        )


class SaveRecipe(_Handler):
    """POST {form, name, description, save, replace}: the recipe's YAML and its problems, judged
    as `mitmrelay recipes check` judges them; with save, written into the user's recipe folder.
    A recipe of that name already there is replaced only with replace: else 409, and the page
    asks (nothing a user wrote is lost by a click)."""

    def post(self) -> None:
        data = self.body()
        name = str(data.get("name", "")).strip().removesuffix(".yaml")
        built = setup_form.build(
            data.get("form") or {}, self.master.options.proxy_chain, for_recipe=True
        )
        if built.errors:
            self.answer({"errors": built.errors}, 400)
            return
        text = setup_form.recipe_yaml(built, str(data.get("description", "")))
        folder = shipped.user_dir()
        file = folder / f"{name or 'new'}.yaml"
        recipe, problems = recipes.parse(text, str(file))
        problems += recipes.validate(recipe, catalog(self.master.options), os.environ, folder)
        answer: dict[str, Any] = {"yaml": text, "problems": [str(p) for p in problems]}
        if data.get("save"):
            if not _RECIPE_NAME.fullmatch(name):
                self.answer({"errors": {"recipe_name": "name it with letters, digits, - _ ."}}, 400)
                return
            errors = [str(p) for p in problems if p.severity == "error"]
            if errors:
                self.answer({"errors": {"recipe_name": errors[0]}, **answer}, 400)
                return
            if file.exists() and not data.get("replace"):
                self.answer(
                    {
                        "errors": {
                            "recipe_name": f"{file} exists: Replace it, or choose another name"
                        },
                        "exists": str(file),
                        **answer,
                    },
                    409,
                )
                return
            folder.mkdir(parents=True, exist_ok=True)
            file.write_text(text, encoding="utf-8")
            answer.update(saved=str(file), download=f"api/recipe/download?name={name}")
        self.answer(answer)


class DownloadRecipe(_Handler):
    def get(self) -> None:
        name = self.get_argument("name", "")
        file = shipped.user_dir() / f"{name}.yaml"
        if not _RECIPE_NAME.fullmatch(name) or not file.is_file():
            raise tornado.web.HTTPError(404)
        self.set_header("Content-Type", "application/x-yaml; charset=UTF-8")
        self.set_header("Content-Disposition", f'attachment; filename="{name}.yaml"')
        self.finish(file.read_bytes())


class CheckRun:
    """One check started from the page: its lines as they come, for the page to poll."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.done = False
        self.reached = False

    def as_json(self) -> dict[str, Any]:
        return {"lines": self.lines, "done": self.done, "reached": self.reached}

    async def run(self, chain: Any, opts: Any, target: engine.Target) -> None:
        try:
            self.reached = await engine.check(chain, opts, target, self.lines.append)
        finally:
            self.done = True


def new_check_id() -> str:
    return secrets.token_hex(8)


def _routes_index(router: Any) -> bool:
    return any(getattr(rule, "target", None) is web_app.IndexHandler for rule in router.rules)


def host_pattern(application: Any) -> str:
    """The host pattern mitmweb's own index page is routed under (11: IP addresses and
    localhost only; 12: any host, the token guards it)."""
    for rule in application.default_router.rules:
        router = rule.target
        if not hasattr(router, "rules") or not _routes_index(router):
            continue
        if isinstance(rule.matcher, HostMatches):
            return rule.matcher.host_pattern.pattern
        if isinstance(rule.matcher, AnyMatches):
            return ".*$"
    raise RuntimeError("mitmweb's index page is not among its application's routes")


def mount(application: Any, setup: Any) -> None:
    """Add the Setup page's routes to mitmweb's application; RuntimeError if its shape is not
    the one known (mitmproxy 11.0 to 12.x)."""
    if not isinstance(application, tornado.web.Application):
        raise RuntimeError(f"mitmweb's app is a {type(application).__name__}, not tornado's")
    if not isinstance(getattr(web_app, "RequestHandler", None), type):
        raise RuntimeError("mitmweb has no RequestHandler to route through")
    kwargs = {"setup": setup}
    application.add_handlers(
        host_pattern(application),
        [
            (r"/mitmrelay/?", Page, kwargs),
            (r"/mitmrelay/static/([a-z.]+)", Static, kwargs),
            (r"/mitmrelay/api/state", State, kwargs),
            (r"/mitmrelay/api/apply", Apply, kwargs),
            (r"/mitmrelay/api/check", StartCheck, kwargs),
            (r"/mitmrelay/api/check/([0-9a-f]+)", CheckSteps, kwargs),
            (r"/mitmrelay/api/route", Route, kwargs),
            (r"/mitmrelay/api/wsdls", Wsdls, kwargs),
            (r"/mitmrelay/api/recipe", LoadRecipe, kwargs),
            (r"/mitmrelay/api/recipe/save", SaveRecipe, kwargs),
            (r"/mitmrelay/api/recipe/download", DownloadRecipe, kwargs),
        ],
    )


def spawn(coroutine: Any, keep: set[asyncio.Task]) -> None:
    task = asyncio.get_running_loop().create_task(coroutine)
    keep.add(task)
    task.add_done_callback(keep.discard)
