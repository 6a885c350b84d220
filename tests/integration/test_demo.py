"""The README's demo command runs the headline scenario end to end and cleans up after itself."""

from __future__ import annotations

import subprocess
import sys

import peers


def test_demo_makes_a_soap_call_through_the_socks_proxy():
    out = subprocess.run(
        [sys.executable, "-m", "mitmrelay.demo"],
        cwd=peers.REPO / "addons",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "<calc:result>42</calc:result>" in out.stdout
    assert "via socks5h://demo:${DEMO_PROXY_PASS}@127.0.0.1:" in out.stdout
    assert "SOAP 1.1 request" in out.stdout and "Add {http://example.org/calculator}" in out.stdout
    assert "Evidence from the SOCKS proxy's own log" in out.stdout
    assert "Demo passed" in out.stdout
