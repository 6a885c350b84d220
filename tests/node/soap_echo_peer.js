// A node-soap (npm `soap`) server of any WSDL, for the integration tests of soap.new: every
// operation of every port answers with the result given for it on the command line, and logs
// the arguments node-soap read from the request (as JSON), so that a test sees what it parsed.
//
// Usage: node soap_echo_peer.js WSDL_FILE PATH '{"Book": {"bookingId": "B-1"}, ...}'
//        prints "listening <port>" once ready (plain HTTP on 127.0.0.1), then "call OP ARGS" lines
'use strict';

const fs = require('fs');
const http = require('http');
const soap = require('soap');

const [wsdlFile, path, resultsJson] = process.argv.slice(2);
const results = JSON.parse(resultsJson);

// node-soap looks handlers up as services[service][port][operation]: answer for any name.
const anyName = (make) => new Proxy({}, { get: (target, name) => make(name) });
const services = anyName(() => anyName(() => anyName((operation) => (args) => {
  console.log(`call ${operation} ${JSON.stringify(args)}`);
  return results[operation] || {};
})));

const server = http.createServer((request, response) => {
  response.statusCode = 404;
  response.end();
});
server.listen(0, '127.0.0.1', () => {
  soap.listen(server, path, services, fs.readFileSync(wsdlFile, 'utf8'));
  console.log(`listening ${server.address().port}`);
});
