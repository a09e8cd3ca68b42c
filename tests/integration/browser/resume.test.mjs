// No message lost, in a real browser: the demo page (resources/web/index.html, herald.js) on a
// cluster of two herald-server nodes sharing one real redis-server. The page is connected to
// node A; A is killed with SIGKILL; messages are published through node B while the page is
// reconnecting and after; the page must show every message exactly once, in order, and say it
// resumed with nothing missed.
//
//   HERALD_BIN_DIR=/path/to/build/bin node tests/integration/browser/resume.test.mjs
//
// Needs /usr/bin/chromium, redis-server and node_modules/playwright-core here (install.sh,
// packaging/bootstrap.sh). A missing prerequisite is a failure, never a skip. No fixed sleeps:
// every wait polls with a deadline. The last line is "N passed, M failed".

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const CHROMIUM = process.env.HERALD_CHROMIUM || '/usr/bin/chromium';
const REDIS = process.env.HERALD_REDIS_SERVER || '/usr/bin/redis-server';
const BIN_DIR = process.env.HERALD_BIN_DIR || '';
const WAIT_MS = 20000; // deadline of every wait (a loaded 2-core machine)
const API_TOKEN = 'resume-browser-token';

const children = []; // every process started here; killed on the way out
const cleanups = [];
let browser = null;
const results = [];
const log = (line) => process.stdout.write(line + '\n');

function prerequisites() {
  const problems = [];
  if (!existsSync(CHROMIUM)) problems.push(`${CHROMIUM} not found: run ${here}/install.sh as root`);
  if (!existsSync(REDIS)) problems.push(`${REDIS} not found: apt-get install -y redis-server (packaging/bootstrap.sh)`);
  if (!existsSync(join(here, 'node_modules', 'playwright-core', 'package.json')))
    problems.push(`playwright-core is not installed: run "npm ci" in ${here} (or install.sh)`);
  if (!BIN_DIR || !existsSync(join(BIN_DIR, 'herald-server')))
    problems.push('herald-server not found: set HERALD_BIN_DIR to the build\'s bin directory (ctest does)');
  return problems;
}

// Polls `probe` (async, truthy when done) until the deadline; `what` names it in the error.
async function until(probe, what, ms = WAIT_MS) {
  const deadline = Date.now() + ms;
  let last;
  while (Date.now() < deadline) {
    try { last = await probe(); if (last) return last; } catch (e) { last = e.message; }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what}: not reached within ${ms} ms${last ? ` (last: ${last})` : ''}`);
}

// ---- processes -----------------------------------------------------------------------------

function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => { const { port } = probe.address(); probe.close(() => resolve(port)); });
  });
}

function start(bin, args, name) {
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.output = '';
  child.stdout.on('data', (d) => { child.output += d; });
  child.stderr.on('data', (d) => { child.output += d; });
  child.on('error', (e) => { child.output += `\n${name}: ${e.message}`; });
  child.name = name;
  children.push(child);
  return child;
}

const running = (child) => child.exitCode === null && child.signalCode === null;

// Answers true once a RESP PING on `port` gets +PONG.
function redisPing(port) {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let reply = '';
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (d) => { reply += d; if (reply.includes('\r\n')) { socket.destroy(); resolve(reply.startsWith('+PONG')); } });
    socket.on('error', () => resolve(false));
  });
}

async function startRedis() {
  const dir = mkdtempSync(join(tmpdir(), 'herald-resume-redis-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  // Another process may take the probed port first: a few tries.
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const redis = start(REDIS, ['--port', String(port), '--bind', '127.0.0.1', '--save', '',
                                '--appendonly', 'no', '--dir', dir], 'redis-server');
    try {
      await until(async () => { if (!running(redis)) throw new Error('exited'); return redisPing(port); }, 'redis PING');
      return `redis://127.0.0.1:${port}`;
    } catch (e) {
      redis.kill('SIGKILL');
      if (attempt === 4) throw new Error(`redis-server did not start: ${e.message}\n${redis.output}`);
    }
  }
}

// A herald-server node on a free port; resolves to { child, base, ws } once it is ready.
async function startNode(id, redisUrl) {
  const node = start(join(BIN_DIR, 'herald-server'),
                     ['--listen', '127.0.0.1:0', '--node-id', id, '--redis-url', redisUrl,
                      '--api-tokens', API_TOKEN, '--dev'], `herald-server ${id}`);
  const base = await until(() => {
    if (!running(node)) throw new Error(`exited: ${node.output}`);
    const m = /listening on (http:\/\/[0-9.]+:\d+)/.exec(node.output);
    return m && m[1];
  }, `node ${id} address`);
  await until(async () => (await fetch(base + '/readyz')).status === 200, `node ${id} /readyz`);
  return { child: node, base, ws: base.replace(/^http/, 'ws') + '/public' };
}

// A TCP proxy to `port` that holds every connection, unanswered, until release(): while held,
// a client that reaches it is certainly reconnecting, not connected (no timing involved).
async function holdingProxy(port) {
  const held = [];
  let released = false;
  const pipe = (socket) => {
    const upstream = connect(port, '127.0.0.1');
    socket.pipe(upstream).pipe(socket);
    socket.on('error', () => upstream.destroy());
    upstream.on('error', () => socket.destroy());
  };
  const server = createServer((socket) => { if (released) pipe(socket); else held.push(socket); });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => { held.forEach((s) => s.destroy()); server.close(); });
  return {
    port: server.address().port,
    held: () => held.length,
    release: () => { released = true; held.splice(0).forEach(pipe); },
  };
}

async function publish(node, n) {
  const res = await fetch(node.base + '/api/publish', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${API_TOKEN}` },
    body: JSON.stringify({ stream: 'promotional', data: { n } }),
  });
  if (res.status !== 200) throw new Error(`publish ${n} via ${node.base}: ${res.status} ${await res.text()}`);
}

// ---- what the page shows -------------------------------------------------------------------

// The page's message log, oldest first: [{n, id}] of public.promotional messages.
const shown = (page) => page.evaluate(() => Array.from(document.querySelectorAll('#log li.message'))
  .filter((li) => li.querySelector('.stream').textContent === 'public.promotional')
  .map((li) => ({ n: JSON.parse(li.querySelector('code').textContent).n, id: li.dataset.id }))
  .reverse());

const text = (page, selector) => page.evaluate((s) => {
  const el = document.querySelector(s);
  return el ? el.textContent.replace(/\s+/g, ' ').trim() : '';
}, selector);

async function waitShown(page, count, what) {
  await until(async () => (await shown(page)).length >= count, `${what}: ${count} messages shown`);
  return shown(page);
}

const range = (from, to) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

// ---- the test ------------------------------------------------------------------------------

async function acceptance() {
  const redisUrl = await startRedis();
  const a = await startNode('n1', redisUrl);
  const b = await startNode('n2', redisUrl);
  const proxy = await holdingProxy(Number(new URL(b.base).port));
  log(`# redis ${redisUrl}, node A ${a.base}, node B ${b.base} (behind 127.0.0.1:${proxy.port})`);

  const { chromium } = await import('playwright-core');
  browser = await chromium.launch({
    executablePath: CHROMIUM, headless: true, timeout: 60000,
    handleSIGINT: false, handleSIGTERM: false, handleSIGHUP: false,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = await browser.newPage();
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));

  // The page comes from B; herald.js connects to the first URL (A), then rotates on reconnect.
  const urls = [a.ws, `ws://127.0.0.1:${proxy.port}/public`].join(',');
  await page.goto(`${b.base}/?urls=${encodeURIComponent(urls)}`, { timeout: WAIT_MS });
  await until(async () => await text(page, '#state-detail') === 'node n1', 'page live on node A');
  await until(async () => (await text(page, '#subscriptions')).includes('public.promotional'), 'subscribed');

  for (const n of range(1, 5)) await publish(a, n);
  await waitShown(page, 5, 'while connected to A');

  a.child.kill('SIGKILL');
  await until(async () => await text(page, '#state-text') === 'Reconnecting…', 'page reconnecting');
  // The page is now at B's door, held: these reach B while the page is certainly not connected.
  await until(() => proxy.held() > 0, 'page trying node B');
  for (const n of range(6, 10)) await publish(b, n);
  proxy.release();

  await until(async () => await text(page, '#state-detail') === 'node n2', 'page live on node B');
  const resumed = await until(() => page.evaluate(() => {
    const li = document.querySelector('#log li.resumed, #log li.error');
    return li && { cls: li.className, text: li.textContent };
  }), 'the resume line');
  if (resumed.cls !== 'resumed' || !resumed.text.includes('public.promotional') ||
      !resumed.text.includes('resumed: 5 missed messages replayed'))
    throw new Error(`the page says ${JSON.stringify(resumed)}, expected "resumed: 5 missed messages replayed"`);

  for (const n of range(11, 15)) await publish(b, n);
  await until(async () => (await shown(page)).some((m) => m.n === 15), 'message 15 shown');
  const all = await shown(page);
  const numbers = all.map((m) => m.n);
  if (JSON.stringify(numbers) !== JSON.stringify(range(1, 15)))
    throw new Error(`the page shows ${JSON.stringify(numbers)}, expected 1..15 exactly once, in order`);
  if (!all.every((m) => /^\d+-\d+$/.test(m.id))) throw new Error(`ids not from history: ${JSON.stringify(all)}`);
  const lines = await page.evaluate(() => document.querySelectorAll('#log li.resumed, #log li.error').length);
  if (lines !== 1) throw new Error(`${lines} resume lines in the log, expected 1`);
  if (pageErrors.length) throw new Error('page errors: ' + pageErrors.join('; '));
}

async function test(name, fn) {
  const started = Date.now();
  try {
    await fn();
    results.push(true);
    log(`ok - ${name} (${Date.now() - started} ms)`);
  } catch (e) {
    results.push(false);
    log(`FAIL - ${name}: ${e && e.stack || e}`);
    for (const c of children) if (c.output) log(`# ${c.name}:\n` + c.output.trim().replace(/^/gm, '#   '));
  }
}

async function shutdown() {
  await browser?.close().catch(() => {});
  for (const c of children) if (running(c)) c.kill('SIGKILL');
  for (const fn of cleanups) { try { fn(); } catch (e) { /* best effort */ } }
}

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, async () => { log(`# interrupted by ${sig}`); await shutdown(); log('0 passed, 1 failed'); process.exit(1); });
}
process.on('exit', () => { for (const c of children) if (running(c)) c.kill('SIGKILL'); });

const problems = prerequisites();
if (problems.length) {
  problems.forEach((p) => { log(`FAIL - prerequisite: ${p}`); results.push(false); });
} else {
  await test('page on node A, A killed, messages via B while reconnecting and after: each shown once, in order, recovered',
             acceptance);
}
await shutdown();
const passed = results.filter(Boolean).length;
log(`${passed} passed, ${results.length - passed} failed`);
process.exitCode = results.length && passed === results.length ? 0 : 1;
