// RFC 6455 conformance of herald-server's own WebSocket code against an independent client:
// Node's `ws` (pinned in package-lock.json). tst_websocket checks the same rules with frames
// written byte by byte; tst_tls uses Debian's python3-websockets and the browser tests Chromium.
// Here a widely used implementation drives the handshake, fragments, control frames between
// fragments, masking, UTF-8, limits and close codes, and validates every frame the node sends
// (ws refuses masked server frames, reserved bits, bad opcodes, invalid UTF-8 in text and
// invalid close codes by itself: any such 'error' fails the check that saw it).
//
//   HERALD_BIN_DIR=/path/to/build/bin node tests/integration/ws_conformance/ws_conformance.test.mjs
//
// Needs node_modules/ws next to this file (`npm ci` here; packaging/bootstrap.sh test-deps does
// it). A missing prerequisite is a failure, never a skip. Every wait has a deadline; no sleeps.
// The last line is "N passed, M failed".

import { deepStrictEqual } from 'node:assert';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const BIN_DIR = process.env.HERALD_BIN_DIR || '';
const WAIT_MS = 15000;  // deadline of every single wait
const START_MS = 20000; // for the server to print its address
const STOP_MS = 15000;  // for the server to exit after SIGTERM
const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const MAX_MESSAGE = 65536; // the node's --max-message-bytes
const API_TOKEN = randomBytes(16).toString('hex');

const results = [];
let server = null;
let serverLog = '';

function log(line) { process.stdout.write(line + '\n'); }

function check(ok, what) { if (!ok) throw new Error(what); }
// Deep equality; the order of an object's keys does not count (JSON objects have none).
function equal(got, want, what) {
  try {
    deepStrictEqual(got, want);
  } catch (e) {
    throw new Error(`${what}: expected ${JSON.stringify(want)}, got ${JSON.stringify(got)}`);
  }
}

function checkPrerequisites() {
  const problems = [];
  if (!existsSync(join(here, 'node_modules', 'ws', 'package.json')))
    problems.push(`the ws package is not installed: run "npm ci" in ${here} ` +
                  '(packaging/bootstrap.sh test-deps does it; Debian: apt-get install nodejs npm)');
  if (!BIN_DIR)
    problems.push('HERALD_BIN_DIR is not set: run through ctest, or set it to the build tree\'s bin directory');
  else if (!existsSync(join(BIN_DIR, 'herald-server')))
    problems.push(`${join(BIN_DIR, 'herald-server')} not found: build it first (ninja herald-server)`);
  return problems;
}

// ---- server process --------------------------------------------------------------------------

function startServer() {
  return new Promise((resolve, reject) => {
    // A short keepalive, so the node's own pings (and the idle close) happen within the test.
    server = spawn(join(BIN_DIR, 'herald-server'),
                   ['--listen', '127.0.0.1:0', '--api-tokens', API_TOKEN,
                    '--max-message-bytes', String(MAX_MESSAGE),
                    '--keepalive-interval', '250ms', '--idle-timeout', '2s'],
                   { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    const timer = setTimeout(() => reject(new Error(
      `herald-server printed no address within ${START_MS} ms.\nstdout: ${stdout}\nstderr: ${serverLog}`)), START_MS);
    server.stdout.on('data', (chunk) => {
      stdout += chunk;
      const m = /listening on http:\/\/([0-9.]+):(\d+)/.exec(stdout);
      if (m) { clearTimeout(timer); resolve(`${m[1]}:${m[2]}`); }
    });
    server.stderr.on('data', (chunk) => { serverLog += chunk; });
    server.on('error', (e) => { clearTimeout(timer); reject(e); });
    server.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`herald-server exited early (code ${code}, signal ${signal}).\nstderr: ${serverLog}`));
    });
  });
}

function stopServer() {
  if (!server || server.exitCode !== null || server.signalCode !== null) return Promise.resolve(null);
  return new Promise((resolve) => {
    const timer = setTimeout(() => server.kill('SIGKILL'), STOP_MS);
    server.removeAllListeners('exit');
    server.once('exit', (code, signal) => { clearTimeout(timer); resolve({ code, signal }); });
    server.kill('SIGTERM');
  });
}

process.on('exit', () => { if (server && server.exitCode === null) server.kill('SIGKILL'); });
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, async () => {
    log(`# interrupted by ${sig}`);
    await stopServer();
    results.push({ name: 'interrupted', ok: false });
    finish();
    process.exit(1);
  });
}

// ---- a ws client that records what happens ---------------------------------------------------

class Client {
  constructor(WebSocket, url, protocols, options = {}) {
    this.events = []; // in arrival order: {kind: 'message'|'ping'|'pong'|'close', ...}
    this.errors = [];
    this.response = null;   // the 101's IncomingMessage
    this.request = null;    // the upgrade request as ws sent it
    this.unexpected = null; // {status, headers, body} of a refused handshake
    this.waiters = [];
    this.ws = new WebSocket(url, protocols, {
      ...options,
      finishRequest: (req) => { this.request = req; req.end(); },
    });
    const add = (event) => { this.events.push(event); this.wake(); };
    this.ws.on('upgrade', (res) => { this.response = res; });
    this.ws.on('unexpected-response', (req, res) => {
      let body = '';
      res.on('data', (c) => { body += c; });
      res.on('end', () => {
        this.unexpected = { status: res.statusCode, headers: res.headers, body };
        this.wake();
        this.ws.terminate();
      });
    });
    this.ws.on('message', (data, isBinary) => {
      const text = isBinary ? null : data.toString();
      let json = null;
      try { json = text === null ? null : JSON.parse(text); } catch (e) { /* recorded as is */ }
      add({ kind: 'message', isBinary, text, json, size: data.length });
    });
    this.ws.on('ping', (data) => add({ kind: 'ping', data: data.toString() }));
    this.ws.on('pong', (data) => add({ kind: 'pong', data: data.toString() }));
    this.ws.on('close', (code, reason) => add({ kind: 'close', code, reason: reason.toString() }));
    this.ws.on('error', (e) => { this.errors.push(e.message); this.wake(); });
  }

  wake() {
    this.waiters = this.waiters.filter((w) => {
      const value = w.pred(this);
      if (value) { clearTimeout(w.timer); w.resolve(value); }
      return !value;
    });
  }

  // Resolves to the first truthy value of pred(this), checked on every event.
  until(pred, what, ms = WAIT_MS) {
    const value = pred(this);
    if (value) return Promise.resolve(value);
    return new Promise((resolve, reject) => {
      const waiter = { pred, resolve };
      waiter.timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`${what}: not within ${ms} ms; saw ${this.describe()}`));
      }, ms);
      this.waiters.push(waiter);
    });
  }

  describe() {
    const last = this.events.slice(-6).map((e) => e.kind === 'message'
      ? `message ${(e.text || `<binary ${e.size}>`).slice(0, 80)}` : `${e.kind} ${e.code ?? e.data ?? ''}`);
    return `[${last.join(', ')}]` + (this.errors.length ? ` errors: ${this.errors.join('; ')}` : '');
  }

  // The n-th JSON event named `name` (0: the first).
  event(name, n = 0) {
    return this.until((c) => c.events.filter((e) => e.json && e.json.event === name)[n]?.json,
                      `event "${name}" #${n + 1}`);
  }
  closed() { return this.until((c) => c.events.find((e) => e.kind === 'close'), 'the close'); }
  index(pred) { return this.events.findIndex(pred); }
  noErrors() { check(this.errors.length === 0, `ws reported errors: ${this.errors.join('; ')}`); }
}

async function post(base, path, body) {
  const res = await fetch(`http://${base}${path}`, {
    method: 'POST', body: JSON.stringify(body),
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${API_TOKEN}` },
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`POST ${path} answered ${res.status}: ${text}`);
  return JSON.parse(text);
}

const open = [];
async function test(name, fn) {
  const started = Date.now();
  try {
    await fn();
    results.push({ name, ok: true });
    log(`ok - ${name} (${Date.now() - started} ms)`);
  } catch (e) {
    results.push({ name, ok: false });
    log(`FAIL - ${name}: ${e && e.message || e}`);
  } finally {
    for (const c of open.splice(0)) c.ws.terminate();
  }
}

function finish() {
  const passed = results.filter((r) => r.ok).length;
  const failed = results.length - passed;
  log(`${passed} passed, ${failed} failed`);
  process.exitCode = failed || results.length === 0 ? 1 : 0;
}

// ---- the checks ------------------------------------------------------------------------------

async function main() {
  const problems = checkPrerequisites();
  if (problems.length) {
    for (const p of problems) {
      log(`FAIL - prerequisite: ${p}`);
      results.push({ name: 'prerequisite', ok: false });
    }
    return;
  }
  const require = createRequire(import.meta.url);
  const WebSocket = require('ws');
  log(`# ws ${require('ws/package.json').version}, node ${process.version}`);
  const base = await startServer();
  log(`# herald-server at ${base}`);
  const connect = (path, protocols, options) => {
    const c = new Client(WebSocket, `ws://${base}${path}`, protocols, options);
    open.push(c);
    return c;
  };
  // An open /public connection that has read its welcome.
  const welcomed = async (options) => {
    const c = connect('/public', undefined, options);
    await c.event('welcome');
    return c;
  };

  await test('handshake: Sec-WebSocket-Accept, permessage-deflate offered and not taken, welcome', async () => {
    const c = connect('/public'); // ws offers permessage-deflate by default
    const welcome = await c.event('welcome');
    const res = c.response;
    equal(res.statusCode, 101, 'status');
    const key = c.request.getHeader('sec-websocket-key');
    equal(res.headers['sec-websocket-accept'],
          createHash('sha1').update(key + GUID).digest('base64'), 'Sec-WebSocket-Accept');
    equal(res.headers.upgrade.toLowerCase(), 'websocket', 'Upgrade');
    check(/upgrade/i.test(res.headers.connection), `Connection: ${res.headers.connection}`);
    check(/permessage-deflate/.test(c.request.getHeader('sec-websocket-extensions')),
          'ws did not offer permessage-deflate, so this check proves nothing');
    equal(res.headers['sec-websocket-extensions'], undefined, 'the node answered an extension');
    equal(c.ws.extensions, '', 'extensions in use');
    equal(c.ws.protocol, '', 'subprotocol');
    equal(welcome.protocol, 1, 'welcome.protocol');
    // Plain frames both ways: a compressed frame (RSV1) would be closed with 1002.
    c.ws.send(JSON.stringify({ event: 'ping' }));
    await c.event('pong');
    c.noErrors();
  });

  await test('handshake: a subprotocol offered is not selected, so the client gives up', async () => {
    const c = connect('/public', ['herald.v1']);
    await c.until((x) => x.errors.length, 'an error from ws');
    equal(c.response && c.response.statusCode, 101, 'status');
    equal(c.response.headers['sec-websocket-protocol'], undefined, 'Sec-WebSocket-Protocol');
    equal(c.errors[0], 'Server sent no subprotocol', 'the client\'s error');
  });

  await test('handshake: another version is 426 with Sec-WebSocket-Version: 13, an unknown path 404', async () => {
    const old = connect('/public', undefined, { protocolVersion: 8 });
    const refused = await old.until((x) => x.unexpected, 'the refusal');
    equal(refused.status, 426, 'status');
    equal(refused.headers['sec-websocket-version'], '13', 'Sec-WebSocket-Version');
    const nowhere = connect('/nowhere');
    equal((await nowhere.until((x) => x.unexpected, 'the refusal')).status, 404, 'status');
  });

  await test('subscribe, then published messages arrive whole (UTF-8, a 64-bit length)', async () => {
    const c = await welcomed();
    c.ws.send(JSON.stringify({ event: 'subscribe', streams: ['conformance'] }));
    equal((await c.event('subscribed')).streams, ['public.conformance'], 'subscribed');
    const small = { text: 'héllo wörld ✓ 🚀', n: 1 };
    const big = { blob: 'x'.repeat(70000) }; // over 65535 bytes: the 127 length form
    const a = await post(base, '/api/publish', { stream: 'conformance', data: small });
    const b = await post(base, '/api/publish', { stream: 'public.conformance', data: big });
    const first = await c.event('message', 0);
    const second = await c.event('message', 1);
    equal([first.id, first.stream, first.data], [a.id, 'public.conformance', small], 'first');
    equal([second.id, second.data.blob.length], [b.id, 70000], 'second');
    check(c.events.filter((e) => e.kind === 'message').every((e) => !e.isBinary),
          'the node sent a binary frame');
    c.noErrors();
  });

  await test('a fragmented message with a ping and a pong between its fragments', async () => {
    const c = await welcomed();
    // The fragments split the two bytes of "é": UTF-8 is checked on the whole message.
    const text = Buffer.from('{"event":"ping","note":"café"}');
    const cut = text.indexOf(0xc3) + 1;
    c.ws.send(text.subarray(0, 10), { binary: false, fin: false });
    c.ws.ping('between');
    c.ws.send(text.subarray(10, cut), { fin: false });
    c.ws.pong('unsolicited'); // RFC 6455 5.5.3: allowed, and needs no answer
    c.ws.send(text.subarray(cut), { fin: true });
    await c.event('pong');
    const pongFrame = c.index((e) => e.kind === 'pong');
    const pongEvent = c.index((e) => e.json && e.json.event === 'pong');
    check(pongFrame >= 0, `no pong frame for the ping: ${c.describe()}`);
    equal(c.events[pongFrame].data, 'between', 'the pong\'s application data');
    check(pongFrame < pongEvent, 'the ping was answered only after the whole message');
    equal(c.events.filter((e) => e.kind === 'pong').length, 1, 'pong frames (the unsolicited pong is not answered)');
    c.noErrors();
  });

  await test(`a message of exactly ${MAX_MESSAGE} bytes is taken, whole or in fragments`, async () => {
    const c = await welcomed();
    const ping = '{"event":"ping"}';
    const whole = ping + ' '.repeat(MAX_MESSAGE - ping.length); // JSON with trailing blanks
    equal(Buffer.byteLength(whole), MAX_MESSAGE, 'size');
    c.ws.send(whole);
    await c.event('pong', 0);
    c.ws.send(whole.slice(0, 20000), { fin: false });
    c.ws.send(whole.slice(20000, 40000), { fin: false });
    c.ws.send(whole.slice(40000), { fin: true });
    await c.event('pong', 1);
    c.noErrors();
  });

  await test(`a message of ${MAX_MESSAGE + 1} bytes is closed with 1009`, async () => {
    const c = await welcomed();
    c.ws.send('{"event":"ping"}' + ' '.repeat(MAX_MESSAGE + 1 - 16));
    const close = await c.closed();
    equal(close.code, 1009, 'close code');
    equal(c.index((e) => e.json && e.json.event === 'pong'), -1, 'it was answered');
    c.noErrors();
  });

  await test('invalid UTF-8 in a text frame is closed with 1007', async () => {
    const c = await welcomed();
    c.ws.send(Buffer.from([0x7b, 0xc3, 0x28, 0x7d]), { binary: false });
    equal((await c.closed()).code, 1007, 'close code');
    c.noErrors();
  });

  await test('invalid UTF-8 across fragments (a character cut short) is closed with 1007', async () => {
    const c = await welcomed();
    c.ws.send(Buffer.concat([Buffer.from('{"event":"ping","x":"'), Buffer.from([0xe2])]),
              { binary: false, fin: false });
    c.ws.send(Buffer.from([0x82, 0x22, 0x7d]), { fin: true }); // E2 82 then '"': 3rd byte missing
    equal((await c.closed()).code, 1007, 'close code');
    c.noErrors();
  });

  await test('an unmasked client frame is closed with 1002', async () => {
    const c = await welcomed();
    c.ws.send(JSON.stringify({ event: 'ping' }), { mask: false });
    equal((await c.closed()).code, 1002, 'close code');
    equal(c.index((e) => e.json && e.json.event === 'pong'), -1, 'it was answered');
    c.noErrors();
  });

  await test('a binary frame gets a bad_request error and the connection stays open', async () => {
    const c = await welcomed();
    c.ws.send(Buffer.from([1, 2, 3]));
    equal((await c.event('error')).code, 'bad_request', 'error code');
    c.ws.send(JSON.stringify({ event: 'ping' }));
    await c.event('pong');
    equal(c.index((e) => e.kind === 'close'), -1, 'closed');
    c.noErrors();
  });

  await test('closing handshake: code and reason echoed; no code is answered 1000', async () => {
    const c = await welcomed();
    c.ws.close(3000, 'bye ✓');
    const close = await c.closed();
    equal([close.code, close.reason], [3000, 'bye ✓'], 'echo');
    const bare = await welcomed();
    bare.ws.close();
    equal((await bare.closed()).code, 1000, 'close code');
    c.noErrors();
    bare.noErrors();
  });

  await test('the node\'s pings, answered by ws, keep a connection open past idle_timeout', async () => {
    const answering = await welcomed();
    const silent = await welcomed({ autoPong: false }); // the control: must be closed 4008
    const close = await silent.closed();
    equal(close.code, 4008, 'the silent client\'s close code');
    check(silent.events.some((e) => e.kind === 'ping'), 'the silent client got no ping');
    // `answering` connected first and sent nothing but pongs: still open, and it still works.
    const pings = answering.events.filter((e) => e.kind === 'ping').length;
    check(pings >= 2, `only ${pings} pings`);
    await answering.until((x) => x.events.filter((e) => e.kind === 'ping').length > pings,
                          'another ping after the silent one was closed');
    equal(answering.ws.readyState, WebSocket.OPEN, 'readyState');
    answering.ws.send(JSON.stringify({ event: 'ping' }));
    await answering.event('pong');
    equal(answering.index((e) => e.kind === 'close'), -1, 'closed');
    answering.noErrors();
  });

  const stopped = await stopServer();
  check(stopped, 'the server was not running at the end');
  if (stopped.code !== 0) {
    results.push({ name: 'server exit', ok: false });
    log(`FAIL - herald-server exited with ${stopped.code} (signal ${stopped.signal}): ${serverLog.slice(-2000)}`);
  }
}

main().catch((e) => {
  results.push({ name: 'setup', ok: false });
  log(`FAIL - ${e && e.stack || e}`);
}).finally(async () => {
  await stopServer();
  finish();
});
