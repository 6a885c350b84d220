// A SOAP service whose WS-Security checks are Apache WSS4J's (Debian's libwss4j-java 1.6), for
// the replay tests: UsernameToken PasswordDigest, Timestamp expiry, nonce and timestamp replay
// caches; with a trusted certificate, an XML signature over the Body is required.
//
// Usage: java -cp wss4j.jar:xmlsec.jar:commons-logging.jar:. WssService USER PASSWORD [CERT.pem]
// Listens on 127.0.0.1, a free port, printed as "listening PORT"; one line per request on stdout:
// "accepted SYMBOL" or "refused REASON". Answers GetQuote with a price, or a SOAP fault.

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.ByteArrayInputStream;
import java.io.FileInputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.List;
import javax.security.auth.callback.Callback;
import javax.security.auth.callback.CallbackHandler;
import javax.xml.parsers.DocumentBuilder;
import javax.xml.parsers.DocumentBuilderFactory;
import org.apache.ws.security.WSConstants;
import org.apache.ws.security.WSDataRef;
import org.apache.ws.security.WSPasswordCallback;
import org.apache.ws.security.WSSConfig;
import org.apache.ws.security.WSSecurityEngine;
import org.apache.ws.security.WSSecurityEngineResult;
import org.apache.ws.security.cache.MemoryReplayCache;
import org.apache.ws.security.components.crypto.Merlin;
import org.apache.ws.security.handler.RequestData;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

public class WssService {
    static final String SOAP = "http://schemas.xmlsoap.org/soap/envelope/";

    private final String user;
    private final String password;
    private final Merlin crypto;
    private final WSSecurityEngine engine = new WSSecurityEngine();
    private final MemoryReplayCache nonces = new MemoryReplayCache();
    private final MemoryReplayCache timestamps = new MemoryReplayCache();

    WssService(String user, String password, Merlin crypto) {
        this.user = user;
        this.password = password;
        this.crypto = crypto;
    }

    static Merlin trusting(String certFile) throws Exception {
        KeyStore store = KeyStore.getInstance("JKS");
        store.load(null, null);
        try (InputStream in = new FileInputStream(certFile)) {
            X509Certificate cert =
                    (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
            store.setCertificateEntry("signer", cert);
        }
        Merlin crypto = new Merlin();
        crypto.setKeyStore(store);
        crypto.setTrustStore(store);
        return crypto;
    }

    synchronized String check(Document document) throws Exception {
        NodeList found = document.getElementsByTagNameNS(WSConstants.WSSE_NS, "Security");
        if (found.getLength() == 0) {
            throw new IllegalArgumentException("no wsse:Security header");
        }
        RequestData data = new RequestData();
        WSSConfig config = WSSConfig.getNewInstance();
        data.setWssConfig(config);
        data.setNonceReplayCache(nonces);
        data.setTimestampReplayCache(timestamps);
        data.setSigCrypto(crypto);
        data.setCallbackHandler(new CallbackHandler() {
            public void handle(Callback[] callbacks) {
                for (Callback callback : callbacks) {
                    WSPasswordCallback pc = (WSPasswordCallback) callback;
                    if (pc.getIdentifier().equals(user)) {
                        pc.setPassword(password);
                    }
                }
            }
        });
        List<WSSecurityEngineResult> results =
                engine.processSecurityHeader((Element) found.item(0), data);
        boolean token = false, stamp = false, bodySigned = false;
        for (WSSecurityEngineResult result : results) {
            int action = (Integer) result.get(WSSecurityEngineResult.TAG_ACTION);
            token |= action == WSConstants.UT;
            stamp |= action == WSConstants.TS;
            if (action == WSConstants.SIGN) {
                @SuppressWarnings("unchecked")
                List<WSDataRef> refs =
                        (List<WSDataRef>) result.get(WSSecurityEngineResult.TAG_DATA_REF_URIS);
                for (WSDataRef ref : refs) {
                    bodySigned |= ref.getName() != null && "Body".equals(ref.getName().getLocalPart());
                }
            }
        }
        if (!token || !stamp) {
            throw new IllegalArgumentException("a UsernameToken and a Timestamp are required");
        }
        if (crypto != null && !bodySigned) {
            throw new IllegalArgumentException("the Body must be signed");
        }
        NodeList symbols = document.getElementsByTagNameNS("urn:example:quotes", "symbol");
        return symbols.getLength() > 0 ? symbols.item(0).getTextContent() : "?";
    }

    void handle(HttpExchange exchange) throws java.io.IOException {
        byte[] body = exchange.getRequestBody().readAllBytes();
        int status = 200;
        String answer;
        try {
            DocumentBuilderFactory factory = DocumentBuilderFactory.newInstance();
            factory.setNamespaceAware(true);
            factory.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
            DocumentBuilder builder = factory.newDocumentBuilder();
            Document document = builder.parse(new ByteArrayInputStream(body));
            String symbol = check(document);
            System.out.println("accepted " + symbol);
            answer = "<q:GetQuoteResponse xmlns:q=\"urn:example:quotes\"><q:price>42.5</q:price>"
                    + "</q:GetQuoteResponse>";
        } catch (Throwable e) {  // a missing class too: said in the answer, not a dropped connection
            String reason = String.valueOf(e.getMessage()).replace('\n', ' ');
            System.out.println("refused " + reason);
            status = 500;
            answer = "<soap:Fault><faultcode>soap:Client</faultcode><faultstring>"
                    + reason.replace("&", "&amp;").replace("<", "&lt;")
                    + "</faultstring></soap:Fault>";
        }
        System.out.flush();
        byte[] out = ("<soap:Envelope xmlns:soap=\"" + SOAP + "\"><soap:Body>" + answer
                + "</soap:Body></soap:Envelope>").getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "text/xml; charset=utf-8");
        exchange.sendResponseHeaders(status, out.length);
        try (OutputStream stream = exchange.getResponseBody()) {
            stream.write(out);
        }
    }

    public static void main(String[] args) throws Exception {
        Merlin crypto = args.length > 2 ? trusting(args[2]) : null;
        WssService service = new WssService(args[0], args[1], crypto);
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", service::handle);
        server.start();
        System.out.println("listening " + server.getAddress().getPort());
        System.out.flush();
    }
}
