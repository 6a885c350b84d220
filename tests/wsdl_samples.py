"""WSDL 1.1 documents of each style, written for these tests (importable as `wsdl_samples`), and
messages shaped as the SOAP stacks that use those WSDLs send them."""

from __future__ import annotations

S11 = "http://schemas.xmlsoap.org/soap/envelope/"
S12 = "http://www.w3.org/2003/05/soap-envelope"
_DEFS = (
    '<definitions xmlns="http://schemas.xmlsoap.org/wsdl/" '
    'xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/" '
    'xmlns:soap12="http://schemas.xmlsoap.org/wsdl/soap12/" '
    'xmlns:xsd="http://www.w3.org/2001/XMLSchema" '
    'xmlns:wsam="http://www.w3.org/2007/05/addressing/metadata"'
)

# The shape of the WSDL 1.1 specification's example 1: document/literal *bare*, the Body element
# TradePriceRequest is the input part of operation GetLastTradePrice.
STOCK_NS = "http://example.com/stockquote.xsd"
STOCK_QUOTE = f"""<?xml version="1.0"?>
{_DEFS} name="StockQuote" targetNamespace="http://example.com/stockquote.wsdl"
    xmlns:tns="http://example.com/stockquote.wsdl" xmlns:xsd1="{STOCK_NS}">
  <types>
    <xsd:schema targetNamespace="{STOCK_NS}" elementFormDefault="qualified">
      <xsd:element name="TradePriceRequest"><xsd:complexType><xsd:all>
        <xsd:element name="tickerSymbol" type="xsd:string"/></xsd:all></xsd:complexType>
      </xsd:element>
      <xsd:element name="TradePrice"><xsd:complexType><xsd:all>
        <xsd:element name="price" type="xsd:float"/></xsd:all></xsd:complexType></xsd:element>
    </xsd:schema>
  </types>
  <message name="GetLastTradePriceInput">
    <part name="body" element="xsd1:TradePriceRequest"/></message>
  <message name="GetLastTradePriceOutput"><part name="body" element="xsd1:TradePrice"/></message>
  <portType name="StockQuotePortType">
    <operation name="GetLastTradePrice">
      <input message="tns:GetLastTradePriceInput"/><output message="tns:GetLastTradePriceOutput"/>
    </operation>
  </portType>
  <binding name="StockQuoteSoapBinding" type="tns:StockQuotePortType">
    <soap:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>
    <operation name="GetLastTradePrice">
      <soap:operation soapAction="http://example.com/GetLastTradePrice"/>
      <input><soap:body use="literal"/></input><output><soap:body use="literal"/></output>
    </operation>
  </binding>
  <service name="StockQuoteService">
    <port name="StockQuotePort" binding="tns:StockQuoteSoapBinding">
      <soap:address location="http://example.com/stockquote"/>
    </port>
  </service>
</definitions>
"""


# The stock quote service with an authentication header the binding declares (WSDL 1.1 §3.7): the
# input message's `auth` part goes in the Header, its `body` part in the Body.
STOCK_AUTH = (
    STOCK_QUOTE.replace(
        '<xsd:element name="TradePrice">',
        '<xsd:element name="Auth"><xsd:complexType><xsd:sequence>'
        '<xsd:element name="user" type="xsd:string"/><xsd:element name="token" type="xsd:string"/>'
        "</xsd:sequence></xsd:complexType></xsd:element>\n"
        '      <xsd:element name="TradePrice">',
    )
    .replace(
        '<part name="body" element="xsd1:TradePriceRequest"/></message>',
        '<part name="body" element="xsd1:TradePriceRequest"/>'
        '<part name="auth" element="xsd1:Auth"/></message>',
    )
    .replace(
        '<input><soap:body use="literal"/></input>',
        '<input><soap:body use="literal" parts="body"/>'
        '<soap:header message="tns:GetLastTradePriceInput" part="auth" use="literal"/></input>',
    )
)


def stock_request(symbol: str = "MSFT", ns: str = S11) -> bytes:
    return (
        f'<s:Envelope xmlns:s="{ns}"><s:Body><m:TradePriceRequest xmlns:m="{STOCK_NS}">'
        f"<m:tickerSymbol>{symbol}</m:tickerSymbol></m:TradePriceRequest></s:Body></s:Envelope>"
    ).encode()


def stock_response(price: str = "42.5") -> bytes:
    return (
        f'<s:Envelope xmlns:s="{S11}"><s:Body><m:TradePrice xmlns:m="{STOCK_NS}">'
        f"<m:price>{price}</m:price></m:TradePrice></s:Body></s:Envelope>"
    ).encode()


# rpc style: the Body's wrapper element is the operation (namespace from soap:body), the parts
# are unqualified children typed by the message parts. `use` is literal or encoded.
CALC_NS = "urn:example:calc"


def calculator(use: str = "literal") -> str:
    encoding = (
        ' encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"' if use == "encoded" else ""
    )
    body = f'<soap:body use="{use}" namespace="{CALC_NS}"{encoding}/>'
    return f"""<?xml version="1.0"?>
{_DEFS} name="Calc" targetNamespace="{CALC_NS}" xmlns:tns="{CALC_NS}">
  <message name="AddIn"><part name="a" type="xsd:int"/><part name="b" type="xsd:int"/></message>
  <message name="AddOut"><part name="result" type="xsd:int"/></message>
  <message name="NegIn"><part name="a" type="xsd:int"/></message>
  <message name="NegOut"><part name="result" type="xsd:int"/></message>
  <portType name="CalcPortType">
    <operation name="Add"><input message="tns:AddIn"/><output message="tns:AddOut"/></operation>
    <operation name="Negate"><input message="tns:NegIn"/><output message="tns:NegOut"/></operation>
  </portType>
  <binding name="CalcBinding" type="tns:CalcPortType">
    <soap:binding style="rpc" transport="http://schemas.xmlsoap.org/soap/http"/>
    <operation name="Add"><soap:operation soapAction=""/>
      <input>{body}</input><output>{body}</output></operation>
    <operation name="Negate"><soap:operation soapAction=""/>
      <input>{body}</input><output>{body}</output></operation>
  </binding>
  <service name="Calc">
    <port name="CalcPort" binding="tns:CalcBinding"><soap:address location="http://calc.example/rpc"/></port>
  </service>
</definitions>
"""


def add_request(a: str = "2", b: str = "3") -> bytes:
    return (
        f'<s:Envelope xmlns:s="{S11}"><s:Body><c:Add xmlns:c="{CALC_NS}">'
        f"<a>{a}</a><b>{b}</b></c:Add></s:Body></s:Envelope>"
    ).encode()


def add_response(result: str = "5") -> bytes:
    return (
        f'<s:Envelope xmlns:s="{S11}"><s:Body><c:AddResponse xmlns:c="{CALC_NS}">'
        f"<result>{result}</result></c:AddResponse></s:Body></s:Envelope>"
    ).encode()


# A contract split over three files, as JAX-WS and WCF publish them: the service WSDL imports the
# abstract WSDL (messages, portType), whose types import a schema file; document/literal wrapped,
# a SOAP 1.1 and a SOAP 1.2 port, and wsam:Action on the abstract operation.
ORDERS_NS = "urn:example:orders"
ORDERS_XSD = f"""<?xml version="1.0"?>
<xsd:schema xmlns:xsd="http://www.w3.org/2001/XMLSchema" targetNamespace="{ORDERS_NS}"
    xmlns:o="{ORDERS_NS}" elementFormDefault="qualified">
  <xsd:complexType name="Line"><xsd:sequence>
    <xsd:element name="sku" type="xsd:string"/>
    <xsd:element name="quantity" type="xsd:positiveInteger"/>
  </xsd:sequence></xsd:complexType>
  <xsd:element name="PlaceOrder"><xsd:complexType><xsd:sequence>
    <xsd:element name="line" type="o:Line" maxOccurs="unbounded"/>
  </xsd:sequence></xsd:complexType></xsd:element>
  <xsd:element name="PlaceOrderResponse"><xsd:complexType><xsd:sequence>
    <xsd:element name="orderId" type="xsd:string"/>
  </xsd:sequence></xsd:complexType></xsd:element>
</xsd:schema>
"""
ORDERS_ABSTRACT = f"""<?xml version="1.0"?>
{_DEFS} targetNamespace="{ORDERS_NS}/wsdl" xmlns:tns="{ORDERS_NS}/wsdl" xmlns:o="{ORDERS_NS}">
  <types><xsd:schema>
    <xsd:import namespace="{ORDERS_NS}" schemaLocation="orders.xsd"/></xsd:schema></types>
  <message name="PlaceOrderIn"><part name="parameters" element="o:PlaceOrder"/></message>
  <message name="PlaceOrderOut"><part name="parameters" element="o:PlaceOrderResponse"/></message>
  <portType name="Orders">
    <operation name="PlaceOrder">
      <input message="tns:PlaceOrderIn" wsam:Action="{ORDERS_NS}/Orders/PlaceOrderRequest"/>
      <output message="tns:PlaceOrderOut" wsam:Action="{ORDERS_NS}/Orders/PlaceOrderResponse"/>
    </operation>
  </portType>
</definitions>
"""
ORDERS_SERVICE = f"""<?xml version="1.0"?>
{_DEFS} targetNamespace="{ORDERS_NS}/service" xmlns:a="{ORDERS_NS}/wsdl">
  <import namespace="{ORDERS_NS}/wsdl" location="abstract.wsdl"/>
  <binding name="Orders11" type="a:Orders">
    <soap:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>
    <operation name="PlaceOrder"><soap:operation soapAction="{ORDERS_NS}/PlaceOrder"/>
      <input><soap:body use="literal"/></input>
      <output><soap:body use="literal"/></output></operation>
  </binding>
  <binding name="Orders12" type="a:Orders">
    <soap12:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>
    <operation name="PlaceOrder"><soap12:operation soapAction="{ORDERS_NS}/PlaceOrder12"/>
      <input><soap12:body use="literal"/></input>
      <output><soap12:body use="literal"/></output></operation>
  </binding>
  <service name="OrderService">
    <port name="Orders11Port" binding="Orders11"><soap:address location="https://shop.example/orders"/></port>
    <port name="Orders12Port" binding="Orders12"><soap12:address location="https://shop.example/orders12"/></port>
  </service>
</definitions>
"""
ORDERS_BASE = "https://shop.example/wsdl/"
ORDERS_FILES = {
    ORDERS_BASE + "service.wsdl": ORDERS_SERVICE,
    ORDERS_BASE + "abstract.wsdl": ORDERS_ABSTRACT,
    ORDERS_BASE + "orders.xsd": ORDERS_XSD,
}


def order_request(quantity: str = "2", ns: str = S11) -> bytes:
    return (
        f'<s:Envelope xmlns:s="{ns}"><s:Body><o:PlaceOrder xmlns:o="{ORDERS_NS}">\n'
        f"<o:line><o:sku>A-1</o:sku><o:quantity>{quantity}</o:quantity></o:line>\n"
        "</o:PlaceOrder></s:Body></s:Envelope>"
    ).encode()


def billion_laughs_wsdl() -> bytes:
    entities = '<!ENTITY l0 "lol">' + "".join(
        f'<!ENTITY l{n} "{f"&l{n - 1};" * 10}">' for n in range(1, 10)
    )
    return (
        f'<?xml version="1.0"?><!DOCTYPE definitions [{entities}]>'
        f'{_DEFS} targetNamespace="urn:x"><documentation>&l9;</documentation></definitions>'
    ).encode()


def xxe_wsdl(path: str) -> bytes:
    return (
        f'<?xml version="1.0"?><!DOCTYPE definitions [<!ENTITY x SYSTEM "file://{path}">]>'
        f'{_DEFS} targetNamespace="urn:x"><documentation>&x;</documentation></definitions>'
    ).encode()


def looping_wsdls() -> dict[str, str]:
    """Two WSDLs importing each other, and a schema including itself."""
    a = f"""{_DEFS} targetNamespace="urn:a" xmlns:tns="urn:a">
  <import namespace="urn:b" location="b.wsdl"/>
  <types><xsd:schema targetNamespace="urn:a">
    <xsd:include schemaLocation="a.xsd"/></xsd:schema></types>
</definitions>"""
    b = f'{_DEFS} targetNamespace="urn:b"><import namespace="urn:a" location="a.wsdl"/>'
    b += "</definitions>"
    xsd = (
        '<xsd:schema xmlns:xsd="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:a">'
        '<xsd:include schemaLocation="a.xsd"/><xsd:element name="A" type="xsd:string"/>'
        "</xsd:schema>"
    )
    return {"http://h/a.wsdl": a, "http://h/b.wsdl": b, "http://h/a.xsd": xsd}


# Nested complex types (a derived type, an anonymous type inside an element), a choice,
# enumerations (named and inline), required and optional attributes, a bounded list, optional
# elements: document/literal wrapped, SOAP 1.1, for request templates (soap.new).
TRAVEL_NS = "urn:example:travel"
TRAVEL = f"""<?xml version="1.0"?>
{_DEFS} name="Travel" targetNamespace="{TRAVEL_NS}" xmlns:tns="{TRAVEL_NS}">
  <types>
    <xsd:schema targetNamespace="{TRAVEL_NS}" xmlns:t="{TRAVEL_NS}" elementFormDefault="qualified">
      <xsd:simpleType name="Cabin"><xsd:restriction base="xsd:string">
        <xsd:enumeration value="economy"/><xsd:enumeration value="business"/>
      </xsd:restriction></xsd:simpleType>
      <xsd:complexType name="Person"><xsd:sequence>
        <xsd:element name="name" type="xsd:string"/>
        <xsd:element name="birthDate" type="xsd:date"/>
      </xsd:sequence></xsd:complexType>
      <xsd:complexType name="Traveller"><xsd:complexContent><xsd:extension base="t:Person">
        <xsd:sequence><xsd:element name="loyalty" type="xsd:string" minOccurs="0"/></xsd:sequence>
        <xsd:attribute name="id" type="xsd:int" use="required"/>
        <xsd:attribute name="lang" type="xsd:language"/>
      </xsd:extension></xsd:complexContent></xsd:complexType>
      <xsd:complexType name="Payment"><xsd:choice>
        <xsd:element name="card"><xsd:complexType><xsd:sequence>
          <xsd:element name="number" type="xsd:string"/>
          <xsd:element name="expires" type="xsd:gYearMonth"/>
        </xsd:sequence></xsd:complexType></xsd:element>
        <xsd:element name="invoice" type="xsd:string"/>
      </xsd:choice></xsd:complexType>
      <xsd:element name="Book"><xsd:complexType><xsd:sequence>
        <xsd:element name="flight"><xsd:complexType><xsd:sequence>
          <xsd:element name="number" type="xsd:string"/>
          <xsd:element name="departure" type="xsd:dateTime"/>
          <xsd:element name="cabin" type="t:Cabin"/>
        </xsd:sequence></xsd:complexType></xsd:element>
        <xsd:element name="traveller" type="t:Traveller" maxOccurs="9"/>
        <xsd:element name="payment" type="t:Payment"/>
        <xsd:element name="insured" type="xsd:boolean"/>
        <xsd:element name="seats" type="xsd:positiveInteger"/>
        <xsd:element name="notes" type="xsd:string" minOccurs="0"/>
      </xsd:sequence></xsd:complexType></xsd:element>
      <xsd:element name="BookResponse"><xsd:complexType><xsd:sequence>
        <xsd:element name="bookingId" type="xsd:string"/>
      </xsd:sequence></xsd:complexType></xsd:element>
      <xsd:element name="Cancel"><xsd:complexType><xsd:sequence>
        <xsd:element name="bookingId" type="xsd:string"/>
        <xsd:element name="reason"><xsd:simpleType><xsd:restriction base="xsd:token">
          <xsd:enumeration value="illness"/><xsd:enumeration value="weather"/>
        </xsd:restriction></xsd:simpleType></xsd:element>
      </xsd:sequence></xsd:complexType></xsd:element>
      <xsd:element name="CancelResponse"><xsd:complexType><xsd:sequence>
        <xsd:element name="refunded" type="xsd:decimal"/>
      </xsd:sequence></xsd:complexType></xsd:element>
    </xsd:schema>
  </types>
  <message name="BookIn"><part name="parameters" element="tns:Book"/></message>
  <message name="BookOut"><part name="parameters" element="tns:BookResponse"/></message>
  <message name="CancelIn"><part name="parameters" element="tns:Cancel"/></message>
  <message name="CancelOut"><part name="parameters" element="tns:CancelResponse"/></message>
  <portType name="TravelPortType">
    <operation name="Book"><input message="tns:BookIn"/><output message="tns:BookOut"/></operation>
    <operation name="Cancel"><input message="tns:CancelIn"/>
      <output message="tns:CancelOut"/></operation>
  </portType>
  <binding name="TravelBinding" type="tns:TravelPortType">
    <soap:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>
    <operation name="Book"><soap:operation soapAction="{TRAVEL_NS}/Book"/>
      <input><soap:body use="literal"/></input><output><soap:body use="literal"/></output>
    </operation>
    <operation name="Cancel"><soap:operation soapAction="{TRAVEL_NS}/Cancel"/>
      <input><soap:body use="literal"/></input><output><soap:body use="literal"/></output>
    </operation>
  </binding>
  <service name="TravelService">
    <port name="TravelPort" binding="tns:TravelBinding">
      <soap:address location="http://travel.example/travel"/>
    </port>
  </service>
</definitions>
"""
