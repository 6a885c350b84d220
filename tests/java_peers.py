"""A WS-Security service whose checks are Apache WSS4J's (tests/java/WssService.java), compiled
with the JDK against Debian's libwss4j-java and started on a free port of 127.0.0.1."""

from __future__ import annotations

import subprocess
from pathlib import Path

from mitmrelay.testing import Process

SOURCE = Path(__file__).parent / "java" / "WssService.java"
JARS = [
    Path("/usr/share/java") / name
    for name in ("wss4j.jar", "xmlsec.jar", "commons-logging.jar", "slf4j-api.jar", "slf4j-nop.jar")
]


def missing() -> str | None:
    """Why the service cannot run here, or None."""
    lost = [str(jar) for jar in JARS if not jar.is_file()]
    if lost:
        return f"{', '.join(lost)} not installed: run scripts/test (apt-get install libwss4j-java)"
    return None


def compile_service(folder: Path) -> Path:
    """WssService.class in folder (compiled once per folder)."""
    if not (folder / "WssService.class").exists():
        classpath = ":".join(map(str, JARS))
        subprocess.run(
            ["javac", "-cp", classpath, "-d", str(folder), str(SOURCE)],
            check=True,
            capture_output=True,
            timeout=120,
        )
    return folder


class WssService(Process):
    """The service: `port`, and `verdicts()`, one 'accepted SYMBOL' or 'refused REASON' a
    request, in order."""

    def __init__(
        self, classes: Path, log: Path, user: str, password: str, cert: Path | None = None
    ) -> None:
        classpath = ":".join([*map(str, JARS), str(classes)])
        args = ["java", "-cp", classpath, "WssService", user, password]
        super().__init__(args + ([str(cert)] if cert else []), log, ready=[r"listening \d+"])
        self.port = int(self.wait_log(r"listening (\d+)").group(1))

    def verdicts(self) -> list[str]:
        return [
            line for line in self.text().splitlines() if line.startswith(("accepted ", "refused "))
        ]
