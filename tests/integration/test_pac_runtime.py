"""proxy_pac in a running mitmweb, changed as its Options editor does (PUT /options): many times
over with connections through the proxies each PAC names, and to scripts that loop, allocate or
recurse without end, which neither stop nor bloat the proxy (PAC code runs in a worker process)."""

from __future__ import annotations

from mitmrelay.testing import HOST, wait_for
from peers import curl, memory_kib
from web_helpers import start_web

RSS_SLACK_KIB = 50 << 10  # the proxy with any PAC stays within this of itself with a benign one


def get_through(proxy_port: int, origin_port: int) -> None:
    """One new connection through the proxy to the plain HTTP origin, answered."""
    code, _ = curl("-x", f"http://{HOST}:{proxy_port}", f"http://localhost:{origin_port}/")
    assert code == 200


def test_proxy_pac_changed_20_times_while_connections_flow(peer):
    origin = peer.http_origin()
    socks, http = peer.microsocks(), peer.tinyproxy()
    api, web, port = start_web(peer.tmp)
    peer.keep(web)
    for n in range(20):
        answer = f"SOCKS5 {HOST}:{socks.port}" if n % 2 else f"PROXY {HOST}:{http.port}"
        script = peer.tmp / f"proxy-{n}.pac"
        script.write_text(f'function FindProxyForURL(url, host) {{ return "{answer}"; }}\n')
        api.send("PUT", "/options", {"proxy_pac": str(script)})
        get_through(port, origin.port)
        # carried by the proxy this PAC names, and by no other
        assert socks.text().count("connected to localhost") == (n + 1) // 2, f"change {n}"
        assert http.text().count("CONNECT localhost") == n // 2 + 1, f"change {n}"
    assert web.proc.poll() is None
    assert api.get("/options")["proxy_pac"]["value"] == str(peer.tmp / "proxy-19.pac")


HOSTILE = {
    "loop": "while (true) {}",
    # MiB by MiB: the heap bound is met in a few ms, long before the time bound on a busy machine
    "allocation": "var a = []; while (true) { a.push('x'.repeat(1 << 20) + a.length); }",
    "recursion": "function r(n) { return r(n + 1) + 1; } return r(0);",
}


def test_hostile_pacs_stop_without_bloating_the_proxy(peer):
    origin = peer.http_origin()
    http = peer.tinyproxy()
    api, web, port = start_web(peer.tmp, "--set", "proxy_connect_timeout=5")
    peer.keep(web)
    benign = peer.tmp / "benign.pac"
    benign.write_text(f'function FindProxyForURL(u, h) {{ return "PROXY {HOST}:{http.port}"; }}')
    api.send("PUT", "/options", {"proxy_pac": str(benign)})
    for _ in range(3):
        get_through(port, origin.port)
    before = memory_kib(web.proc.pid, "VmRSS")
    for name, body in HOSTILE.items():
        script = peer.tmp / f"{name}.pac"
        # Loads fine; the destination makes it misbehave.
        script.write_text(
            "function FindProxyForURL(url, host) {\n"
            f'  if (host == "localhost") {{ {body} }}\n'
            '  return "DIRECT";\n'
            "}\n"
        )
        api.send("PUT", "/options", {"proxy_pac": str(script)})
        get_through(port, origin.port)  # the next rule: proxy_chain, empty, so direct
        wait_for(lambda s=script: f"PAC {s}: FindProxyForURL failed" in api.log(), 15, name)
        assert web.proc.poll() is None, f"mitmweb died on the {name} PAC"
        assert memory_kib(web.proc.pid, "VmRSS") < before + RSS_SLACK_KIB, (
            f"the {name} PAC bloated the proxy"
        )
    log = api.log()
    assert "ran past its time bound" in log
    assert "used more than 64 MiB" in log
    assert "recursed too deep" in log
    assert http.text().count("CONNECT localhost") == 3  # only the benign PAC's connections
