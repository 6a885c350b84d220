"""proxy_chain parsing: every scheme, credentials, environment references, and clear errors."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from mitmrelay.chain.spec import (
    Hop,
    env_refs,
    expand,
    format_chain,
    mask,
    parse_chain,
    parse_hop,
    shown_password,
)


@pytest.mark.parametrize(
    "text,hops",
    [
        ("", ()),
        ("  ", ()),
        ("socks5h://127.0.0.1:1080", (Hop("socks5h", "127.0.0.1", 1080),)),
        ("SOCKS5://Proxy.Example:1080", (Hop("socks5", "proxy.example", 1080),)),
        ("socks4://userid@h:1080", (Hop("socks4", "h", 1080, "userid"),)),
        ("socks4a://h:1080/", (Hop("socks4a", "h", 1080),)),
        ("http://u:p%40ss%2Cw@h:3128", (Hop("http", "h", 3128, "u", "p@ss,w"),)),
        ("https://[::1]:8443", (Hop("https", "::1", 8443),)),
        (
            "socks5h://u:${PW}@a:1, http://b:2",
            (Hop("socks5h", "a", 1, "u", "${PW}"), Hop("http", "b", 2)),
        ),
    ],
)
def test_parse(text, hops):
    assert parse_chain(text) == hops


@pytest.mark.parametrize(
    "text,message",
    [
        ("sock5://h:1", "unknown scheme 'sock5' (did you mean 'socks5'?)"),
        ("socks5x://h:1", "unknown scheme 'socks5x' (did you mean 'socks5'"),
        ("ftp://h:1", "use one of socks4, socks4a, socks5, socks5h, http, https"),
        ("127.0.0.1:1080", "has no scheme: write it as a URL such as socks5h://127.0.0.1:1080"),
        ("socks5://h", "has no port: add one, e.g. socks5://h:1080"),
        ("http://h", "has no port: add one, e.g. http://h:3128"),
        ("socks5://h:0", "has no port"),
        ("socks5://h:70000", "port '70000' is not a number from 1 to 65535"),
        ("socks5://h:abc", "port 'abc' is not a number"),
        ("socks5://:1080", "has no host"),
        ("http://h:1/path", "has a path"),
        ("socks4://u:secret@h:1", "SOCKS4 has a user ID but no password"),
        ("socks5://u@h:1", "a user name needs a password"),
        ("socks5://h:1,,http://h:2", "hop 2 is empty"),
        ("socks5://h:1,sock5://h:2", "hop 2: unknown scheme 'sock5'"),
    ],
)
def test_errors(text, message):
    with pytest.raises(ValueError) as e:
        parse_chain(text)
    assert message in str(e.value)
    assert "secret" not in str(e.value)


def test_str_masks_literal_passwords_but_keeps_environment_references():
    chain = parse_chain("socks5h://alice:hunter2@h:1,http://bob:${BOB_PW}@[::1]:2")
    assert format_chain(chain) == "socks5h://alice:***@h:1,http://bob:${BOB_PW}@[::1]:2"
    assert format_chain(()) == "direct"


def test_mask_raw_text():
    assert (
        mask("socks5h://a:hunter2@h:1,http://b:${X}@c:2") == "socks5h://a:***@h:1,http://b:${X}@c:2"
    )


@pytest.mark.parametrize(
    "password,shown",
    [
        ("${A}", "${A}"),
        ("${A}tail", "***"),  # mask() used to show this, Hop.__str__ did not
        ("pre${A}", "***"),
        ("${A}${B}", "***"),
        ("hunter2", "***"),
        ("", "***"),
        ("$A", "***"),
    ],
)
def test_one_masking_rule_for_parsed_hops_and_raw_text(password, shown):
    spec = f"socks5h://u:{password}@h:1"
    assert shown_password(password) == shown
    assert str(parse_hop(spec)) == f"socks5h://u:{shown}@h:1"
    assert mask(spec) == f"socks5h://u:{shown}@h:1"


def test_mask_works_on_route_entries_and_lists_and_shows_references_as_written():
    assert (
        mask("*.corp=socks5h://u:${A}tail@h:1,http://v:%24%7BB%7D@p:2")
        == "*.corp=socks5h://u:***@h:1,http://v:%24%7BB%7D@p:2"
    )
    assert (
        mask("['http://a:b@h:1', 'socks4://id@h:2']") == "['http://a:***@h:1', 'socks4://id@h:2']"
    )


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["socks5", "socks5h", "http", "https"]),
            st.from_regex(r"[a-z]{1,5}", fullmatch=True),
            st.one_of(
                st.from_regex(r"[A-Za-z0-9${}_-]{0,12}", fullmatch=True),
                st.from_regex(r"\$\{[A-Z_]{1,5}\}", fullmatch=True),
            ),
        ),
        min_size=1,
        max_size=3,
    )
)
def test_masked_text_and_logged_hops_agree(hops):
    spec = ",".join(f"{scheme}://{user}:{password}@h:1" for scheme, user, password in hops)
    assert mask(spec) == format_chain(parse_chain(spec))


def test_environment_is_read_when_asked():
    (hop,) = parse_chain("socks5://${USER_NAME}:pre-${PW}@h:1")
    assert env_refs((hop,)) == ["USER_NAME", "PW"]
    assert hop.credentials({"USER_NAME": "u", "PW": "x"}) == ("u", "pre-x")
    with pytest.raises(KeyError):
        hop.credentials({"USER_NAME": "u"})
    assert expand(None) is None


@pytest.mark.parametrize(
    "scheme,remote_dns,tls",
    [
        ("socks4", False, False),
        ("socks4a", True, False),
        ("socks5", False, False),
        ("socks5h", True, False),
        ("http", True, False),
        ("https", True, True),
    ],
)
def test_scheme_meaning(scheme, remote_dns, tls):
    (hop,) = parse_chain(f"{scheme}://h:1")
    assert (hop.remote_dns, hop.tls) == (remote_dns, tls)


@given(st.text())
def test_any_text_parses_or_says_why(text):
    try:
        chain = parse_chain(text)
    except ValueError as e:
        assert str(e)
    else:
        assert all(1 <= hop.port <= 65535 and hop.host for hop in chain)
        format_chain(chain)


@pytest.mark.parametrize(
    ("text", "auth"),
    [
        ("http://CORP%5Calice:pw@proxy:3128?auth=ntlm", "ntlm"),
        ("https://proxy:443?auth=Negotiate", "negotiate"),
        ("http://u:p@proxy:3128/?auth=digest", "digest"),
        ("http://u:p@proxy:3128", None),
    ],
)
def test_auth_pinned_per_hop(text, auth):
    hop = parse_hop(text)
    assert hop.auth == auth
    assert str(hop).endswith(f"?auth={auth}" if auth else ":" + str(hop.port))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("http://proxy:3128?auth=ntml", "unknown auth 'ntml' (did you mean 'ntlm'?)"),
        ("socks5h://proxy:1080?auth=ntlm", "?auth= is for http:// and https:// hops only"),
        ("http://proxy:3128?user=x", "the only query a hop takes is ?auth=SCHEME"),
    ],
)
def test_auth_query_errors(text, message):
    with pytest.raises(ValueError) as info:
        parse_hop(text)
    assert message in str(info.value)
