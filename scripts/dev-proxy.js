#!/usr/bin/env node
'use strict';
/**
 * A small round-robin proxy in front of several scancode instances, for development (npm run dev:env,
 * compose.yaml): each HTTP request and each WebSocket goes to the next instance in turn, so that two
 * phones on one address land on different instances and the Redis bus carries their changes across.
 * Not for production: no health checks, no retries.
 *
 *   node scripts/dev-proxy.js <port> <http://instance-1> <http://instance-2> ...
 *
 * Port 0 takes one from the OS; the first line printed says which.
 */
const { createServer, request: httpRequest } = require('node:http');
const { connect } = require('node:net');

/** Starts the proxy; resolves with its server once it listens. */
function startProxy(port, targets, host = '127.0.0.1') {
  const upstreams = targets.map((target) => new URL(target));
  // Every client connection, upgraded ones included, so that closing the proxy ends them all.
  const open = new Set();
  const track = (socket) => {
    open.add(socket);
    socket.on('close', () => open.delete(socket));
  };
  let turn = 0;
  const next = () => upstreams[turn++ % upstreams.length];

  const server = createServer((request, response) => {
    const upstream = next();
    const forwarded = httpRequest({ host: upstream.hostname, port: upstream.port, method: request.method, path: request.url, headers: request.headers }, (answer) => {
      response.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(response);
    });
    forwarded.on('error', () => {
      if (!response.headersSent) response.writeHead(502, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ error: { code: 'unavailable', message: `dev proxy: ${upstream.host} did not answer` } }));
    });
    request.pipe(forwarded);
  });

  server.on('connection', track);
  server.stop = () =>
    new Promise((resolve) => {
      server.close(() => resolve());
      for (const socket of open) socket.destroy();
    });

  // A WebSocket: the upgrade request is written to the instance as it came, then bytes flow both ways.
  server.on('upgrade', (request, socket, head) => {
    const upstream = next();
    const target = connect(Number(upstream.port), upstream.hostname, () => {
      track(target);
      const lines = [`${request.method} ${request.url} HTTP/${request.httpVersion}`];
      for (let i = 0; i < request.rawHeaders.length; i += 2) lines.push(`${request.rawHeaders[i]}: ${request.rawHeaders[i + 1]}`);
      target.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (head.length > 0) target.write(head);
      target.pipe(socket);
      socket.pipe(target);
    });
    const end = () => {
      socket.destroy();
      target.destroy();
    };
    target.on('error', end);
    socket.on('error', end);
  });

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

module.exports = { startProxy };

if (require.main === module) {
  const [port, ...targets] = process.argv.slice(2);
  if (port === undefined || targets.length === 0) {
    process.stderr.write('usage: node scripts/dev-proxy.js <port> <http://instance> [<http://instance> ...]\n');
    process.exit(2);
  }
  startProxy(Number(port), targets, process.env.HOST || '127.0.0.1').then(
    (server) => {
      process.stdout.write(`dev proxy listening at http://${server.address().address}:${server.address().port} -> ${targets.join(', ')}\n`);
      const stop = () => server.stop().then(() => process.exit(0));
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    },
    (error) => {
      process.stderr.write(`dev proxy: cannot listen on ${port} (${error.code ?? error.message})\n`);
      process.exit(1);
    },
  );
}
