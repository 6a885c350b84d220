// A SOAP client not written in Python, for the integration tests: node-soap with WS-Security
// (UsernameToken with a password digest, a nonce and a Timestamp, fresh for every call).
//
// Usage: node soap_client.js WSDL_URL ENDPOINT USER PASSWORD '[["GetQuote", {"symbol": "ACME"}], ...]'
// Prints one JSON line: for each call {"result": ...} or {"fault": faultstring, "status": HTTP status}.
"use strict";

const soap = require("soap");

async function main() {
  const [wsdl, endpoint, user, password, callsJson] = process.argv.slice(2);
  const client = await soap.createClientAsync(wsdl, { endpoint });
  client.setSecurity(
    new soap.WSSecurity(user, password, {
      passwordType: "PasswordDigest",
      hasTimeStamp: true,
      hasNonce: true,
    })
  );
  const port = client.Quotes.Quotes11; // the SOAP 1.1 binding of the quotes WSDL
  const results = [];
  for (const [operation, args] of JSON.parse(callsJson)) {
    const answer = await new Promise((resolve) => {
      port[operation](args, (error, result) => {
        if (!error) {
          resolve({ result });
          return;
        }
        const fault = error.root && error.root.Envelope && error.root.Envelope.Body.Fault;
        resolve({
          fault: fault ? fault.faultstring : String(error.message),
          status: error.response ? error.response.status : null,
        });
      });
    });
    results.push(answer);
  }
  process.stdout.write(JSON.stringify(results) + "\n");
}

main().catch((error) => {
  process.stderr.write(`soap_client.js: ${error.stack || error}\n`);
  process.exit(1);
});
