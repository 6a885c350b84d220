"""mitmrelay as a user has it: the wheel built from this checkout, installed into a fresh virtualenv
outside the checkout, and run from directories outside it without PYTHONPATH.

The new venv gets mitmproxy and the other dependencies from the running venv's site-packages (a
.pth line: the machine reaches package registries only, and installing mitmproxy would take
minutes); mitmrelay itself only from the wheel. mitmproxy's own commands (mitmdump, mitmweb) are
written into its bin/ as pip writes console scripts, so `mitmdump` there runs the venv's Python,
which imports the installed mitmrelay, as it would after `pip install .` beside mitmproxy.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import sysconfig
import time
from dataclasses import dataclass
from pathlib import Path

from mitmproxy.certs import CertStore
from peers import REPO

# pip's console-script launcher, as pip writes mitmproxy's entry points (mitmproxy.tools.main).
LAUNCHER = """#!{python}
import sys
from mitmproxy.tools.main import {name}
sys.exit({name}())
"""


def run(*args: str, **kwargs) -> subprocess.CompletedProcess:
    """Run a command to its end; fail with its output unless it exits 0."""
    out = subprocess.run(args, capture_output=True, text=True, check=False, **kwargs)
    assert out.returncode == 0, f"{args}:\n{out.stdout}{out.stderr}"
    return out


@dataclass(frozen=True)
class Installed:
    """A venv with the wheel installed: its bin/, the addon script inside the installed package
    (what `mitmrelay script` prints) and a home whose ~/.mitmproxy holds mitmproxy's CA."""

    bin: Path
    home: Path
    script: Path

    def env(self, **extra: str) -> dict[str, str]:
        """The environment of a user of this install: its bin/ first on PATH, HOME its home, no
        PYTHONPATH or VIRTUAL_ENV of the test run; then extra."""
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        env["PATH"] = f"{self.bin}{os.pathsep}{env.get('PATH', '')}"
        return {**env, "HOME": str(self.home), **extra}

    def site_packages(self) -> Path:
        return next(self.bin.parent.glob("lib/*/site-packages"))


# What the wheel is built from: the package (and the addon scripts beside it), the recipes the
# build copies in, the metadata.
SOURCES = ("addons", "recipes", "pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "LICENSE")
PIP = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]


def sources_digest() -> str:
    digest = hashlib.sha256()
    for top in SOURCES:
        path = REPO / top
        files = sorted(path.rglob("*")) if path.is_dir() else [path]
        for file in files:
            if file.is_file() and not {"__pycache__", "mitmrelay.egg-info"} & set(file.parts):
                digest.update(f"{file.relative_to(REPO)}\0".encode() + file.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def wheel() -> Path:
    """The wheel of this checkout as it is: built once for these sources and kept under .venv/
    (it is pure Python: the same for both mitmproxy lines and for the next run)."""
    cache = REPO / ".venv" / "wheels" / sources_digest()
    cache.parent.mkdir(parents=True, exist_ok=True)
    # One build at a time (scripts/test runs both lines at once): pip builds a local folder in
    # place, in the checkout's build/ and egg-info, which two builds would write together.
    lock_file = cache.parent / ".lock"
    with lock_file.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not cache.is_dir():
            building = cache.parent / f"{cache.name}.{os.getpid()}"
            # pip's isolated build env fetches setuptools from the package index (or its cache).
            run(*PIP, "wheel", "--no-deps", "-w", str(building), str(REPO), timeout=180)
            building.rename(cache)  # whole or not at all, should the build be cut short
            for old in cache.parent.iterdir():  # other sources' wheels, unless in use right now
                if old not in (cache, lock_file) and time.time() - old.stat().st_mtime > 3600:
                    shutil.rmtree(old, ignore_errors=True)
    (found,) = cache.glob("mitmrelay-*.whl")
    return found


def build_and_install(work: Path) -> Installed:
    venv = work / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", str(venv), timeout=60)
    python = venv / "bin" / "python"
    probe = "import sysconfig; print(sysconfig.get_path('purelib'))"
    site = Path(run(str(python), "-c", probe).stdout.strip())
    # The dependencies from this venv, after the new venv's own site-packages (a path line in a
    # .pth does not run that folder's .pth files: an editable checkout installed there stays out).
    (site / "dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    run(*PIP, "--python", str(python), "install", "--no-deps", "--no-index", str(wheel()),
        timeout=120)  # fmt: skip
    for name in ("mitmdump", "mitmweb"):
        launcher = venv / "bin" / name
        launcher.write_text(LAUNCHER.format(python=python, name=name))
        launcher.chmod(0o755)
    home = work / "home"
    # mitmproxy's CA made once, before commands that start together would each make their own.
    CertStore.from_store(home / ".mitmproxy", "mitmproxy", 2048)
    script = Path(run(str(venv / "bin" / "mitmrelay"), "script", cwd=work).stdout.strip())
    return Installed(venv / "bin", home, script)
