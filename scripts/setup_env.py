"""Set up what the demo and the tests need: virtualenvs per mitmproxy version and the Debian peers.

Used by scripts/test and scripts/demo; standard library only, so it runs before any venv exists.
"""

from __future__ import annotations

import glob
import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VENVS = REPO / ".venv"

# mitmproxy line -> (Python version, pip requirement)
TARGETS = {
    "11": ("3.11", "mitmproxy>=11.0,<11.1"),
    "12": ("3.12", "mitmproxy>=12,<13"),
}

# Debian packages the test suite starts as real peers (program -> package).
DEBIAN_PEERS = {
    "socat": "socat",
    "danted": "dante-server",
    "microsocks": "microsocks",
    "tinyproxy": "tinyproxy",
    "nginx": "nginx-light",
    "curl": "curl",
    "stdbuf": "coreutils",
    # bench/run (and its smoke test): the load generator and the proxychains baseline.
    "wrk": "wrk",
    "proxychains4": "proxychains4",
    # the recipe tests: a real ssh -D, and mitmweb in headless Chromium.
    "sshd": "openssh-server",
    "ssh": "openssh-client",
    "chromium": "chromium",
    "chromedriver": "chromium-driver",
    # SOAP stacks not written in Python (npm packages in tests/node, see ensure_node_packages).
    "node": "nodejs",
    "npm": "npm",
    # corporate proxies (tests/corp_peers.py): squid with its auth helpers and a loopback MIT KDC;
    # krb5-config (libkrb5-dev) lets pip build gssapi, pyspnego's Kerberos backend.
    "squid": "squid",
    "krb5kdc": "krb5-kdc",
    "kadmin.local": "krb5-admin-server",
    "kinit": "krb5-user",
    "krb5-config": "libkrb5-dev",
    # the WS-Security replay tests: Apache WSS4J (a library: its jar stands for it) and the JDK
    # that compiles and runs the service around it (tests/java).
    "javac": "default-jdk-headless",
    # the console test of the replay refresh: mitmproxy's console in a terminal multiplexer
    "tmux": "tmux",
    "/usr/share/java/wss4j.jar": "libwss4j-java",
}
# Folders of tests/ with a package.json: npm installs what they list (real non-Python peers).
NODE_DIRS = [REPO / "tests" / "node"]


def say(message: str) -> None:
    print(f"[mitmrelay] {message}", file=sys.stderr, flush=True)


def find_python(version: str) -> str:
    """An interpreter for version: $MITMRELAY_PYTHON<major><minor>, PATH, or pyenv's versions."""
    env = os.environ.get(f"MITMRELAY_PYTHON{version.replace('.', '')}")
    candidates = [env] if env else []
    candidates += [shutil.which(f"python{version}") or ""]
    candidates += sorted(
        glob.glob(str(Path.home() / f".pyenv/versions/{version}.*/bin/python{version}")),
        reverse=True,
    )
    for candidate in candidates:
        if (
            candidate
            and subprocess.run(
                [candidate, "-c", "import ssl, venv"], capture_output=True, check=False
            ).returncode
            == 0
        ):
            return candidate
    raise SystemExit(
        f"Python {version} not found: install it or set "
        f"MITMRELAY_PYTHON{version.replace('.', '')}=/path/to/python{version}"
    )


# What scripts/demo starts: microsocks (line-buffered by stdbuf); without them it uses pproxy.
DEMO_PEERS = ("microsocks", "stdbuf")


def missing_packages(
    programs: Iterable[str], which: Callable[[str], str | None] = shutil.which
) -> list[str]:
    """The Debian packages to install for the programs that `which` does not find."""
    return sorted({DEBIAN_PEERS[prog] for prog in programs if not which(prog)})


def _installed(program: str, path: str) -> str | None:
    """A program on path, or a file given by its absolute path (a library's jar)."""
    if program.startswith("/"):
        return program if Path(program).is_file() else None
    return shutil.which(program, path=path)


def ensure_peers(programs: Iterable[str] = DEBIAN_PEERS) -> None:
    """Install the Debian peers of `programs` that are missing (default: every test peer; needs
    root, otherwise says what to install)."""
    sbin = os.pathsep.join(["/usr/sbin", "/sbin", os.environ.get("PATH", "")])
    missing = missing_packages(programs, lambda prog: _installed(prog, sbin))
    if not missing:
        return
    if os.geteuid() != 0:
        raise SystemExit(f"Missing test peers; as root run: apt-get install -y {' '.join(missing)}")
    say(f"installing Debian packages: {' '.join(missing)}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-q"], check=True, env=env, stdout=subprocess.DEVNULL)
    subprocess.run(
        ["apt-get", "install", "-y", "-q", *missing], check=True, env=env, stdout=subprocess.DEVNULL
    )
    # Debian starts some of these as services on install; the tests start their own instances.
    services = {
        "tinyproxy": "tinyproxy",
        "dante-server": "danted",
        "nginx-light": "nginx",
        "squid": "squid",
        "krb5-kdc": "krb5-kdc",
        "krb5-admin-server": "krb5-admin-server",
    }
    for package in missing:
        if package in services:
            subprocess.run(["service", services[package], "stop"], capture_output=True, check=False)


def ensure_node_packages() -> None:
    """`npm install` in each NODE_DIRS folder whose package.json or lock changed since the last."""
    for folder in NODE_DIRS:
        stamp = folder / "node_modules" / ".mitmrelay-stamp"
        wanted = hashlib.sha256(
            b"".join(
                (folder / name).read_bytes()
                for name in ("package.json", "package-lock.json")
                if (folder / name).exists()
            )
        ).hexdigest()
        if stamp.exists() and stamp.read_text() == wanted:
            continue
        say(f"npm install in {folder.relative_to(REPO)}")
        subprocess.run(
            [
                "npm",
                "ci" if (folder / "package-lock.json").exists() else "install",
                "--prefix",
                str(folder),
                "--no-audit",
                "--no-fund",
                "--loglevel=error",
            ],
            check=True,
        )
        stamp.write_text(wanted)


def _stamp(requirement: str, extras: str) -> str:
    return hashlib.sha256(
        (REPO / "pyproject.toml").read_bytes() + requirement.encode() + extras.encode()
    ).hexdigest()


def ensure_venv(target: str, extras: str = "test", served_by: Iterable[str] = ()) -> Path:
    """A virtualenv for the mitmproxy line `target` with this project installed; returns bin/.

    A venv made for one of the `served_by` extras is reused as is (the test venv has all the
    demo needs: recreating it for the demo would only make scripts/test recreate it again)."""
    version, requirement = TARGETS[target]
    venv = VENVS / f"mitmproxy{target}"
    stamp = venv / ".mitmrelay-stamp"
    wanted = _stamp(requirement, extras)
    accepted = {wanted, *(_stamp(requirement, other) for other in served_by)}
    if stamp.exists() and stamp.read_text() in accepted:
        return venv / "bin"
    say(f"creating {venv.relative_to(REPO)} (Python {version}, {requirement})")
    python = find_python(version)
    subprocess.run([python, "-m", "venv", "--clear", str(venv)], check=True)
    pip = [
        str(venv / "bin" / "python"),
        "-m",
        "pip",
        "install",
        "-q",
        "--disable-pip-version-check",
    ]
    subprocess.run(
        [*pip, requirement, "-e", f"{REPO}[{extras}]" if extras else str(REPO)], check=True
    )
    stamp.write_text(wanted)
    return venv / "bin"


def use_project_venv() -> None:
    """Re-run this script with a project virtualenv's Python when mitmproxy is not importable here.

    Lets `scripts/check-recipes` and friends work from a checkout once scripts/demo or scripts/test
    has created .venv/, whatever `python3` is first on PATH."""
    try:
        import mitmproxy  # noqa: F401
    except ImportError:
        for target in sorted(TARGETS, reverse=True):
            python = VENVS / f"mitmproxy{target}" / "bin" / "python"
            if python.exists():
                os.execv(python, [str(python), *sys.argv])
        raise SystemExit(
            "mitmproxy is not installed for this Python: run scripts/demo or scripts/test once "
            "(they create .venv/), or `pip install .`"
        ) from None
