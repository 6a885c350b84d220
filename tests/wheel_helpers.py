"""mitmrelay as a user has it: the wheel built from this checkout, installed into a fresh virtualenv
outside the checkout, and run from directories outside it without PYTHONPATH.

The new venv gets mitmproxy and the other dependencies from the running venv's site-packages (a
.pth line: the machine reaches package registries only, and installing mitmproxy would take
minutes); mitmrelay itself only from the wheel. mitmproxy's own commands (mitmdump, mitmweb) are
written into its bin/ as pip writes console scripts, so `mitmdump` there runs the venv's Python,
which imports the installed mitmrelay, as it would after `pip install .` beside mitmproxy.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
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


def build_and_install(work: Path) -> Installed:
    # pip's isolated build env fetches setuptools from the package index (or its cache).
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    run(*pip, "wheel", "--no-deps", "-w", str(work / "dist"), str(REPO), timeout=180)
    (wheel,) = (work / "dist").glob("mitmrelay-*.whl")
    venv = work / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", str(venv), timeout=60)
    python = venv / "bin" / "python"
    probe = "import sysconfig; print(sysconfig.get_path('purelib'))"
    site = Path(run(str(python), "-c", probe).stdout.strip())
    # The dependencies from this venv, after the new venv's own site-packages (a path line in a
    # .pth does not run that folder's .pth files: an editable checkout installed there stays out).
    (site / "dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    run(*pip, "--python", str(python), "install", "--no-deps", "--no-index", str(wheel),
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
