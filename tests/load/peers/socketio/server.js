'use strict';
// The Socket.IO peer of herald-bench's two-node latency case: Socket.IO with the Redis adapter,
// as an application would deploy it behind a load balancer. Run two of these on two ports with
// one redis-server: a message published on one reaches the subscribers of both, carried between
// them by @socket.io/redis-adapter over Redis pub/sub.
//   Socket.IO (Engine.IO v4, WebSocket transport only) at /socket.io/:
//     emit("subscribe", "x") joins room "public.x" and is answered
//     emit("subscribed", {"streams":["public.x"]}) (or emit("error", {...}) for a bad name);
//     deliveries are emit("message", {"stream":"public.x","id":"<node>-<n>","data":<data>})
//   POST /api/publish {"stream":"x","data":<any JSON>} -> 200 {"id","stream"}: io.to(room).emit
//   GET /metrics -> "connections <open Engine.IO connections>"; GET /healthz once Redis is up
// Usage: node server.js --port N --redis-url redis://127.0.0.1:6379 [--host 127.0.0.1]
//        [--node-id a] [--ping-interval MS]  (Engine.IO's heartbeat, default 25000 as shipped)
const http = require('http');
const { Server } = require('socket.io');
const { createAdapter } = require('@socket.io/redis-adapter');
const { createClient } = require('redis');

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : fallback;
};
const port = Number(option('--port', '8091'));
const host = option('--host', '127.0.0.1');
const redisUrl = option('--redis-url', 'redis://127.0.0.1:6379');
const nodeId = option('--node-id', 'sio');
const pingInterval = Number(option('--ping-interval', '25000'));

const STREAM = /^[A-Za-z0-9_:-]{1,128}$/;
let nextId = 0;
let ready = false;

function routingKey(name) {
  const bare = typeof name === 'string' && name.startsWith('public.') ? name.slice(7) : name;
  return typeof bare === 'string' && STREAM.test(bare) ? 'public.' + bare : null;
}

function answer(res, status, body) {
  const bytes = Buffer.from(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': bytes.length });
  res.end(bytes);
}

// Socket.IO takes the requests under /socket.io/ and hands every other one to this handler.
const server = http.createServer((req, res) => {
  if (req.method === 'POST' && req.url === '/api/publish') {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      let msg;
      try {
        msg = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch (e) {
        return answer(res, 400, '{"error":{"code":"bad_json","message":"body is not JSON"}}');
      }
      const key = msg && routingKey(msg.stream);
      if (!key || msg.data === undefined)
        return answer(res, 400, '{"error":{"code":"bad_request","message":"stream and data"}}');
      const id = `${nodeId}-${++nextId}`;
      // To this node's members of the room and, through the adapter's Redis channel, to the
      // other node's.
      io.to(key).emit('message', { stream: key, id, data: msg.data });
      answer(res, 200, JSON.stringify({ id, stream: key }));
    });
  } else if (req.method === 'GET' && req.url === '/metrics') {
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.end(`connections ${io.engine.clientsCount}\n`);
  } else if (req.method === 'GET' && req.url === '/healthz') {
    answer(res, ready ? 200 : 503, ready ? '{"status":"ok"}' : '{"status":"starting"}');
  } else {
    answer(res, 404, '{"error":{"code":"not_found","message":"no such resource"}}');
  }
});
server.keepAliveTimeout = 60000;

// WebSocket only: the benchmark's client opens the WebSocket transport straight away, as a
// socket.io-client with transports: ["websocket"] does.
const io = new Server(server, {
  transports: ['websocket'],
  serveClient: false,
  perMessageDeflate: false,
  pingInterval,
  pingTimeout: Math.min(20000, pingInterval),
});
io.on('connection', (socket) => {
  socket.on('subscribe', (streams) => {
    const accepted = [];
    for (const name of Array.isArray(streams) ? streams : [streams]) {
      const key = routingKey(name);
      if (!key) {
        socket.emit('error', { code: 'bad_stream', message: 'bad stream name', stream: String(name) });
        continue;
      }
      socket.join(key);
      accepted.push(key);
    }
    if (accepted.length) socket.emit('subscribed', { streams: accepted });
  });
});

async function main() {
  const pub = createClient({ url: redisUrl });
  const sub = pub.duplicate();
  for (const c of [pub, sub]) c.on('error', (e) => console.error(`redis: ${e.message}`));
  await Promise.all([pub.connect(), sub.connect()]);
  io.adapter(createAdapter(pub, sub));
  server.listen({ port, host, backlog: 1024 }, () => {
    ready = true;
    console.log(`socketio ${nodeId} listening on http://${host}:${server.address().port}, redis ${redisUrl}`);
  });
}

main().catch((e) => {
  console.error(`socketio ${nodeId}: ${e.message}`);
  process.exit(1);
});
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => process.exit(0));
