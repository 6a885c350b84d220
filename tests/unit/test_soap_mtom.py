import hashlib

import pytest
import soap_helpers as h
from mitmrelay.soap import MessageInfo, render
from mitmrelay.soap.mtom import boundary_of, root_part, split_parts

PNG_SHA = hashlib.sha256(h.PNG_BYTES).hexdigest()


def test_parts_and_root():
    parts = split_parts(h.MTOM_BODY, h.MTOM_BOUNDARY.encode())
    assert [p.content_id for p in parts] == ["root.message@example", "logo@example", "note@example"]
    assert parts[1].body == h.PNG_BYTES
    assert root_part(parts, h.MTOM_CONTENT_TYPE) is parts[0]


@pytest.mark.parametrize("content_type", [h.MTOM_CONTENT_TYPE, None])
def test_boundary_from_header_or_body(content_type):
    assert boundary_of(h.MTOM_BODY, content_type) == h.MTOM_BOUNDARY.encode()


def test_start_parameter_picks_the_root():
    parts = split_parts(h.MTOM_BODY, h.MTOM_BOUNDARY.encode())
    assert root_part(parts, 'multipart/related; boundary=x; start="<note@example>"') is parts[2]


@pytest.mark.parametrize("content_type", [h.MTOM_CONTENT_TYPE, None])
def test_mtom_view_lists_includes_and_attachments_without_dumping_them(content_type):
    text = render(h.MTOM_BODY, MessageInfo(content_type)).text
    assert (
        f"  xop:Include in <data> -> cid:logo@example: <logo@example> image/png, "
        f"{len(h.PNG_BYTES)} bytes, sha256 {PNG_SHA}"
    ) in text
    assert "  attachment <note@example> text/plain, 12 bytes, sha256 " in text
    assert "PNG" not in text and "unreferenced" not in text
    assert "<u:name>logo.png</u:name>" in text


def test_an_include_pointing_nowhere_says_so():
    body = h.MTOM_BODY.replace(b"cid:logo%40example", b"cid:gone@example")
    assert (
        "xop:Include in <data> -> cid:gone@example: missing part"
        in render(body, MessageInfo()).text
    )
