"""The first hour of a user (issue 21): every command the README and docs/ show, and every shipped
recipe's `# Run:` line, run with the installed wheel (the `installed` fixture) from a directory
outside the checkout, against local peers, asserting output and exit status.

Every command of a code block is in COMMANDS: with how it runs here, or with why it does not. A
command added to the docs without an entry fails test_every_command_of_the_docs_is_run_or_says_why.
What a command names that does not exist here is replaced, and only that: placeholder hosts by
local peers (microsocks, tinyproxy, origins from peers.py), fixed ports by free ones, and a
checkout's `addons/NAME.py` by the installed package's addon script (every addon; a wheel has no
addons/ folder). A private CA (the origins') is trusted as the README says, with
`--set ssl_verify_upstream_trusted_ca=`.
"""

from __future__ import annotations

import re
import shlex
import shutil
import signal
import socket
import subprocess
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml
from mitmrelay.testing import HOST, Process, free_port, make_client_cert, wait_for
from peers import REPO, BannerServer, FileServer, curl, soap_call
from wheel_helpers import Installed

PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
RECIPES = sorted((REPO / "recipes").glob("*.yaml"))
PROGRAMS = {"mitmdump", "mitmweb", "mitmrelay", "export", "pipx", "pip", "socat", "curl", "kinit"}
PROGRAM_FOLDERS = ("scripts/", "bench/", ".venv/")
SHELL_FENCES = {"sh", "shell", "console", "bash"}
SECRET = "pw-first-hour"
PAC = "function FindProxyForURL(url, host) { return 'DIRECT'; }\n"


# --- the commands of the docs ---------------------------------------------------------------------


@dataclass(frozen=True)
class Block:
    """A code block of a page: indented by four spaces, or fenced as shell."""

    where: str  # page:line
    lines: tuple[str, ...]


def code_blocks(page: Path) -> Iterator[Block]:
    name = str(page.relative_to(REPO))
    lines = page.read_text().splitlines()
    i = 0
    while i < len(lines):
        fence = re.match(r"```(\w*)", lines[i])
        if fence:
            end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
            if fence.group(1) in SHELL_FENCES:
                yield Block(f"{name}:{i + 2}", tuple(lines[i + 1 : end]))
            i = end + 1
        elif lines[i].startswith("    ") and (i == 0 or not lines[i - 1].strip()):
            start = i
            while i < len(lines) and (lines[i].startswith("    ") or not lines[i].strip()):
                i += 1
            body = [line[4:] for line in lines[start:i]]
            while body and not body[-1].strip():
                body.pop()
            yield Block(f"{name}:{start + 1}", tuple(body))
        else:
            i += 1


def without_comment(line: str) -> str:
    """The line up to a shell comment (a # after a space, outside quotes), spaces collapsed."""
    quote = ""
    for i, char in enumerate(line):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (i == 0 or line[i - 1].isspace()):
            line = line[:i]
            break
    return " ".join(line.split())


def logical_lines(lines: tuple[str, ...] | list[str]) -> list[str]:
    """Lines joined at a trailing backslash, comments dropped, empty ones left out."""
    out, pending = [], ""
    for line in lines:
        text = without_comment(line)
        if text.endswith("\\"):
            pending += text[:-1] + " "
            continue
        if joined := " ".join((pending + text).split()):
            out.append(joined)
        pending = ""
    return out


def is_command(line: str) -> bool:
    word = line.split()[0]
    return (
        word in PROGRAMS
        or word.startswith(PROGRAM_FOLDERS)
        or re.fullmatch(r"[A-Z_]+=\S*", word) is not None  # VAR=value command
    )


def commands_of(block: Block) -> list[str]:
    """The commands of a block: its `$ ` lines in a transcript, else its lines when the first
    reads as a command (a later line of output then fails as a command nobody listed); [] for a
    block of OUTPUT or one that does not start with a command (which then must be in OUTPUT)."""
    if block.lines[0].strip() in OUTPUT:
        return []
    if any(line.startswith("$ ") for line in block.lines):
        return logical_lines([line[2:] for line in block.lines if line.startswith("$ ")])
    lines = logical_lines(block.lines)
    return lines if lines and is_command(lines[0]) else []


def docs_commands() -> dict[str, list[str]]:
    """Each command of the docs, and where it is (page:line of its block)."""
    found: dict[str, list[str]] = {}
    for page in PAGES:
        for block in code_blocks(page):
            for command in commands_of(block):
                found.setdefault(command, []).append(block.where)
    return found


# --- how commands run here ------------------------------------------------------------------------


@dataclass(frozen=True)
class Start:
    """Started as written, bar `subs` (each must occur) and `extra` arguments, with `env`;
    ready once mitmproxy listens on {port}; then stopped with SIGTERM: exit status 0, no traceback.
    {port}, {web_port} and {pac} (a local PAC file's URL) are filled in at the start."""

    subs: Mapping[str, str] = field(default_factory=dict)
    extra: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)


LISTEN = ("--listen-host", HOST, "--listen-port", "{port}")
WEB = ("--set", "web_port={web_port}", "--set", "web_open_browser=false")
AT_PORT = {"@5000": "@{port}"}


def substitute(command: str, subs: Mapping[str, str], installed: Installed) -> str:
    for old, new in subs.items():
        assert old in command, f"{old!r} is not in {command!r}: update the test with the docs"
        command = command.replace(old, new)
    return re.sub(r"\baddons/\w+\.py\b", str(installed.script), command)


def split(command: str) -> tuple[dict[str, str], list[str]]:
    """(the VAR=value words before the program, the program's argv), as the shell splits it."""
    words, env = shlex.split(command), {}
    while "=" in words[0] and re.fullmatch(r"[A-Z_]+=.*", words[0]):
        name, _, value = words.pop(0).partition("=")
        env[name] = value
    return env, words


@dataclass
class Job:
    """A docs command made ready to run here: argv, its environment, the port it listens on."""

    argv: list[str]
    env: dict[str, str]
    port: int


def prepare(
    installed: Installed,
    command: str,
    subs: Mapping[str, str],
    extra: tuple[str, ...] = (),
    env: Mapping[str, str] = {},
    **values: object,
) -> Job:
    """The command with subs made (each must occur) and extra added, {port} in them a free port
    (and the other {names}, values); its VAR=value words and env as its environment."""
    port = free_port()
    filled = {"port": port, **values}
    subs = {old: new.format(**filled) for old, new in subs.items()}
    prefix, argv = split(substitute(command, subs, installed))
    return Job([*argv, *(arg.format(**filled) for arg in extra)], {**prefix, **env}, port)


def launch(installed: Installed, tmp: Path, job: Job) -> Process:
    """The job's argv (its program from the install's bin/) run in tmp/work, ready once it
    listens on the job's port."""
    cwd = tmp / "work"
    cwd.mkdir(exist_ok=True)
    return Process(
        job.argv,
        tmp / f"{Path(job.argv[0]).name}-{job.port}.log",
        env=installed.env(**job.env),
        cwd=cwd,
        ready=[rf"listening at \S+:{job.port}\b"],
    )


def stop_cleanly(proc: Process, quiet: bool = True) -> str:
    """SIGTERM, as a user's Ctrl-C or service manager would; exit status 0; the output, with no
    traceback in it when quiet."""
    proc.proc.send_signal(signal.SIGTERM)
    try:
        status = proc.proc.wait(15)
    finally:
        proc.stop()
    text = proc.text()
    assert status == 0, f"{proc.args} exited {status}:\n{text}"
    assert not quiet or "Traceback" not in text, f"{proc.args} printed a traceback:\n{text}"
    return text


def run_command(
    installed: Installed,
    argv: list[str],
    cwd: Path,
    unset: frozenset[str] = frozenset(),
    **env: str,
) -> tuple[int, str]:
    """argv run to its end in cwd: (exit status, stdout and stderr)."""
    environ = {k: v for k, v in installed.env(**env).items() if k not in unset}
    out = subprocess.run(
        argv, capture_output=True, text=True, timeout=60, check=False, cwd=cwd, env=environ
    )
    return out.returncode, out.stdout + out.stderr


def trust(peer) -> tuple[str, str]:
    return ("--set", f"ssl_verify_upstream_trusted_ca={peer.certs.ca}")


# --- runners: each runs the commands COMMANDS gives it, with the peers they share -----------------


def headline(installed: Installed, peer, tmp: Path, commands: list[str]) -> None:
    """The headline through microsocks to an HTTPS origin: the SOAP call answered, the name sent
    to the proxy, the route logged as the README shows it, the password nowhere."""
    origin, socks = peer.https_origin(), peer.microsocks("user", SECRET)
    subs = {
        "api.partner.example:443": f"localhost:{origin.port}",
        "@5000": "@{port}",
        "proxy.corp:4033": f"{HOST}:{socks.port}",
    }
    for command in commands:
        job = prepare(installed, command, subs, trust(peer), {"PROXY_PASS": SECRET})
        relay = launch(installed, tmp, job)
        carried = rf"connected to localhost:{origin.port}"  # the name, not an address: remote DNS
        seen = count(socks, carried)
        code, body = soap_call(job.port)
        assert code == 200 and "<EchoResponse>" in body, relay.text()
        wait_more(socks, carried, seen)
        route = f"via socks5h://user:${{PROXY_PASS}}@{HOST}:{socks.port}"
        relay.wait_log(rf"server connect localhost:{origin.port} {re.escape(route)} \(\d+ ms\)")
        text = stop_cleanly(relay)
        assert SECRET not in text
        if "--flow-detail 3" in command:  # the exchange in plaintext, both ways
            assert "<Echo>hi</Echo>" in text and "EchoResponse" in text, text
        if "--listen-host" not in command:
            assert "listening on all interfaces" in text, text


def modes(installed: Installed, peer, tmp: Path, commands: list[str]) -> None:
    """README's 'every mode' lines: regular via Tor (microsocks), SOCKS in and out, raw TCP via
    an HTTP proxy (tinyproxy), upstream mode with a SOCKS hop under it."""
    origin, banner = peer.http_origin(), peer.banner()
    socks, http = peer.microsocks(), peer.tinyproxy()
    subs = {
        "127.0.0.1:9050": f"{HOST}:{socks.port}",
        "127.0.0.1:1080": f"{HOST}:{socks.port}",
        "--mode socks5 ": "--mode socks5@{port} ",
        "mail.example:25@2525": f"localhost:{banner.port}@{{port}}",
        "http://proxy:3128": f"http://{HOST}:{http.port}",
        "corp-proxy:8080": f"{HOST}:{http.port}@{{port}}",
        "jump:1080": f"{HOST}:{socks.port}",
    }
    for command in commands:
        given = {old: new for old, new in subs.items() if old in command}
        # Where the mode names no port, the listen port is given as a flag.
        listen = (
            () if any("{port}" in new for new in given.values()) else ("--listen-port", "{port}")
        )
        job = prepare(installed, command, given, ("--listen-host", HOST, *listen))
        relay, port = launch(installed, tmp, job), job.port
        # The peer that carries this command's connection, and its log line saying so.
        hop, carried = (
            (http, r'Established connection to host "localhost"') if "reverse:tcp" in command
            else (socks, rf"connected to {HOST}:{http.port}") if "upstream" in command
            else (socks, rf"connected to localhost:{origin.port}")
        )  # fmt: skip
        seen = count(hop, carried)
        url = f"http://localhost:{origin.port}/mode"
        if "--mode socks5" in command:
            answer = curl("--socks5-hostname", f"{HOST}:{port}", url)
            assert answer == (200, "hello from origin /mode"), relay.text()
        elif "reverse:tcp" in command:
            assert banner_session(port) == BannerServer.BANNER + b"HELLO\n", relay.text()
            relay.wait_log(r"client disconnect")  # stopped with a live raw flow, asyncio complains
        else:
            answer = curl("-x", f"http://{HOST}:{port}", url)
            assert answer == (200, "hello from origin /mode"), relay.text()
        wait_more(hop, carried, seen)
        stop_cleanly(relay)


def count(proc: Process, pattern: str) -> int:
    return len(re.findall(pattern, proc.text()))


def wait_more(proc: Process, pattern: str, seen: int) -> None:
    """Wait until pattern is in proc's output more often than the `seen` times before."""
    wait_for(lambda: count(proc, pattern) > seen, what=f"another {pattern!r} in {proc.log}")


def banner_session(port: int) -> bytes:
    with socket.create_connection((HOST, port), timeout=10) as client:
        reader = client.makefile("rb")
        received = reader.readline()
        client.sendall(b"hello\n")
        return received + reader.readline()


def check(installed: Installed, peer, tmp: Path, commands: list[str]) -> None:
    """`mitmrelay check` through microsocks to an HTTPS origin whose CA certifi does not know:
    the steps the docs show, line by line; with the recipe (verification off), reached."""
    origin, socks = peer.https_origin(), peer.microsocks("alice", SECRET)
    subs = {
        "api.partner.example:443": f"localhost:{origin.port}",
        "127.0.0.1:1080": f"{HOST}:{socks.port}",
    }
    config = tmp / "config"
    mine = config / "mitmrelay" / "recipes" / "soap-over-socks5.yaml"
    mine.parent.mkdir(parents=True)
    text = (REPO / "recipes" / "soap-over-socks5.yaml").read_text()
    mine.write_text(
        text.replace("proxy.corp.example:4033", f"{HOST}:{socks.port}").replace("soapuser", "alice")
    )
    for command in commands:
        mine = {old: new for old, new in subs.items() if old in command}
        _, argv = split(substitute(command, mine, installed))
        status, out = run_command(
            installed, argv, tmp, PROXY_PASS=SECRET, XDG_CONFIG_HOME=str(config)
        )
        if "--recipe" in command:  # the user's copy, by the shipped name; ssl_insecure in it
            assert status == 0, out
            assert "the name localhost went to the proxy (remote DNS)" in out
            assert out.rstrip().endswith(f"reached tls://localhost:{origin.port}"), out
            continue
        expected = transcript(command)
        for old, new in [*subs.items(), ("api.partner.example", "localhost")]:
            expected = [line.replace(old, new) for line in expected]
        assert status == 1 and normalized(out.splitlines()) == normalized(expected), out


def transcript(command: str) -> list[str]:
    """The lines the docs show after `$ command`, up to the next `$ ` line or the block's end."""
    for page in PAGES:
        for block in code_blocks(page):
            for i, line in enumerate(block.lines):
                if line.startswith("$ ") and logical_lines([line[2:]]) == [command]:
                    rest = block.lines[i + 1 :]
                    end = next((j for j, r in enumerate(rest) if r.startswith("$ ")), len(rest))
                    return list(rest[:end])
    raise AssertionError(f"no `$ {command}` in the docs")


def normalized(lines: list[str]) -> list[str]:
    """Lines without what differs from run to run: timings, a certificate's names and dates."""
    lines = [re.sub(r"\(\d+(\.\d+)? ms\)", "(T ms)", line.rstrip()) for line in lines]
    return [re.sub(r"certificate: subject .*", "certificate: subject ...", line) for line in lines]


def run_shipped_recipe(installed: Installed, peer, tmp: Path, commands: list[str]) -> None:
    """`mitmrelay run NAME ARGS` from the installed package: its recipe file, the user's mode
    and chain (microsocks) winning, a SOAP call through it."""
    origin, socks = peer.https_origin(), peer.microsocks("me", SECRET)
    subs = {
        "api.example:443@5000": f"localhost:{origin.port}@{{port}}",
        "127.0.0.1:1080": f"{HOST}:{socks.port}",
    }
    for command in commands:
        job = prepare(installed, command, subs, env={"PROXY_PASS": SECRET})
        relay = launch(installed, tmp, job)
        carried = rf"connected to localhost:{origin.port}"
        seen = count(socks, carried)
        code, body = soap_call(job.port)
        assert code == 200 and "<Echo>hi</Echo>" in body, relay.text()
        wait_more(socks, carried, seen)
        relay.wait_log(r"recipe \S*site-packages/mitmrelay/recipes/soap-over-socks5\.yaml: set ")
        stop_cleanly(relay)


def recipes_check(installed: Installed, peer, tmp: Path, commands: list[str]) -> None:
    """`mitmrelay recipes check` on a fresh install, without the recipes' secrets: every shipped
    recipe ok, found in the installed package; what the user supplies listed, relative paths
    from here; a recipe of the user's, from their folder, checked too."""
    config, cwd = tmp / "config", tmp / "work"
    cwd.mkdir()
    (config / "mitmrelay" / "recipes").mkdir(parents=True)
    (config / "mitmrelay" / "recipes" / "mine.yaml").write_text(
        "description: mine\noptions:\n  mode: reverse:https://localhost:8443@5000\n"
        f"  listen_host: 127.0.0.1\n  proxy_chain: socks5h://me:${{MY_PASS}}@{HOST}:1080\n"
    )
    secrets = frozenset({"PROXY_PASS", "SOCKS_PASS", "CORP_PASS", "JUMP_PASS", "MY_PASS"})
    for command in commands:
        status, out = run_command(installed, split(command)[1], cwd, secrets,
                                  XDG_CONFIG_HOME=str(config))  # fmt: skip
        assert status == 0, out
        assert f"Shipped recipes, in {installed.site_packages()}/mitmrelay/recipes:" in out, out
        recording = cwd / "recordings" / "20260101-120000-1a2b3c4d.recording"
        assert f"needs: the file {recording} (proxy_routes)" in out
        assert "mine.yaml:5: needs: MY_PASS (export MY_PASS=...)" in out, out
        assert re.search(rf"^{len(RECIPES) + 1} recipes checked: all ok", out, re.M), out


def soap_view(installed: Installed, peer, tmp: Path, commands: list[str]) -> None:
    """The SOAP view in mitmdump's flow dump, in front of an HTTPS origin."""
    origin = peer.https_origin()
    subs = {"partner.example:443@5000": f"localhost:{origin.port}@{{port}}"}
    for command in commands:
        job = prepare(installed, command, subs, trust(peer))
        relay = launch(installed, tmp, job)
        assert soap_call(job.port)[0] == 200
        relay.wait_log(r"SOAP 1\.1 request")
        stop_cleanly(relay)


def soap_record_and_replay(installed: Installed, peer, tmp: Path, commands: list[str]) -> None:
    """Record with -w through microsocks, then answer from the flows with the origin and the
    proxy gone: the same answer."""
    record, replay = commands
    origin, socks = peer.https_origin(), peer.microsocks("user", SECRET)
    (tmp / "work" / "tests" / "data").mkdir(parents=True)
    answers = []
    subs = {
        "api.partner.example:443": f"localhost:{origin.port}",
        "@5000": "@{port}",
        "proxy.corp:4033": f"{HOST}:{socks.port}",
    }
    for command in (record, replay):
        given = {old: new for old, new in subs.items() if old in command}
        job = prepare(installed, command, given, trust(peer), {"PROXY_PASS": SECRET})
        relay = launch(installed, tmp, job)
        answers.append(soap_call(job.port))
        text = stop_cleanly(relay)
        assert answers[-1][0] == 200, text
        origin.stop()
        socks.stop()
    assert "<Echo>hi</Echo>" in answers[0][1] and answers[1] == answers[0]


def socat_dump(installed: Installed, peer, tmp: Path, commands: list[str]) -> None:
    """socat -v text of a raw TLS exchange on mitmdump's output."""
    banner = peer.banner(tls=True)
    subs = {"dest.host:443@5000": f"localhost:{banner.port}@{{port}}"}
    for command in commands:
        job = prepare(installed, command, subs, trust(peer))
        relay = launch(installed, tmp, job)
        with socket.create_connection((HOST, job.port), timeout=10) as client:
            client.sendall(b"hello\n")  # mitmproxy reads the client's first bytes first
            reader = client.makefile("rb")
            assert reader.readline() == BannerServer.BANNER
            assert reader.readline() == b"HELLO\n"
        relay.wait_log(
            r"< \d{4}/\d\d/\d\d [\d:.]+  length=\d+ from=0 to=\d+\n220 banner\.test ready\\r\n"
        )
        relay.wait_log(r"> \d{4}/\d\d/\d\d [\d:.]+  length=6 from=0 to=5\nhello\n")
        # mitmproxy 11 and 12 never end a raw TLS flow: stopped, it cancels the connection's
        # task and asyncio prints that cancellation with a traceback (mitmproxy's, not ours).
        stop_cleanly(relay, quiet=False)


def mock_server(installed: Installed, peer, tmp: Path, commands: list[str]) -> None:
    """A recording written as docs/dumps-and-recordings.md shows, served to a client."""
    (tmp / "work" / "rec").mkdir(parents=True)
    (tmp / "work" / "rec" / "x.recording").write_text(
        '{"mitmrelay": "recording"}\n{"dir": "<", "text": "220 mock ready\\r\\n"}\n'
        '{"dir": ">", "text": "QUIT\\r\\n"}\n{"dir": "<", "text": "221 bye\\r\\n"}\n'
    )
    for command in commands:
        port = free_port()
        _, argv = split(substitute(command, {"127.0.0.1:5001": f"{HOST}:{port}"}, installed))
        peer.keep(
            Process(argv, tmp / "mock.log", env=installed.env(), cwd=tmp / "work",
                    ready=[rf"listening on {HOST}:{port}"])
        )  # fmt: skip
        with socket.create_connection((HOST, port), timeout=10) as client:
            reader = client.makefile("rb")
            assert reader.readline() == b"220 mock ready\r\n"
            client.sendall(b"QUIT\r\n")
            assert reader.readline() == b"221 bye\r\n"


def script(installed: Installed, peer, tmp: Path, commands: list[str]) -> None:
    """The path to give mitmdump/mitmweb -s: the installed package's addon script."""
    for command in commands:
        status, out = run_command(installed, split(command)[1], tmp)
        assert status == 0 and out == f"{installed.script}\n", out
        assert installed.script.is_relative_to(installed.site_packages())


SYNOPSIS = "a synopsis (capitals and brackets are placeholders); each form runs below with values"
CHECKOUT_RECIPE = (
    "a checkout's paths (addons/, recipes/); test_recipes.py runs every recipe this way from the "
    "checkout, and the recipes' Run lines run installed below"
)
CLI_RECIPES = (
    "test_cli_recipes.py and test_cli.py run it from another directory (names, files, --strict, "
    "--fetch, --static); what an install changes, where the shipped recipes are, is checked by "
    "`mitmrelay recipes check` here"
)
BENCH = "a benchmark of the checkout; test_bench_smoke.py runs each bench script's --quick mode"

# Each command of the docs: a runner (called with every command that names it), a Start, or why
# it does not run here.
COMMANDS: dict[str, Callable | Start | str] = {
    # README.md
    "socat -v TCP4-LISTEN:5000,fork OPENSSL:localhost:5001,verify=0": (
        "the seed's two-socat setup, shown as what mitmrelay replaces"
    ),
    "socat TCP4-LISTEN:5001,reuseaddr,fork PROXY:proxy.host:dest.host:443,proxyport=4033": (
        "the seed's two-socat setup, shown as what mitmrelay replaces"
    ),
    "mitmdump -s addons/relay.py --mode reverse:https://api.partner.example:443@5000 "
    "--set proxy_chain='socks5h://user:${PROXY_PASS}@proxy.corp:4033'": headline,
    "scripts/demo": "a checkout's script; test_demo.py runs it",
    "scripts/test": "the test suite itself",
    "pipx install .": (
        "pipx makes a venv and downloads mitmproxy from the package index; the installed fixture "
        "builds the same wheel and installs it offline, dependencies from the test venv"
    ),
    "pip install .": "what the installed fixture does, offline (pip install --no-deps of a wheel)",
    "pipx install '.[kerberos]'": "downloads and compiles gssapi and krb5 (network, a C compiler)",
    "pip install '.[kerberos]'": "downloads and compiles gssapi and krb5 (network, a C compiler)",
    "export PROXY_PASS=...": "the environment of the commands after it: each runner sets it",
    "mitmdump -s addons/relay.py --mode reverse:https://api.partner.example:443@5000 "
    "--listen-host 127.0.0.1 --set proxy_chain='socks5h://user:${PROXY_PASS}@proxy.corp:4033' "
    "--flow-detail 3": headline,
    "mitmdump -s addons/relay.py --set proxy_chain=socks5h://127.0.0.1:9050": modes,
    "mitmdump -s addons/relay.py --mode socks5 --set proxy_chain=socks5h://127.0.0.1:1080": modes,
    "mitmdump -s addons/relay.py --mode reverse:tcp://mail.example:25@2525 "
    "--set proxy_chain=http://proxy:3128": modes,
    "mitmdump -s addons/relay.py --mode upstream:http://corp-proxy:8080 "
    "--set proxy_chain=socks5://jump:1080": modes,
    # docs/benchmarks.md, docs/corporate-proxies.md (bench)
    "bench/run": BENCH,
    "bench/run --repeat 5 --out bench.md": BENCH,
    "bench/run --only relay-socks5 --only proxychains": BENCH,
    "bench/run --only relay-socks5 --only proxychains --only chain-socks5 --only mitmdump "
    "--repeat 5 --idle 50 --bulk-mb 64": BENCH,
    "bench/run --only relay-socks5 --only proxychains --only proxychains-lazy --only chain-socks5 "
    "--only mitmdump --repeat 5 --idle 50 --bulk-mb 64": BENCH,
    "bench/run --quick": BENCH,
    ".venv/mitmproxy12/bin/python bench/proxy_auth_cost.py": BENCH,
    ".venv/mitmproxy12/bin/python bench/proxy_auth_cost.py --quick": BENCH,
    ".venv/mitmproxy12/bin/python bench/pac_cost.py": BENCH,
    # docs/command.md
    "mitmrelay dump ARGS...": SYNOPSIS,
    "mitmrelay web ARGS...": SYNOPSIS,
    "mitmrelay run RECIPE [--web] [ARGS...]": SYNOPSIS,
    "mitmrelay check [--recipe R] [--set OPTION=VALUE]... TARGET": SYNOPSIS,
    "mitmrelay soap-view FILE...": SYNOPSIS,
    "mitmrelay recipes [list]": SYNOPSIS,
    "mitmrelay recipes check [RECIPE...] [--strict] [--fetch]": SYNOPSIS,
    "mitmrelay mock-server rec/x.recording --listen 127.0.0.1:5001": mock_server,
    "mitmrelay script": script,
    "mitmrelay dump --mode reverse:https://api.partner.example:443@5000 --listen-host 127.0.0.1 "
    "--set proxy_chain='socks5h://user:${PROXY_PASS}@proxy.corp:4033' --flow-detail 3": headline,
    "mitmrelay web --listen-host 127.0.0.1 --set proxy_chain=socks5h://127.0.0.1:9050": (
        "docs/setup.md's `mitmrelay web --listen-host 127.0.0.1` starts here, and this chain "
        "value carries traffic in README's Tor line (modes)"
    ),
    "mitmrelay run soap-over-socks5 --mode reverse:https://api.example:443@5000 "
    "--set proxy_chain='socks5h://me:${PROXY_PASS}@127.0.0.1:1080'": run_shipped_recipe,
    "mitmrelay run per-host-routing --web": Start(
        extra=("--mode", "regular@{port}", *WEB), env={"CORP_PASS": SECRET}
    ),
    "mitmrelay check --set proxy_chain='socks5h://alice:${PROXY_PASS}@127.0.0.1:1080' "
    "tls://api.partner.example:443": check,
    "mitmrelay check --recipe soap-over-socks5 https://api.partner.example:443": check,
    # docs/corporate-proxies.md: the proxies (squid with NTLM, a KDC) are not needed to start
    "mitmdump -s addons/relay.py --mode reverse:https://api.example:443@5000 "
    "--set 'proxy_chain=http://CORP%5Calice:${PROXY_PASS}@proxy.corp:3128'": Start(
        AT_PORT, env={"PROXY_PASS": SECRET}
    ),
    "mitmdump -s addons/relay.py --mode reverse:https://api.example:443@5000 "
    "--set 'proxy_chain=http://proxy.corp:3128?auth=negotiate'": Start(AT_PORT),
    "mitmdump -s addons/relay.py --mode reverse:https://api.example:443@5000 "
    "--set 'proxy_chain=http://alice%40CORP.EXAMPLE:${PROXY_PASS}@proxy.corp:3128"
    "?auth=negotiate'": (Start(AT_PORT, env={"PROXY_PASS": SECRET})),
    "HTTPS_PROXY=http://proxy.corp:3128 NO_PROXY=.intranet.example "
    "mitmdump -s addons/relay.py --set proxy_from_env=true": Start(extra=LISTEN),
    "mitmdump -s addons/relay.py --set proxy_pac=http://wpad.corp.example/wpad.dat": Start(
        {"http://wpad.corp.example/wpad.dat": "{pac}"}, LISTEN
    ),
    "mitmdump -s addons/relay.py "
    "--set 'proxy_chain=http://proxy1.corp:3128 | http://proxy2.corp:3128 | direct'": Start(
        extra=LISTEN
    ),
    # docs/dumps-and-recordings.md
    "mitmdump -s addons/socat_dump.py --mode reverse:tls://dest.host:443@5000 "
    "--set listen_host=127.0.0.1 --set socat_dump=-": socat_dump,
    # docs/recipes.md
    "mitmrelay run soap-over-socks5": (
        "recipes/soap-over-socks5.yaml's Run line: test_every_recipe_starts_from_its_run_line"
    ),
    "mitmdump -s addons/relay.py --set recipe=recipes/soap-over-socks5.yaml": CHECKOUT_RECIPE,
    "mitmweb -s addons/relay.py --set recipe=recipes/soap-over-socks5.yaml": CHECKOUT_RECIPE,
    "mitmrelay recipes check": recipes_check,
    "mitmrelay recipes check soap-over-socks5 ./mine.yaml": CLI_RECIPES,
    "mitmrelay recipes check mine --strict --fetch": CLI_RECIPES,
    "mitmrelay recipes check ./mine.yaml --static": CLI_RECIPES,
    "scripts/check-recipes": "a checkout's script; test_options.py runs it",
    # docs/setup.md
    "mitmrelay web --listen-host 127.0.0.1": Start(extra=("--listen-port", "{port}", *WEB)),
    # docs/soap.md
    "mitmdump -s addons/soap.py --flow-detail 3 --mode reverse:https://partner.example:443@5000": (
        soap_view
    ),
    "mitmweb -s addons/soap.py --mode reverse:https://partner.example:443@5000": (
        "the SOAP view's mitmdump line above runs with a SOAP call; mitmweb starts here from "
        "`mitmrelay web` and `mitmrelay run ... --web`, and test_soap_mitmweb.py shows the view "
        "in mitmweb"
    ),
    "mitmdump -s addons/relay.py --mode reverse:https://api.partner.example:443@5000 "
    "--set proxy_chain='socks5h://user:${PROXY_PASS}@proxy.corp:4033' "
    "-w tests/data/partner.flows": soap_record_and_replay,
    "mitmdump -s addons/relay.py --mode reverse:https://api.partner.example:443@5000 "
    "--set soap_replay=tests/data/partner.flows": soap_record_and_replay,
    "export WSSE_PASS=...": "the environment of the command after it: its runner sets it",
    "mitmweb -s addons/relay.py --mode reverse:https://partner.example:443@5000 "
    "--set proxy_chain='socks5h://proxy.corp:1080' --set soap_wsse_password='${WSSE_PASS}'": Start(
        AT_PORT, WEB, env={"WSSE_PASS": SECRET}
    ),
}

# Blocks that hold no shell command (output, log lines, listings, mitmproxy command-bar input), by
# their first line.
OUTPUT = {
    "soap.new Book",
    "SOAP diff of requests",
    "[10:42:07.113][127.0.0.1:51234] server connect api.partner.example:443 "
    "via socks5h://user:${PROXY_PASS}@proxy.corp:4033 (38 ms)",
    "Cannot use ssl_verify_upstream_trusted_confdir 'cas': dir 'cas' does not exist: fix the path "
    "(relative paths are relative to the directory mitmproxy started in)",
    "addons/relay.py                 -s script: every addon (the list is mitmrelay/relay.py)",
    "Cannot use proxy_chain 'sock5://127.0.0.1:1080': unknown scheme 'sock5' (did you mean "
    "'socks5'?); use one of socks4, socks4a, socks5, socks5h, http, https",
    "2026/11/25 06:17:04 mitmrelay[3731] N conn 2: 127.0.0.1:57646 -> 10.0.0.5:443",
    "recipes/mine.yaml:19: At key 'options' ==> 'proxy_chian': unknown option (did you mean "
    "'proxy_chain'?)",
    "Shipped recipes, in /usr/lib/python3/site-packages/mitmrelay/recipes:",
    "SOAP 1.1 request",
    "SOAP replay of POST /q: refreshed wsa:MessageID, wsse:Nonce, UsernameToken Created, "
    "PasswordDigest, wsu:Timestamp",
    "mitmrelay soap_replay: no recorded exchange matched POST /quotes GetQuote (SOAP 1.1); "
    "nearest: partner.flows #2 POST /quotes GetQuote (SOAP 1.1), first difference at "
    "Body/GetQuote/symbol: 'NOPE' here, 'ACME' recorded",
}


def test_every_command_of_the_docs_is_run_or_says_why():
    found = docs_commands()
    missing = [
        f"{where[0]}: {command}" for command, where in found.items() if command not in COMMANDS
    ]
    assert not missing, "add each to COMMANDS, with its runner or why it cannot run: " + str(
        missing
    )
    assert sorted(set(COMMANDS) - set(found)) == [], "no longer in the docs: drop from COMMANDS"
    blocks = [b for page in PAGES for b in code_blocks(page) if not commands_of(b)]
    unknown = [f"{b.where}: {b.lines[0]}" for b in blocks if b.lines[0].strip() not in OUTPUT]
    assert not unknown, "blocks that read neither as commands nor as listed OUTPUT: " + str(unknown)
    stale = OUTPUT - {b.lines[0].strip() for b in blocks}
    assert not stale, f"OUTPUT lists blocks no page has: {stale}"


RUNNERS = list(dict.fromkeys(v for v in COMMANDS.values() if callable(v)))


@pytest.mark.parametrize("runner", RUNNERS, ids=lambda runner: runner.__name__)
def test_docs_commands_run_installed(runner, installed, peer, tmp_path):
    runner(installed, peer, tmp_path, [c for c, v in COMMANDS.items() if v is runner])


def test_a_bad_option_is_one_line_and_exit_status_1(installed, tmp_path):
    """docs/chains.md's refusal of a misspelt scheme, and a misspelt option name, as the installed
    commands print them: that line after mitmproxy's `Loading script`, nothing more, status 1."""
    shown = next(line for line in OUTPUT if line.startswith("Cannot use proxy_chain 'sock5:"))
    runs = {
        shown: ["mitmrelay", "run", "soap-over-socks5", "--mode",
                f"reverse:https://localhost:1@{free_port()}",
                "--set", "proxy_chain=sock5://127.0.0.1:1080"],
        "unknown option proxy_chian (did you mean 'proxy_chain'?)": [
            "mitmdump", "-s", str(installed.script), "--listen-host", HOST,
            "--listen-port", str(free_port()), "--set", "proxy_chian=socks5h://127.0.0.1:1080"],
    }  # fmt: skip
    for line, argv in runs.items():
        status, out = run_command(installed, argv, tmp_path)
        printed = [text for text in out.splitlines() if "] Loading script " not in text]
        assert status == 1 and len(printed) == 1 and printed[0].endswith(f"] {line}"), out


def user_home(installed: Installed, tmp: Path) -> Path:
    """A home with mitmproxy's CA (copied: made once per session) and the files recipes name."""
    home = tmp / "home"
    shutil.copytree(installed.home, home)
    return home


def start_and_stop(installed: Installed, jobs: list[Job], tmp: Path) -> None:
    """Each job started, ready once it listens on its port, and stopped with exit status 0; a
    few at a time (mitmproxy's start is mostly CPU)."""

    def one(job: Job) -> str:
        try:
            stop_cleanly(launch(installed, tmp, job))
        except Exception as e:
            return f"{shlex.join(job.argv)}: {e}"
        return ""

    with ThreadPoolExecutor(3) as pool:
        failures = [failure for failure in pool.map(one, jobs) if failure]
    assert not failures, "\n\n".join(failures)


def test_docs_commands_that_start_a_proxy_start_and_stop_cleanly(installed, peer, tmp_path):
    served = tmp_path / "served"
    served.mkdir()
    (served / "wpad.dat").write_text(PAC)
    files = peer.keep(FileServer(served))
    jobs = [
        prepare(
            installed,
            command,
            how.subs,
            how.extra,
            how.env,
            web_port=free_port(),
            pac=files.url("wpad.dat"),
        )
        for command, how in COMMANDS.items()
        if isinstance(how, Start)
    ]
    start_and_stop(installed, jobs, tmp_path)
    assert files.paths == ["/wpad.dat"]  # fetched as the relay starts


# Run lines of recipes that are not run here, and why.
RECIPE_NOT_RUN = {
    "kinit you@CORP.EXAMPLE": (
        "needs a Kerberos KDC (test_corp_recipes.py starts one); the recipe starts without a "
        "ticket, which is asked for at each connection"
    ),
}


def run_lines(recipe: Path) -> list[str]:
    """The commands of the recipe's `# Run:` comment: its line, and the comment lines after it
    that continue it (a trailing backslash) or are commands too."""
    text = recipe.read_text().splitlines()
    first = next(i for i, line in enumerate(text) if line.startswith("# Run:"))
    lines = [text[first].removeprefix("# Run:")]
    for line in text[first + 1 :]:
        body = line.removeprefix("#")
        if not line.startswith("#  ") or not (
            lines[-1].rstrip().endswith("\\") or is_command(body.strip())
        ):
            break
        lines.append(body)
    return logical_lines(lines)


# Recipes whose Run line is started here, and why those: the others' lines are all exactly
# `mitmrelay run NAME` after exports, the path of soap-over-socks5's, which run_shipped_recipe
# starts with traffic through microsocks; test_recipes.py starts every recipe end to end with its
# peers from the checkout, and every Run line is judged here by `recipes check --strict`.
RECIPES_STARTED = {
    "replay-mock-server": "its Run line adds --set with a path relative to where it runs",
    "soap-via-pac": "fetches its PAC file as it starts (a local one: the URL is the line to EDIT)",
}


def test_every_recipe_runs_from_its_run_line(installed, peer, tmp_path):
    """Each shipped recipe's Run line, as a user runs it from another directory with what the
    recipe needs supplied (its secrets exported, its files in ~ and here): all judged by
    `mitmrelay recipes check --strict` as starting them would, in one run; those of
    RECIPES_STARTED started on a free port (the recipe's mode, with its port replaced, given on
    the command line, which wins) and stopped, exit status 0."""
    home, cwd = user_home(installed, tmp_path), tmp_path / "work"
    shutil.copy(peer.certs.ca, home / "partner-ca-bundle.pem")
    shutil.copy(make_client_cert(tmp_path)[1], home / "partner-client.pem")
    (cwd / "recordings").mkdir(parents=True)
    recording = '{"mitmrelay": "recording"}\n{"dir": "<", "text": "220 ready\\r\\n"}\n'
    for name in ("NAME", "20260101-120000-1a2b3c4d"):  # the Run line's, the recipe's own route
        (cwd / "recordings" / f"{name}.recording").write_text(recording)
    served = tmp_path / "served"
    served.mkdir()
    (served / "wpad.dat").write_text(PAC)
    files = peer.keep(FileServer(served))
    everyone: dict[str, str] = {"HOME": str(home)}
    jobs: list[Job] = []
    for recipe in RECIPES:
        env: dict[str, str] = {"HOME": str(home)}
        runs = []
        for command in run_lines(recipe):
            if command in RECIPE_NOT_RUN:
                continue
            words = shlex.split(command)
            if words[0] == "export":
                for word in words[1:]:
                    name, _, value = word.partition("=")
                    env[name] = SECRET if value == "..." else value
                continue
            assert words[:3] == ["mitmrelay", "run", recipe.stem], f"{recipe.name}: {command}"
            runs.append(words)
        assert len(runs) == 1, f"{recipe.name}: one `mitmrelay run` line, not {runs}"
        (words,) = runs
        everyone.update(env)
        if recipe.stem not in RECIPES_STARTED:
            assert words == ["mitmrelay", "run", recipe.stem], f"{recipe.name}: start it here"
            continue
        port = free_port()
        mode = yaml.safe_load(recipe.read_text())["options"]["mode"]
        words += ["--mode", re.sub(r"@\d+$", f"@{port}", mode)]
        if recipe.stem == "soap-via-pac":
            words += ["--set", f"proxy_pac={files.url('wpad.dat')}"]
        jobs.append(Job(words, env, port))
    names = [recipe.stem for recipe in RECIPES]
    status, out = run_command(installed, ["mitmrelay", "recipes", "check", "--strict", *names],
                              cwd, **everyone)  # fmt: skip
    assert status == 0, out
    assert re.search(rf"^{len(RECIPES)} recipes checked: all ok$", out, re.M), out
    start_and_stop(installed, jobs, tmp_path)
    assert files.paths == ["/wpad.dat"]
