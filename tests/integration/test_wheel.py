"""The wheel, installed into a fresh virtualenv outside the checkout, gives a working `mitmrelay`
(wheel_helpers; the `installed` fixture builds it once per session). What the README and docs/
tell a user to run with it is run in test_first_hour.py."""

from __future__ import annotations

import platform
import tomllib
from pathlib import Path

from mitmproxy.version import VERSION as MITMPROXY_VERSION
from peers import REPO
from wheel_helpers import run


def test_the_installed_package_is_not_the_checkout(installed, tmp_path):
    out = run(str(installed.bin / "mitmrelay"), "recipes", cwd=tmp_path, env=installed.env(),
              timeout=60)  # fmt: skip
    line = next(line for line in out.stdout.splitlines() if line.startswith("soap-over-socks5 "))
    path = Path(line.split()[-1])
    assert "site-packages" in path.parts and not path.is_relative_to(REPO)
    assert path.read_text() == (REPO / "recipes" / "soap-over-socks5.yaml").read_text()
    assert installed.script.is_relative_to(installed.site_packages())
    assert "mitmrelay = mitmrelay.cli.all_addons" in "".join(
        p.read_text() for p in installed.site_packages().glob("*/entry_points.txt")
    )


def test_the_installed_command_says_its_versions(installed, tmp_path):
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    out = run(str(installed.bin / "mitmrelay"), "--version", cwd=tmp_path, env=installed.env(),
              timeout=60)  # fmt: skip
    assert out.stdout == (
        f"mitmrelay {version} (mitmproxy {MITMPROXY_VERSION}, Python {platform.python_version()})\n"
    )
    probe = "import mitmrelay; print(mitmrelay.__version__)"
    out = run(str(installed.bin / "python"), "-c", probe, cwd=tmp_path, env=installed.env(),
              timeout=60)  # fmt: skip
    assert out.stdout == f"{version}\n"


def test_the_wheel_carries_the_typed_marker_and_the_license(installed):
    site = installed.site_packages()
    assert (site / "mitmrelay" / "py.typed").exists()
    (dist_info,) = site.glob("mitmrelay-*.dist-info")
    assert "MIT License" in "".join(p.read_text() for p in dist_info.rglob("LICENSE*"))
    assert "Classifier: Typing :: Typed" in (dist_info / "METADATA").read_text()
