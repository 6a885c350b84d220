// A SOAP stack not written in Python, for the integration tests: node-soap (npm `soap`) as a
// TLS server of a WSDL, or as a client that reads a WSDL by URL and calls one operation.
//
// Usage:
//   node soap_peer.js server WSDL_FILE CERT KEY      prints "listening <port>" once ready
//   node soap_peer.js client WSDL_URL ENDPOINT SYMBOL...   prints one JSON line per call
'use strict';

const fs = require('fs');
const https = require('https');
const soap = require('soap');

function server(wsdlFile, cert, key) {
  const wsdl = fs.readFileSync(wsdlFile, 'utf8');
  const service = {
    StockQuoteService: {
      StockQuotePort: {
        GetLastTradePrice(args) {
          if (args.tickerSymbol === 'FAIL') {
            throw {
              Fault: { faultcode: 'soap:Client', faultstring: 'Unknown symbol FAIL' },
              statusCode: 500,
            };
          }
          return { price: 42.5 };
        },
      },
    },
  };
  const httpsServer = https.createServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key) },
    (request, response) => { response.statusCode = 404; response.end(); });
  httpsServer.listen(0, '127.0.0.1', () => {
    soap.listen(httpsServer, '/stock', service, wsdl);
    console.log(`listening ${httpsServer.address().port}`);
  });
}

async function client(wsdlUrl, endpoint, symbols) {
  const stock = await soap.createClientAsync(wsdlUrl, { endpoint });
  for (const symbol of symbols) {
    try {
      const [result] = await stock.GetLastTradePriceAsync({ tickerSymbol: symbol });
      console.log(JSON.stringify({ symbol, result }));
    } catch (error) {
      const fault = error.root && error.root.Envelope && error.root.Envelope.Body.Fault;
      console.log(JSON.stringify({ symbol, fault: fault ? fault.faultstring : String(error) }));
    }
  }
}

const [mode, ...args] = process.argv.slice(2);
if (mode === 'server') {
  server(...args);
} else if (mode === 'client') {
  client(args[0], args[1], args.slice(2)).catch((error) => {
    console.error(`client failed: ${error}`);
    process.exit(1);
  });
} else {
  console.error('usage: soap_peer.js server|client ...');
  process.exit(2);
}
