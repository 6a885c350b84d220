"""A known proxy password never appears in any output channel: mitmdump's log and flow output,
error pages, socat dumps, saved flow files. Environment references stay references."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from mitmrelay.testing import HOST
from peers import curl

ENV_SECRET = "env-secret-Zq81"
LITERAL_SECRET = "literal-secret-Yk27"


def test_proxy_passwords_stay_out_of_every_output(peer):
    origin = peer.https_origin()
    socks = peer.microsocks("alice", ENV_SECRET)
    connect = peer.tinyproxy("bob", LITERAL_SECRET)
    dump, flows = peer.tmp / "dump.txt", peer.tmp / "flows.mitm"
    relay = peer.mitmdump(
        "--ssl-insecure",
        "--flow-detail",
        "4",
        "-w",
        str(flows),
        "--set",
        f"socat_dump={dump}",
        "--set",
        f"proxy_chain=socks5h://alice:${{PW}}@{HOST}:{socks.port}",
        "--set",
        f"proxy_routes=bad.localhost=http://bob:wrong-{LITERAL_SECRET}@{HOST}:{connect.port}",
        "--set",
        f"proxy_routes=127.0.0.1=socks5h://alice:${{PW}}@{HOST}:{socks.port},http://bob:{LITERAL_SECRET}@{HOST}:{connect.port}",
        env={"PW": ENV_SECRET},
    )
    proxy = [
        "-x",
        f"http://{HOST}:{relay.port}",
        "--cacert",
        str(peer.tmp / "mitmproxy-conf" / "mitmproxy-ca-cert.pem"),
    ]
    assert curl(*proxy, f"https://localhost:{origin.port}/ok")[0] == 200
    assert curl(*proxy, f"https://127.0.0.1:{origin.port}/two-hops")[0] == 200
    code, error_page = curl(*proxy, f"http://bad.localhost:{origin.port}/fails")
    assert code == 502 and "bob:***@" in error_page
    relay.wait_log(r"bad\.localhost")
    relay.stop()

    shown = relay.text()
    assert "via socks5h://alice:${PW}@" in shown
    assert "http://bob:***@" in shown
    saved = subprocess.run(
        [
            str(Path(sys.executable).parent / "mitmdump"),
            "-n",
            "-r",
            str(flows),
            "--flow-detail",
            "4",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    ).stdout
    assert "/two-hops" in saved
    channels = {
        "mitmdump output": shown,
        "error page": error_page,
        "socat dump": dump.read_text(errors="replace"),
        "flow file": flows.read_bytes().decode("latin-1"),
        "flow file replayed": saved,
    }
    assert "GET /ok" in channels["socat dump"] and "/two-hops" in channels["flow file"]
    for name, text in channels.items():
        for secret in (ENV_SECRET, LITERAL_SECRET):
            assert secret not in text, f"{secret} in {name}"
