"""The corporate-proxy recipes end to end, as shipped (only hosts, ports and paths substituted):
NTLM and Kerberos squid, a PAC file with a dead first proxy, HTTPS_PROXY."""

from __future__ import annotations

import corp_peers
from corp_peers import REALM, USER
from peers import HOST, free_port, soap_call
from recipe_helpers import SERVER, recipe_copy, run_recipe


def test_12_ntlm_proxy(peer, tmp_path):
    origin, port = peer.https_origin(), free_port()
    squid = corp_peers.start_squid(("ntlm",))
    try:
        recipe = recipe_copy(
            "soap-via-ntlm-proxy.yaml",
            tmp_path,
            {
                SERVER: f"localhost:{origin.port}",
                "@5000": f"@{port}",
                "proxy.corp.example:3128": f"localhost:{squid.port}",
            },
        )
        relay = run_recipe(peer, recipe, port, env={"PROXY_PASS": "pw-12-x"}, trust_test_ca=True)
        assert soap_call(port)[0] == 200
        assert corp_peers.tunnel_user(squid, origin.port) == "C\\\\s"  # CORP\soapuser, NTLM
    finally:
        squid.stop()
    assert "pw-12-x" not in relay.text()


def test_13_kerberos_proxy(peer, tmp_path, kdc):
    origin, port = peer.https_origin(), free_port()
    ccache = tmp_path / "ccache"
    kdc.kinit(ccache)
    squid = corp_peers.start_squid(("negotiate",), kdc=kdc)
    try:
        recipe = recipe_copy(
            "soap-via-kerberos-proxy.yaml",
            tmp_path,
            {
                SERVER: f"localhost:{origin.port}",
                "@5000": f"@{port}",
                "proxy.corp.example:3128": f"localhost:{squid.port}",
            },
        )
        env = {**kdc.env, "KRB5CCNAME": f"FILE:{ccache}"}
        run_recipe(peer, recipe, port, env=env, trust_test_ca=True)
        assert soap_call(port)[0] == 200
        assert corp_peers.tunnel_user(squid, origin.port) == f"{USER}@{REALM}"
    finally:
        squid.stop()


def test_14_pac_with_a_dead_first_proxy(peer, tmp_path):
    origin, port, live = peer.https_origin(), free_port(), peer.tinyproxy()
    script = tmp_path / "wpad.dat"
    script.write_text(
        "function FindProxyForURL(url, host) {\n"
        f'  return "PROXY {HOST}:{free_port()}; PROXY {HOST}:{live.port}";\n'
        "}\n"
    )
    recipe = recipe_copy(
        "soap-via-pac.yaml",
        tmp_path,
        {
            SERVER: f"localhost:{origin.port}",
            "@5000": f"@{port}",
            "http://wpad.corp.example/wpad.dat": str(script),
        },
    )
    relay = run_recipe(peer, recipe, port, trust_test_ca=True)
    assert soap_call(port)[0] == 200
    live.wait_log(rf"CONNECT localhost:{origin.port}")
    relay.wait_log(r"carried by alternative 2/2")


def test_15_proxy_environment(peer, tmp_path):
    origin, port, live = peer.https_origin(), free_port(), peer.tinyproxy()
    recipe = recipe_copy(
        "soap-via-proxy-environment.yaml",
        tmp_path,
        {SERVER: f"localhost:{origin.port}", "@5000": f"@{port}"},
    )
    env = {"HTTPS_PROXY": f"http://{HOST}:{live.port}", "NO_PROXY": ".intranet.example"}
    relay = run_recipe(peer, recipe, port, env=env, trust_test_ca=True)
    assert soap_call(port)[0] == 200
    live.wait_log(rf"CONNECT localhost:{origin.port}")
    relay.wait_log(rf"server connect localhost:{origin.port} via http://{HOST}:{live.port}")
