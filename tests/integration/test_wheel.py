"""The wheel, installed into a fresh virtualenv outside the checkout, gives a working `mitmrelay`.

The new venv gets mitmproxy and the other dependencies from the running venv's site-packages (a
.pth line: the machine reaches package registries only, and installing mitmproxy would take
minutes); mitmrelay itself only from the wheel. Every command runs from a directory outside the
checkout, without PYTHONPATH.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest
from mitmproxy.version import VERSION as MITMPROXY_VERSION
from mitmrelay.testing import HOST, Process, free_port
from peers import REPO, curl


def run(*args: str, **kwargs) -> subprocess.CompletedProcess:
    out = subprocess.run(args, capture_output=True, text=True, check=False, **kwargs)
    assert out.returncode == 0, f"{args}:\n{out.stdout}{out.stderr}"
    return out


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bin/ folder of a fresh venv with the wheel built from this checkout installed."""
    work = tmp_path_factory.mktemp("wheel")
    # pip's isolated build env fetches setuptools and wheel from the package index (or its cache).
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    run(*pip, "wheel", "--no-deps", "-w", str(work / "dist"), str(REPO), timeout=180)
    (wheel,) = (work / "dist").glob("mitmrelay-*.whl")
    venv = work / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", str(venv), timeout=60)
    site = Path(
        run(
            str(venv / "bin" / "python"),
            "-c",
            "import sysconfig; print(sysconfig.get_path('purelib'))",
        ).stdout.strip()
    )
    # The dependencies from this venv, after the new venv's own site-packages (a path line in a
    # .pth does not run that folder's .pth files: an editable checkout installed there stays out).
    (site / "dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    run(*pip, "--python", str(venv / "bin" / "python"), "install", "--no-deps", "--no-index",
        str(wheel), timeout=120)  # fmt: skip
    return venv / "bin"


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return {**env, **extra}


def test_the_installed_package_is_not_the_checkout(installed, tmp_path):
    out = run(str(installed / "mitmrelay"), "recipes", cwd=tmp_path, env=clean_env(), timeout=60)
    line = next(line for line in out.stdout.splitlines() if line.startswith("soap-over-socks5 "))
    path = Path(line.split()[-1])
    assert "site-packages" in path.parts and not path.is_relative_to(REPO)
    assert path.read_text() == (REPO / "recipes" / "soap-over-socks5.yaml").read_text()
    assert "mitmrelay = mitmrelay.cli.all_addons" in "".join(
        p.read_text() for p in installed.parent.glob("lib/*/site-packages/*/entry_points.txt")
    )


def test_the_installed_command_says_its_versions(installed, tmp_path):
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    out = run(str(installed / "mitmrelay"), "--version", cwd=tmp_path, env=clean_env(), timeout=60)
    assert out.stdout == (
        f"mitmrelay {version} (mitmproxy {MITMPROXY_VERSION}, Python {platform.python_version()})\n"
    )
    probe = "import mitmrelay; print(mitmrelay.__version__)"
    out = run(str(installed / "python"), "-c", probe, cwd=tmp_path, env=clean_env(), timeout=60)
    assert out.stdout == f"{version}\n"


def test_the_wheel_carries_the_typed_marker_and_the_license(installed):
    site = next(installed.parent.glob("lib/*/site-packages"))
    assert (site / "mitmrelay" / "py.typed").exists()
    (dist_info,) = site.glob("mitmrelay-*.dist-info")
    assert "MIT License" in "".join(p.read_text() for p in dist_info.rglob("LICENSE*"))
    assert "Classifier: Typing :: Typed" in (dist_info / "METADATA").read_text()


def test_the_installed_command_runs_a_shipped_recipe_through_microsocks(installed, peer, tmp_path):
    origin, socks = peer.https_origin(), peer.microsocks("alice", "pw-wheel")
    port = free_port()
    relay = Process(
        [
            str(installed / "mitmrelay"),
            "run",
            "soap-over-socks5",
            "--mode",
            f"reverse:https://localhost:{origin.port}@{port}",
            "--set",
            f"proxy_chain=socks5h://alice:${{PROXY_PASS}}@{HOST}:{socks.port}",
            "--set",
            f"confdir={tmp_path / 'conf'}",
        ],
        tmp_path / "mitmrelay.log",
        env=clean_env(PROXY_PASS="pw-wheel"),
        cwd=tmp_path,
        ready=[rf"listening at \S+:{port}"],
    )
    peer.keep(relay)
    code, body = curl(f"http://{HOST}:{port}/service", "--data", "<Echo>hi</Echo>")
    assert code == 200 and "<Echo>hi</Echo>" in body
    socks.wait_log(rf"connected to localhost:{origin.port}")  # remote DNS
    relay.wait_log(r"recipe \S*site-packages/mitmrelay/recipes/soap-over-socks5.yaml: set ")


def test_the_installed_check_goes_hop_by_hop_through_microsocks(installed, peer, tmp_path):
    origin, socks = peer.https_origin(), peer.microsocks("alice", "pw-wheel")
    out = subprocess.run(
        [
            str(installed / "mitmrelay"),
            "check",
            "--set",
            f"proxy_chain=socks5h://alice:${{PROXY_PASS}}@{HOST}:{socks.port}",
            "--set",
            f"ssl_verify_upstream_trusted_ca={peer.certs.ca}",
            f"tls://localhost:{origin.port}",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=tmp_path,
        env=clean_env(PROXY_PASS="pw-wheel"),
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "the name localhost went to the proxy (remote DNS)" in out.stdout
    assert out.stdout.rstrip().endswith(f"reached tls://localhost:{origin.port}")
    out = subprocess.run(
        [str(installed / "mitmrelay"), "check", f"{HOST}:{free_port()}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=tmp_path,
        env=clean_env(),
    )
    assert out.returncode == 1 and "FAILED at destination" in out.stdout


def test_the_installed_recipes_check_is_ok_and_reads_relative_paths_from_here(installed, tmp_path):
    """The shipped recipes live in site-packages: their needs are the user's, their relative
    paths (replay-mock-server's recording) start in the directory the command runs in."""
    secrets = {"PROXY_PASS", "SOCKS_PASS", "CORP_PASS", "JUMP_PASS"}
    env = {k: v for k, v in clean_env(XDG_CONFIG_HOME=str(tmp_path)).items() if k not in secrets}
    command = [str(installed / "mitmrelay"), "recipes", "check"]
    out = run(*command, cwd=tmp_path, env=env, timeout=60)
    shipped = next(line for line in out.stdout.splitlines() if line.startswith("Shipped recipes"))
    assert "site-packages/mitmrelay/recipes:" in shipped, out.stdout
    recording = tmp_path / "recordings" / "20260101-120000-1a2b3c4d.recording"
    assert f"needs: the file {recording} (proxy_routes)" in out.stdout
    recording.parent.mkdir()
    recording.write_text('{"mitmrelay": "recording"}\n{"dir": "<", "text": "hi"}\n')
    out = run(*command, "replay-mock-server", cwd=tmp_path, env=env, timeout=60)
    assert out.stdout.endswith("site-packages/mitmrelay/recipes/replay-mock-server.yaml: ok\n")
