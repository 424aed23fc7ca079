/**
 * The baseline for /ws: a bare `ws` server on PORT that sends every frame back as it came. No auth, no
 * JSON parsing, no database: what a WebSocket round trip and an idle socket cost in Node by themselves.
 */
import { WebSocketServer } from 'ws';

const server = new WebSocketServer({ host: '127.0.0.1', port: Number(process.env.PORT), perMessageDeflate: false });
server.on('connection', (socket) => {
  socket.on('error', () => undefined);
  socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
});
