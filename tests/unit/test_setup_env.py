"""scripts/setup_env.py: the demo installs only what the demo starts."""

from __future__ import annotations

import sys

from peers import REPO

sys.path.insert(0, str(REPO / "scripts"))
from setup_env import DEBIAN_PEERS, DEMO_PEERS, missing_packages


def nothing_installed(program: str) -> None:
    return None


def test_the_demo_installs_its_socks_proxy_and_nothing_else():
    assert missing_packages(DEMO_PEERS, nothing_installed) == ["coreutils", "microsocks"]


def test_the_test_suite_installs_every_peer():
    every = missing_packages(DEBIAN_PEERS, nothing_installed)
    assert {"chromium", "chromium-driver", "microsocks", "tinyproxy"} <= set(every)


def test_installed_programs_are_not_installed_again():
    assert missing_packages(DEMO_PEERS, lambda program: f"/usr/bin/{program}") == []
