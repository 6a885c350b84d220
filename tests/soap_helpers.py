"""SOAP messages and helpers shared by the SOAP tests (importable as `soap_helpers`)."""

from __future__ import annotations

SECRET = "s3cr3t-Pa55"
NONCE = "bm9uY2Utbm9uY2Utbm9uY2U="

WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
PASSWORD_TEXT = (
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0"
    "#PasswordText"
)

SOAP11_REQUEST = f"""<?xml version="1.0" encoding="utf-8"?>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"
    xmlns:wsa="http://www.w3.org/2005/08/addressing" xmlns:q="urn:example:quotes">
  <soap:Header>
    <wsa:To>http://quotes.example/service</wsa:To>
    <wsa:Action>urn:example:quotes/GetQuote</wsa:Action>
    <wsa:MessageID>urn:uuid:1111</wsa:MessageID>
    <wsse:Security xmlns:wsse="{WSSE}" xmlns:wsu="{WSU}" soap:mustUnderstand="1">
      <wsse:UsernameToken wsu:Id="UT-1">
        <wsse:Username>alice</wsse:Username>
        <wsse:Password Type="{PASSWORD_TEXT}">{SECRET}</wsse:Password>
        <wsse:Nonce>{NONCE}</wsse:Nonce>
      </wsse:UsernameToken>
    </wsse:Security>
  </soap:Header>
  <soap:Body>
    <q:GetQuote currency="EUR"><q:symbol><![CDATA[<ACME & Co>]]></q:symbol></q:GetQuote>
  </soap:Body>
</soap:Envelope>
""".encode()

SOAP11_FAULT = b"""<?xml version="1.0"?>
<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/">
  <SOAP-ENV:Body>
    <SOAP-ENV:Fault>
      <faultcode>SOAP-ENV:Server</faultcode>
      <faultstring>Quote backend unavailable</faultstring>
      <faultactor>http://quotes.example/backend</faultactor>
      <detail><e:info xmlns:e="urn:example:errors">
        backend timed out after 30 s
        second line</e:info></detail>
    </SOAP-ENV:Fault>
  </SOAP-ENV:Body>
</SOAP-ENV:Envelope>
"""

SOAP12_REQUEST = b"""<?xml version="1.0"?>
<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope">
  <env:Body><m:Reserve xmlns:m="urn:example:travel"><m:seat>12A</m:seat></m:Reserve></env:Body>
</env:Envelope>
"""
SOAP12_CONTENT_TYPE = 'application/soap+xml; charset=utf-8; action="urn:example:travel/Reserve"'

# Shaped like the SOAP 1.2 Part 1 §5.4.7 example: a Sender fault with an application subcode.
SOAP12_FAULT = b"""<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"
    xmlns:t="urn:example:travel">
  <env:Body>
    <env:Fault>
      <env:Code>
        <env:Value>env:Sender</env:Value>
        <env:Subcode><env:Value>t:SeatTaken</env:Value></env:Subcode>
      </env:Code>
      <env:Reason>
        <env:Text xml:lang="en">Seat already reserved</env:Text>
        <env:Text xml:lang="fr">Place deja reservee</env:Text>
      </env:Reason>
      <env:Node>http://travel.example/booking</env:Node>
      <env:Detail><t:seat>12A</t:seat></env:Detail>
    </env:Fault>
  </env:Body>
</env:Envelope>
"""

PNG_BYTES = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
MTOM_BOUNDARY = "MIMEBoundary_abc123"
MTOM_CONTENT_TYPE = (
    f'multipart/related; boundary="{MTOM_BOUNDARY}"; type="application/xop+xml"; '
    'start="<root.message@example>"; start-info="text/xml"'
)
_MTOM_ENVELOPE = b"""<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">
<soap:Body><u:Upload xmlns:u="urn:example:files"><u:name>logo.png</u:name>
<u:data><xop:Include xmlns:xop="http://www.w3.org/2004/08/xop/include"
 href="cid:logo%40example"/></u:data>
</u:Upload></soap:Body></soap:Envelope>"""
MTOM_BODY = (
    b"--" + MTOM_BOUNDARY.encode() + b"\r\n"
    b'Content-Type: application/xop+xml; charset=UTF-8; type="text/xml"\r\n'
    b"Content-ID: <root.message@example>\r\n\r\n" + _MTOM_ENVELOPE + b"\r\n"
    b"--" + MTOM_BOUNDARY.encode() + b"\r\n"
    b"Content-Type: image/png\r\nContent-Transfer-Encoding: binary\r\n"
    b"Content-ID: <logo@example>\r\n\r\n" + PNG_BYTES + b"\r\n"
    b"--" + MTOM_BOUNDARY.encode() + b"\r\n"
    b"Content-Type: text/plain\r\nContent-ID: <note@example>\r\n\r\nunreferenced\r\n"
    b"--" + MTOM_BOUNDARY.encode() + b"--\r\n"
)

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">
  <soap:Body><x:Echo xmlns:x="urn:x">&lol9;</x:Echo></soap:Body>
</soap:Envelope>
"""


def xxe(path: str) -> bytes:
    """A SOAP request whose DTD asks the parser to read `path` (XXE)."""
    return f"""<?xml version="1.0"?>
<!DOCTYPE soap:Envelope [<!ENTITY xxe SYSTEM "file://{path}">]>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">
  <soap:Body><x:Echo xmlns:x="urn:x">&xxe;</x:Echo></soap:Body>
</soap:Envelope>
""".encode()


def huge_request(size: int) -> bytes:
    """A SOAP request of about `size` bytes: many items, as a bulk upload would send."""
    head = b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
    head += b'<b:Bulk xmlns:b="urn:bulk">'
    item = b"<b:item><b:id>12345</b:id><b:value>some value text</b:value></b:item>\n"
    tail = b"</b:Bulk></soap:Body></soap:Envelope>"
    return head + item * (size // len(item)) + tail


def client_session():
    """A requests session for SOAP clients (zeep's transport) that ignores the proxy
    environment: a proxy from the environment must not take 127.0.0.1 traffic."""
    import requests

    session = requests.Session()
    session.trust_env = False
    return session
