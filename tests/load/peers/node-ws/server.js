'use strict';
// The Node.js `ws` peer of herald-bench: the small part of Herald's surface the benchmark uses
// (docs/protocol.md), so the same client measures both.
//   WebSocket /public: {"event":"welcome",...} on open; {"event":"subscribe","streams":["x"]}
//     answered {"event":"subscribed","streams":["public.x"]}; deliveries are
//     {"event":"message","stream":"public.x","id":"<n>","data":<data>}
//   POST /api/publish {"stream":"x","data":<any JSON>} -> 200 {"id","stream"}
//   GET /metrics -> "connections <open WebSockets>"
// Usage: node server.js --port N [--host 127.0.0.1] [--cork]
// --cork corks every recipient's socket on its first frame in an event-loop pass and uncorks
// them all once the pass is over (setImmediate), so a burst of publishes read together leaves
// in one write per recipient instead of one write per frame.
const http = require('http');
const { WebSocketServer } = require('ws');

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : fallback;
};
const port = Number(option('--port', '8090'));
const host = option('--host', '127.0.0.1');
const cork = args.includes('--cork');

const STREAM = /^[A-Za-z0-9_:-]{1,128}$/;
const TEXT = { binary: false };
const subscribers = new Map(); // routing key -> Set of WebSockets
let connections = 0;
let nextId = 0;

const corked = [];
let flushPending = false;
function uncorkAll() {
  flushPending = false;
  for (const socket of corked) socket.uncork();
  corked.length = 0;
}
function corkOnce(ws) {
  const socket = ws._socket; // ws exposes no public accessor for its net.Socket
  if (!socket || socket.writableCorked > 0) return;
  socket.cork();
  corked.push(socket);
  if (!flushPending) {
    flushPending = true;
    setImmediate(uncorkAll);
  }
}

function routingKey(name) {
  const bare = typeof name === 'string' && name.startsWith('public.') ? name.slice(7) : name;
  return typeof bare === 'string' && STREAM.test(bare) ? 'public.' + bare : null;
}

function deliver(key, data) {
  const set = subscribers.get(key);
  const id = String(++nextId);
  if (!set) return id;
  // Encoded once; every recipient gets the same bytes.
  const frame = Buffer.from(`{"event":"message","stream":"${key}","id":"${id}","data":${data}}`);
  for (const ws of set) {
    if (cork) corkOnce(ws);
    ws.send(frame, TEXT);
  }
  return id;
}

function answer(res, status, body) {
  const bytes = Buffer.from(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': bytes.length });
  res.end(bytes);
}

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
      const id = deliver(key, JSON.stringify(msg.data));
      answer(res, 200, JSON.stringify({ id, stream: key }));
    });
  } else if (req.method === 'GET' && req.url === '/metrics') {
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.end(`connections ${connections}\n`);
  } else if (req.method === 'GET' && req.url === '/healthz') {
    answer(res, 200, '{"status":"ok"}');
  } else {
    answer(res, 404, '{"error":{"code":"not_found","message":"no such resource"}}');
  }
});
server.keepAliveTimeout = 60000;

const wss = new WebSocketServer({ server, path: '/public', perMessageDeflate: false, clientTracking: false });
wss.on('connection', (ws) => {
  ++connections;
  const mine = new Set();
  ws.send(JSON.stringify({ event: 'welcome', node: 'node-ws', session: String(connections), user: null, protocol: 1 }));
  ws.on('message', (raw, isBinary) => {
    let msg;
    try {
      msg = isBinary ? null : JSON.parse(raw.toString('utf8'));
    } catch (e) {
      msg = null;
    }
    if (!msg || typeof msg.event !== 'string') {
      ws.send('{"event":"error","code":"bad_json","message":"not a JSON request"}');
    } else if (msg.event === 'subscribe' && Array.isArray(msg.streams)) {
      const accepted = [];
      for (const name of msg.streams) {
        const key = routingKey(name);
        if (!key) {
          ws.send(JSON.stringify({ event: 'error', code: 'bad_stream', message: 'bad stream name', stream: String(name) }));
          continue;
        }
        if (!subscribers.has(key)) subscribers.set(key, new Set());
        subscribers.get(key).add(ws);
        mine.add(key);
        accepted.push(key);
      }
      if (accepted.length) ws.send(JSON.stringify({ event: 'subscribed', streams: accepted }));
    } else if (msg.event === 'ping') {
      ws.send('{"event":"pong"}');
    } else {
      ws.send('{"event":"error","code":"unknown_event","message":"unknown event"}');
    }
  });
  ws.on('close', () => {
    --connections;
    for (const key of mine) {
      const set = subscribers.get(key);
      if (set && set.delete(ws) && set.size === 0) subscribers.delete(key);
    }
  });
  ws.on('error', () => {});
});

server.listen({ port, host, backlog: 1024 }, () => {
  console.log(`node-ws listening on http://${host}:${server.address().port}${cork ? ' (corked)' : ''}`);
});
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => process.exit(0));
