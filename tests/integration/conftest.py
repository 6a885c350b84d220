"""The installed wheel, built and installed once per test session (wheel_helpers)."""

from __future__ import annotations

import pytest
from wheel_helpers import Installed, build_and_install


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    return build_and_install(tmp_path_factory.mktemp("wheel"))
