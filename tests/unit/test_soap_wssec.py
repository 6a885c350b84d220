"""Fresh WS-Security for replays (soap/wssec.py, soap/sign.py), on requests zeep wrote: each part
a server checks against replays is made new, the digest is the profile's, what lacks material is
named and left as recorded, a signature is made again over the same references."""

from __future__ import annotations

import base64
import datetime
import re

import pytest
import wssec_helpers as h
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from mitmrelay.soap import wssec

zeep = pytest.importorskip("zeep")

NOW = datetime.datetime(2026, 12, 3, 16, 0, 0, 250000, tzinfo=datetime.UTC)
RECORDED_AT = datetime.datetime(2026, 12, 3, 9, 0, 0, tzinfo=datetime.UTC)
RANDOM = bytes(range(1, 33))


def random(size: int) -> bytes:
    return RANDOM[:size]


def texts(content: bytes, local: str) -> list[str]:
    root = etree.fromstring(content)
    return [e.text or "" for e in root.iter(etree.Element) if etree.QName(e).localname == local]


def refreshed(content: bytes, material: wssec.Material) -> wssec.Refreshed:
    return wssec.refresh(content, material, now=lambda: NOW, random=random)


def test_every_replay_check_is_made_new():
    recorded = h.zeep_request(lifetime=2, now=RECORDED_AT)
    result = refreshed(recorded, wssec.Material(password=h.PASSWORD))
    assert result.content is not None and not result.stale
    assert result.refreshed == [
        "wsa:MessageID",
        "wsse:Nonce",
        "UsernameToken Created",
        "PasswordDigest",
        "wsu:Timestamp",
    ]
    created, expires = texts(result.content, "Created")[1], texts(result.content, "Expires")[0]
    assert (created, expires) == (
        "2026-12-03T16:00:00Z",
        "2026-12-03T16:00:02Z",
    )  # 2 s, as recorded
    token_created = texts(result.content, "Created")[0]
    assert token_created == "2026-12-03T16:00:00+00:00"  # zeep's format kept
    nonce = base64.b64decode(texts(result.content, "Nonce")[0])
    assert nonce == RANDOM[:16]
    digest = texts(result.content, "Password")[0]
    assert digest == wssec.password_digest(nonce, token_created, h.PASSWORD)
    assert digest != texts(recorded, "Password")[0]
    assert texts(result.content, "MessageID") != texts(recorded, "MessageID")
    assert texts(result.content, "MessageID")[0].startswith("urn:uuid:")
    assert texts(result.content, "symbol") == ["ACME"]


def test_zeeps_own_digest_is_the_one_computed():
    """zeep computes the digest itself: the same function of its nonce and created agrees."""
    recorded = h.zeep_request()
    nonce = base64.b64decode(texts(recorded, "Nonce")[0])
    created = texts(recorded, "Created")[0]
    assert wssec.password_digest(nonce, created, h.PASSWORD) == texts(recorded, "Password")[0]


def test_without_the_password_the_token_stays_and_says_which_option():
    recorded = h.zeep_request(now=RECORDED_AT)
    result = refreshed(recorded, wssec.Material())
    assert result.stale == [
        "UsernameToken PasswordDigest, Nonce and Created (set soap_wsse_password to refresh them)"
    ]
    assert result.refreshed == ["wsa:MessageID", "wsu:Timestamp"]
    assert result.content is not None
    for local in ("Password", "Nonce"):
        assert texts(result.content, local) == texts(recorded, local)


@pytest.mark.parametrize(
    "content",
    [
        b"<notsoap/>",
        b'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body/></s:Envelope>',
        b'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>',
        b"",
    ],
)
def test_nothing_to_refresh_leaves_the_bytes(content):
    result = refreshed(content, wssec.Material(password="x"))
    assert result == wssec.Refreshed(None)


def test_a_doctype_is_not_parsed_and_said():
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        + h.zeep_request().replace(b">ACME<", b">&b;<")
    )
    result = refreshed(bomb, wssec.Material(h.PASSWORD))
    assert result.content is None
    assert result.stale == ["the whole envelope (it has a DOCTYPE, which SOAP forbids)"]


def test_a_password_text_token_gets_a_new_nonce_and_created_without_the_password():
    recorded = h.zeep_request(now=RECORDED_AT)
    text = recorded.replace(b"#PasswordDigest", b"#PasswordText")
    text = re.sub(rb"(<wsse:Password[^>]*>)[^<]+", rb"\g<1>" + h.PASSWORD.encode(), text)
    result = refreshed(text, wssec.Material())
    assert result.content is not None and not result.stale
    assert "wsse:Nonce" in result.refreshed and "PasswordDigest" not in result.refreshed
    assert texts(result.content, "Password") == [h.PASSWORD]
    assert texts(result.content, "Nonce") != texts(text, "Nonce")


def test_a_digest_without_created_is_computed_from_the_nonce_alone():
    recorded = re.sub(
        rb"<wsu:Created [^>]*>[^<]+</wsu:Created></wsse:UsernameToken>",
        b"</wsse:UsernameToken>",
        h.zeep_request(now=RECORDED_AT),
    )
    result = refreshed(recorded, wssec.Material(h.PASSWORD))
    assert result.content is not None
    nonce = base64.b64decode(texts(result.content, "Nonce")[0])
    assert texts(result.content, "Password") == [wssec.password_digest(nonce, "", h.PASSWORD)]


RECORDED = h.zeep_request(now=RECORDED_AT)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, len(RECORDED)), st.binary(max_size=40), st.integers(0, 40))
def test_any_bytes_give_an_answer_never_an_exception(at, inserted, cut):
    """A replayed body is whatever the user edited: cut, spliced, not XML at all."""
    content = RECORDED[:at] + inserted + RECORDED[at + cut :]
    result = refreshed(content, wssec.Material(h.PASSWORD))
    if result.content is not None:
        etree.fromstring(result.content)  # what is sent instead is well-formed XML


@pytest.mark.parametrize("version", ["1.1", "1.2"])
def test_both_soap_versions(version):
    recorded = h.zeep_request(now=RECORDED_AT)
    if version == "1.2":
        recorded = recorded.replace(h.SOAP11.encode(), b"http://www.w3.org/2003/05/soap-envelope")
    result = refreshed(recorded, wssec.Material(h.PASSWORD))
    assert "PasswordDigest" in result.refreshed and "wsu:Timestamp" in result.refreshed


def test_the_xml_declaration_and_its_encoding_are_kept():
    recorded = b'<?xml version="1.0" encoding="ISO-8859-1"?>\n' + h.zeep_request(symbol="caf\xe9")
    result = refreshed(recorded.decode("utf-8").encode("latin-1"), wssec.Material(h.PASSWORD))
    assert result.content is not None
    assert result.content.startswith(b"<?xml version='1.0' encoding='ISO-8859-1'?>")
    assert texts(result.content, "symbol") == ["caf\xe9"]


@pytest.mark.parametrize(
    ("recorded", "written"),
    [
        ("2026-01-01T00:00:00Z", "2026-12-03T16:00:00Z"),
        ("2026-01-01T00:00:00.123Z", "2026-12-03T16:00:00.250Z"),
        ("2026-01-01T00:00:00.1234567Z", "2026-12-03T16:00:00.2500000Z"),
        ("2026-01-01T00:00:00+00:00", "2026-12-03T16:00:00+00:00"),
        ("2026-01-01T00:00:00", "2026-12-03T16:00:00"),
    ],
)
def test_times_are_written_as_recorded(recorded, written):
    parsed = wssec._parse_time(recorded)
    assert parsed is not None
    assert wssec.format_time(NOW, parsed[1], parsed[2]) == written


def test_reports_name_parts_never_values():
    recorded = h.zeep_request(now=RECORDED_AT)
    for material in (wssec.Material(), wssec.Material(password=h.PASSWORD)):
        result = refreshed(recorded, material)
        words = " ".join(result.refreshed + result.stale)
        assert h.PASSWORD not in words
        for local in ("Password", "Nonce"):
            for value in texts(recorded, local) + texts(result.content or b"", local):
                assert value not in words


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    pytest.importorskip("xmlsec")
    return h.signing_pair(tmp_path_factory.mktemp("sign"))


class TestSigned:
    def edited(self, pair) -> bytes:
        recorded = h.zeep_request(sign=pair, now=RECORDED_AT)
        return recorded.replace(b">ACME<", b">MSFT<")

    def test_signed_again_over_the_same_references(self, pair):
        from mitmrelay.soap.sign import load_signer
        from zeep.wsse.signature import SignatureVerificationFailed, verify_envelope

        edited = self.edited(pair)
        with pytest.raises(SignatureVerificationFailed):
            verify_envelope(etree.fromstring(edited), str(pair[1]))
        signer = load_signer(*pair)
        result = refreshed(edited, wssec.Material(h.PASSWORD, signer))
        assert result.content is not None and not result.stale
        assert result.refreshed[-1].startswith("ds:Signature (rsa-sha1 over Body, Timestamp")
        verify_envelope(etree.fromstring(result.content), str(pair[1]))
        assert texts(result.content, "symbol") == ["MSFT"]
        assert texts(result.content, "Created")[1] == "2026-12-03T16:00:00Z"

    def test_a_certificate_of_another_key_is_named_in_the_key_info(self, pair, tmp_path):
        from mitmrelay.soap.sign import load_signer
        from zeep.wsse.signature import verify_envelope

        other = h.signing_pair(tmp_path, "other")
        result = refreshed(self.edited(pair), wssec.Material(h.PASSWORD, load_signer(*other)))
        assert result.content is not None
        verify_envelope(etree.fromstring(result.content), str(other[1]))

    def test_without_a_key_signed_parts_stay_and_the_log_says_why(self, pair):
        edited = self.edited(pair)
        result = refreshed(edited, wssec.Material(h.PASSWORD))
        assert result.stale == [
            "wsu:Timestamp (signed: set soap_sign_key and soap_sign_cert to refresh it and sign "
            "again)",
            "ds:Signature (kept as recorded; an edited signed part fails the service's check: "
            "set soap_sign_key and soap_sign_cert to sign again)",
        ]
        assert texts(result.content or b"", "Created")[1] == texts(edited, "Created")[1]

    def test_an_unreadable_key_is_refused_with_its_name(self, pair, tmp_path):
        from mitmrelay.soap.sign import SignError, load_signer

        bad = tmp_path / "bad.key"
        bad.write_text("not a key")
        with pytest.raises(SignError, match=r"cannot load the key .*bad\.key"):
            load_signer(bad, pair[1])

    def test_the_recorded_algorithms_are_kept(self, pair):
        import xmlsec
        from mitmrelay.soap.sign import load_signer
        from zeep.wsse.signature import verify_envelope

        recorded = h.zeep_request(
            sign=pair,
            now=RECORDED_AT,
            signature_method=xmlsec.constants.TransformRsaSha256,
            digest_method=xmlsec.constants.TransformSha256,
        ).replace(b">ACME<", b">MSFT<")
        result = refreshed(recorded, wssec.Material(h.PASSWORD, load_signer(*pair)))
        assert result.content is not None
        assert result.refreshed[-1].startswith("ds:Signature (rsa-sha256 over Body, Timestamp")
        root = etree.fromstring(result.content)
        digests = root.findall(".//{http://www.w3.org/2000/09/xmldsig#}DigestMethod")
        assert {d.get("Algorithm") for d in digests} == {"http://www.w3.org/2001/04/xmlenc#sha256"}
        verify_envelope(root, str(pair[1]))

    def test_a_binary_security_token_carries_the_configured_certificate(self, pair, tmp_path):
        from mitmrelay.soap.sign import load_signer
        from zeep.wsse.signature import BinarySignature, verify_envelope

        other = h.signing_pair(tmp_path, "other")
        recorded = h.zeep_request(sign=pair, now=RECORDED_AT, signer=BinarySignature)
        result = refreshed(recorded, wssec.Material(h.PASSWORD, load_signer(*other)))
        assert result.content is not None
        token = texts(result.content, "BinarySecurityToken")
        assert token != texts(recorded, "BinarySecurityToken")
        pem = other[1].read_text()
        assert "".join(token[0].split()) == "".join(pem.splitlines()[1:-1])
        verify_envelope(etree.fromstring(result.content), str(other[1]))
