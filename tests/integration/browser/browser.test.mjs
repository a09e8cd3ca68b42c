// End-to-end test of the demo page (resources/web/index.html) and herald.js in real headless
// Chromium, against a real herald-server process.
//
//   HERALD_BIN_DIR=/path/to/build/bin node tests/integration/browser/browser.test.mjs
//
// Needs /usr/bin/chromium and node_modules/playwright-core next to this file: run install.sh
// here (as root). A missing prerequisite is a failure, never a silent skip. Every wait polls
// with a deadline; there are no fixed sleeps. The last line is "N passed, M failed".

import { execFileSync, spawn } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const CHROMIUM = process.env.HERALD_CHROMIUM || '/usr/bin/chromium';
const BIN_DIR = process.env.HERALD_BIN_DIR || '';
const OUT_DIR = process.env.HERALD_TEST_OUTPUT_DIR || process.cwd();
const WAIT_MS = 15000;       // deadline of every single wait in the page
const START_MS = 20000;      // deadline for the server to print its address
const STOP_MS = 15000;       // deadline for the server to exit after SIGTERM

// A fresh HS256 secret per run, so the test can mint user tokens for /private.
const JWT_SECRET = randomBytes(24).toString('hex');

const results = [];
let server = null;
let browser = null;
let serverLog = '';

function log(line) { process.stdout.write(line + '\n'); }

function finish() {
  const passed = results.filter((r) => r.ok).length;
  const failed = results.length - passed;
  log(`${passed} passed, ${failed} failed`);
  process.exitCode = failed || results.length === 0 ? 1 : 0;
}

// ---- prerequisites ---------------------------------------------------------------------------

function checkPrerequisites() {
  const problems = [];
  if (!existsSync(CHROMIUM))
    problems.push(`${CHROMIUM} not found: install Chromium with ` +
                  `"apt-get install -y --no-install-recommends chromium" (or run ${here}/install.sh as root)`);
  if (!existsSync(join(here, 'node_modules', 'playwright-core', 'package.json')))
    problems.push(`playwright-core is not installed: run "npm ci" in ${here} (or ${here}/install.sh as root)`);
  if (!BIN_DIR)
    problems.push('HERALD_BIN_DIR is not set: run through ctest, or set it to the build tree\'s bin directory');
  else if (!existsSync(join(BIN_DIR, 'herald-server')))
    problems.push(`${join(BIN_DIR, 'herald-server')} not found: build it first (ninja herald-server)`);
  return problems;
}

// ---- server process --------------------------------------------------------------------------

// Starts herald-server on `listen` (port 0: any free port) and resolves to its base URL.
function startServer(listen = '127.0.0.1:0') {
  return new Promise((resolve, reject) => {
    const bin = join(BIN_DIR, 'herald-server');
    server = spawn(bin, ['--listen', listen, '--dev', '--jwt-secret', JWT_SECRET],
                   { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    const timer = setTimeout(() => reject(new Error(
      `herald-server printed no address within ${START_MS} ms.\nstdout: ${stdout}\nstderr: ${serverLog}`)), START_MS);
    server.stdout.on('data', (chunk) => {
      stdout += chunk;
      const m = /listening on http:\/\/([0-9.]+):(\d+)/.exec(stdout);
      if (m) { clearTimeout(timer); resolve(`http://${m[1]}:${m[2]}`); }
    });
    server.stderr.on('data', (chunk) => { serverLog += chunk; });
    server.on('error', (e) => { clearTimeout(timer); reject(e); });
    server.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`herald-server exited early (code ${code}, signal ${signal}).\nstderr: ${serverLog}`));
    });
  });
}

// An HS256 JWT for user `sub`, valid for ten minutes.
function mintToken(sub) {
  const b64 = (obj) => Buffer.from(JSON.stringify(obj)).toString('base64url');
  const body = b64({ alg: 'HS256', typ: 'JWT' }) + '.' +
               b64({ sub, iat: Math.floor(Date.now() / 1000), exp: Math.floor(Date.now() / 1000) + 600 });
  return body + '.' + createHmac('sha256', JWT_SECRET).update(body).digest('base64url');
}

// Another node for one test, with its own arguments; resolves to { child, base }.
function spawnNode(extraArgs) {
  return new Promise((resolve, reject) => {
    const child = spawn(join(BIN_DIR, 'herald-server'),
                        ['--listen', '127.0.0.1:0', '--jwt-secret', JWT_SECRET, ...extraArgs],
                        { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error('second node printed no address')); }, START_MS);
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      const m = /listening on (https?):\/\/([0-9.]+):(\d+)/.exec(stdout);
      if (m) { clearTimeout(timer); resolve({ child, base: `${m[1]}://${m[2]}:${m[3]}` }); }
    });
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
  });
}

function stopServer() {
  if (!server || server.exitCode !== null || server.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      log(`# herald-server still running ${STOP_MS} ms after SIGTERM: killing it`);
      server.kill('SIGKILL');
    }, STOP_MS);
    server.once('exit', (code, signal) => {
      clearTimeout(timer);
      log(`# herald-server stopped (exit code ${code}${signal ? ', signal ' + signal : ''})`);
      resolve({ code, signal });
    });
    server.kill('SIGTERM');
  });
}

// If this script itself is interrupted (ctest timeout, Ctrl-C): stop running tests, close the
// browser (bounded) and the server, report, exit. The exit hook is the last resort for the server;
// Playwright kills the browser processes it started on exit by itself.
let interrupted = false;
process.on('exit', () => { if (server && server.exitCode === null) server.kill('SIGKILL'); });
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, async () => {
    if (interrupted) return;
    interrupted = true;
    log(`# interrupted by ${sig}: cleaning up`);
    const closing = browser ? browser.close().catch(() => {}) : null;
    await Promise.race([closing, new Promise((r) => setTimeout(r, 5000))]);
    await stopServer();
    results.push({ name: 'interrupted', ok: false });
    finish();
    process.exit(1);
  });
}

// ---- helpers ---------------------------------------------------------------------------------

async function post(base, path, body) {
  const res = await fetch(base + path, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`POST ${path} answered ${res.status}: ${text}`);
  return JSON.parse(text);
}

// Polls until `fn` (run in the page with `arg`) returns a truthy value.
async function waitInPage(page, fn, arg, what) {
  try {
    return await page.waitForFunction(fn, arg, { timeout: WAIT_MS, polling: 100 });
  } catch (e) {
    throw new Error(`${what}: not reached within ${WAIT_MS} ms`);
  }
}

// Polls until the element's trimmed text satisfies `want` (a string: equality; a RegExp: match).
async function waitForText(page, selector, want, what) {
  const pattern = want instanceof RegExp ? { source: want.source, flags: want.flags } : null;
  try {
    await page.waitForFunction(({ selector, text, pattern }) => {
      const el = document.querySelector(selector);
      if (!el) return false;
      const got = el.textContent.replace(/\s+/g, ' ').trim();
      return pattern ? new RegExp(pattern.source, pattern.flags).test(got) : got === text;
    }, { selector, text: pattern ? null : want, pattern }, { timeout: WAIT_MS, polling: 100 });
  } catch (e) {
    const got = await page.locator(selector).first().textContent({ timeout: 1000 }).catch(() => '(missing)');
    throw new Error(`${what}: expected ${want} in ${selector} within ${WAIT_MS} ms, ` +
                    `last saw ${JSON.stringify((got || '').replace(/\s+/g, ' ').trim())}`);
  }
}

async function test(name, fn, cleanup) {
  if (interrupted) return;
  const started = Date.now();
  try {
    await fn();
    results.push({ name, ok: true });
    log(`ok - ${name} (${Date.now() - started} ms)`);
  } catch (e) {
    if (interrupted) return;
    results.push({ name, ok: false });
    log(`FAIL - ${name}: ${e && e.message || e}`);
  } finally {
    if (cleanup && !interrupted) await cleanup().catch((e) => log(`# cleanup of "${name}" failed: ${e.message}`));
  }
}

// ---- the tests -------------------------------------------------------------------------------

async function main() {
  const problems = checkPrerequisites();
  if (problems.length) {
    for (const p of problems) {
      log(`FAIL - prerequisite: ${p}`);
      results.push({ name: 'prerequisite', ok: false });
    }
    return;
  }
  const { chromium } = await import('playwright-core');
  const base = await startServer();
  log(`# herald-server at ${base}`);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    timeout: 60000,
    handleSIGINT: false, handleSIGTERM: false, handleSIGHUP: false, // our handler cleans up
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  log(`# chromium ${browser.version()}`);

  // Anything the page logs as an error, or throws, fails the last test.
  const pageErrors = [];
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const watch = (page, label) => {
    page.on('pageerror', (e) => pageErrors.push(`${label}: ${e.message}`));
    page.on('console', (m) => { if (m.type() === 'error') pageErrors.push(`${label}: console: ${m.text()}`); });
    page.on('response', (r) => { if (r.status() >= 400) pageErrors.push(`${label}: ${r.status()} for ${r.url()}`); });
    page.on('requestfailed', (r) => pageErrors.push(`${label}: request failed: ${r.url()}`));
  };
  const page = await context.newPage();
  watch(page, 'page 1');
  // Tests that make their own Herald.Client in the page keep it in window.t; this closes it.
  const closeTestClient = () => page.evaluate(() => window.t && window.t.client && window.t.client.close());

  await test('page loads, connects and the online counter shows 1 connection', async () => {
    const res = await page.goto(base + '/', { timeout: WAIT_MS });
    if (!res || res.status() !== 200) throw new Error(`GET / answered ${res && res.status()}`);
    const title = await page.title();
    if (!/Herald/.test(title)) throw new Error(`unexpected title ${JSON.stringify(title)}`);
    await waitForText(page, '#state-text', 'Live', 'connection state');
    await waitForText(page, '#online-connections', '1', 'online counter');
    await waitForText(page, '#online-users', '0', 'unique users (anonymous page)');
    await waitForText(page, '#subscriptions', /public\.promotional/, 'default subscription');
  });

  await test('a second page raises the first page\'s counter to 2, closing it lowers it to 1', async () => {
    const second = await context.newPage();
    watch(second, 'page 2');
    await second.goto(base + '/', { timeout: WAIT_MS });
    await waitForText(second, '#online-connections', '2', 'second page counter');
    await waitForText(page, '#online-connections', '2', 'first page counter');
    await second.close();
    await waitForText(page, '#online-connections', '1', 'first page counter after the second closed');
  });

  await test('a console (an /admin connection) is not counted: the counters show the pages only', async () => {
    // --dev lets a loopback caller in on /admin without a token, as the console would with one.
    await page.evaluate((url) => new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      window.adminSocket = ws;
      ws.onmessage = (e) => { if (JSON.parse(e.data).event === 'welcome') resolve(); };
      ws.onerror = () => reject(new Error('the /admin connection failed'));
    }), base.replace(/^http/, 'ws') + '/admin');
    const second = await context.newPage();
    watch(second, 'page 3');
    await second.goto(base + '/', { timeout: WAIT_MS });
    await waitForText(second, '#online-connections', '2', 'two pages and a console: 2');
    await waitForText(page, '#online-connections', '2', 'first page counter with a console open');
    await second.close();
    await waitForText(page, '#online-connections', '1', 'one page and a console: 1');
    await page.evaluate(() => window.adminSocket.close());
  });

  await test('POST /api/broadcast shows a dismissible banner with title and body', async () => {
    await post(base, '/api/broadcast', { title: 'Maintenance tonight', body: 'Back at 02:00 UTC', level: 'warning' });
    await waitForText(page, '#banners .banner .title', 'Maintenance tonight', 'banner title');
    await waitForText(page, '#banners .banner .body', 'Back at 02:00 UTC', 'banner body');
    await waitForText(page, '#banners .banner .level', 'Warning', 'banner level');
    const cls = await page.locator('#banners .banner').first().getAttribute('class');
    if (!/\bwarning\b/.test(cls)) throw new Error(`banner class is ${cls}, expected warning`);
    // A newer one goes on top; dismissing it leaves the older one.
    await post(base, '/api/broadcast', { title: 'Hi', body: 'hello', level: 'critical' });
    await waitForText(page, '#banners .banner:first-child .title', 'Hi', 'newest banner on top');
    await page.getByRole('button', { name: 'Dismiss: Hi' }).click({ timeout: WAIT_MS });
    await waitForText(page, '#banners .banner:first-child .title', 'Maintenance tonight', 'banner after dismiss');
  });

  await test('a page opened during a sticky broadcast shows it; withdrawn, it goes and new pages do not get it', async () => {
    const sent = await post(base, '/api/broadcast', { title: 'Sticky maintenance', body: 'at 22:00', ttl: '1h' });
    const late = await context.newPage();
    watch(late, 'sticky page');
    await late.goto(base + '/', { timeout: WAIT_MS });
    await waitForText(late, '#banners .banner:first-child .title', 'Sticky maintenance', 'sticky banner on a later page');
    const res = await fetch(`${base}/api/broadcast/${encodeURIComponent(sent.id)}`, { method: 'DELETE' });
    if (res.status !== 200) throw new Error(`DELETE answered ${res.status}: ${await res.text()}`);
    await waitInPage(late, (id) => !document.querySelector(`#banners .banner[data-id="${id}"]`), sent.id,
                     'withdrawn banner removed');
    await late.reload({ timeout: WAIT_MS });
    await waitForText(late, '#state-text', 'Live', 'reloaded page live');
    const count = await late.locator('#banners .banner').count();
    if (count !== 0) throw new Error(`a page opened after the withdrawal shows ${count} banner(s)`);
    await late.close();
  });

  await test('POST /api/publish to public.promotional appears in the message log', async () => {
    const reply = await post(base, '/api/publish', { stream: 'promotional', data: { text: 'sale' } });
    if (reply.stream !== 'public.promotional') throw new Error(`publish went to ${reply.stream}`);
    await waitForText(page, '#log li:first-child .stream', 'public.promotional', 'log stream');
    await waitForText(page, '#log li:first-child code', '{"text":"sale"}', 'log data');
  });

  await test('subscribe and unsubscribe a typed stream from the form', async () => {
    await page.getByLabel('Stream name').fill('news', { timeout: WAIT_MS });
    await page.getByRole('button', { name: 'Subscribe', exact: true }).click({ timeout: WAIT_MS });
    await waitForText(page, '#subscriptions', /public\.news/, 'subscription chip');
    await waitForText(page, '#cmd-publish', /"stream": "news"/, 'curl hint follows the stream name');
    // Terminal hints name what Debian ships (heraldctl, python3-websockets), not websocat.
    await waitForText(page, '#cmd-ws', /heraldctl --server \S+ tail news$/, 'tail hint follows the stream');
    await waitForText(page, '#cmd-ws-raw', /^python3 -m websockets ws:\/\/\S+\/public \{"event":"subscribe","streams":\["news"/, 'raw client hint');
    await post(base, '/api/publish', { stream: 'news', data: { headline: 'first' } });
    await waitForText(page, '#log li:first-child code', '{"headline":"first"}', 'news message');
    await page.getByRole('button', { name: 'Unsubscribe' }).click({ timeout: WAIT_MS });
    await waitForText(page, '#subscriptions', 'public.promotional', 'chips after unsubscribe');
    // Ordered delivery on one connection: once the marker on promotional has arrived, the
    // message published before it on the unsubscribed stream would have arrived too.
    await post(base, '/api/publish', { stream: 'news', data: { headline: 'must not arrive' } });
    await post(base, '/api/publish', { stream: 'promotional', data: { marker: 1 } });
    await waitForText(page, '#log li:first-child code', '{"marker":1}', 'marker message');
    const logText = await page.locator('#log').textContent();
    if (logText.includes('must not arrive')) throw new Error('a message arrived after unsubscribe');
    await page.getByLabel('Stream name').fill('promotional');
  });

  await test('herald.js: a private client gets its own stream and counts as a signed-in user', async () => {
    // "private.order" is the caller's own private stream: routing key private.u1.order.
    await page.evaluate((token) => {
      window.t = { got: [] };
      t.client = new Herald.Client({ token, streams: ['private.order'] });
      t.client.on('message', (m) => t.got.push(m));
    }, mintToken('u1'));
    await waitInPage(page, () => t.client.state === 'open' && t.client.subscribed.has('private.u1.order'),
                     null, 'private client open and subscribed');
    const user = await page.evaluate(() => t.client.welcome.user);
    if (user !== 'u1') throw new Error(`welcome.user is ${user}, expected u1`);
    await waitForText(page, '#online-users', '1', 'signed-in users with the private client');
    await waitForText(page, '#online-connections', '2', 'connections with the private client');
    await post(base, '/api/publish', { stream: 'private.u1.order', data: { order: 42 } });
    await waitInPage(page, () => t.got.some((m) => m.stream === 'private.u1.order' && m.data.order === 42),
                     null, 'private message delivered');
    await page.evaluate(() => t.client.close());
    await waitForText(page, '#online-users', '0', 'signed-in users after the private client closed');
  }, closeTestClient);

  await test('herald.js: a refused token (4001) is not retried; getToken can supply a fresh one', async () => {
    await page.evaluate(() => {
      window.t = { closes: [] };
      t.client = new Herald.Client({ token: 'not-a-jwt' });
      t.client.on('close', (c) => t.closes.push(c));
    });
    await waitInPage(page, () => t.client.state === 'closed' && t.closes.length > 0, null, 'refused client closed');
    const refused = await page.evaluate(() => ({ code: t.closes[0].code, retry: t.closes[0].reconnectIn,
                                                 timer: Boolean(t.client._timers.reconnect) }));
    if (refused.code !== 4001 || refused.retry !== null || refused.timer)
      throw new Error(`after a bad token: ${JSON.stringify(refused)}, expected code 4001 and no retry`);
    // getToken hands out a bad token first, then a good one: the client must get through.
    await page.evaluate((good) => {
      const tokens = ['still-not-a-jwt', good];
      window.t = { asked: 0 };
      t.client = new Herald.Client({ getToken: async () => tokens[Math.min(t.asked++, 1)], minDelay: 50, maxDelay: 200 });
    }, mintToken('u2'));
    await waitInPage(page, () => t.client.state === 'open', null, 'client with getToken open');
    const welcome = await page.evaluate(() => ({ user: t.client.welcome.user, asked: t.asked }));
    if (welcome.user !== 'u2' || welcome.asked !== 2)
      throw new Error(`after getToken: ${JSON.stringify(welcome)}, expected user u2 after 2 calls`);
  }, closeTestClient);

  await test('a page from a foreign origin cannot open /private or /admin (cross-site WebSocket hijacking)', async () => {
    // A node without --dev (which lets any loopback page in), and a page served by another
    // server on another port: another origin, on loopback so that Chromium's own local-network
    // rules do not block the attempt before it reaches the node.
    const node = await spawnNode(['--admin-tokens', 'admin-secret']);
    const evilServer = createServer((req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/html' });
      res.end('<!doctype html><title>evil</title>');
    });
    await new Promise((r) => evilServer.listen(0, '127.0.0.1', r));
    const foreign = await browser.newContext();
    try {
      const evilUrl = `http://127.0.0.1:${evilServer.address().port}/`;
      const evil = await foreign.newPage();
      await evil.goto(evilUrl);
      const wsBase = node.base.replace(/^http/, 'ws');
      const attempt = (url) => evil.evaluate((u) => new Promise((resolve) => {
        const ws = new WebSocket(u);
        const events = [];
        ws.onopen = () => events.push('open');
        ws.onmessage = (e) => events.push('message:' + e.data);
        ws.onclose = (e) => resolve({ events, code: e.code });
      }), url);
      for (const path of [`/private?token=${mintToken('victim')}`, '/admin?token=admin-secret', '/public']) {
        const result = await attempt(wsBase + path);
        if (result.events.length || result.code !== 1006)
          throw new Error(`${path} from ${evilUrl}: ${JSON.stringify(result)}, expected no open and 1006`);
      }
      const refusals = async () => {
        const m = /herald_ws_refusals_total\{reason="origin"\} (\d+)/.exec(await (await fetch(node.base + '/metrics')).text());
        return m ? Number(m[1]) : -1;
      };
      if (await refusals() !== 3) throw new Error(`expected 3 origin refusals, /metrics says ${await refusals()}`);
      // The node's own page opens the same endpoint with the same token.
      const own = await foreign.newPage();
      await own.goto(node.base + '/');
      const event = await own.evaluate((u) => new Promise((resolve) => {
        const ws = new WebSocket(u);
        ws.onmessage = (e) => { resolve(JSON.parse(e.data).event); ws.close(); };
        ws.onclose = (e) => resolve('closed ' + e.code);
      }), `${wsBase}/private?token=${mintToken('victim')}`);
      if (event !== 'welcome') throw new Error(`the node's own page got ${event}, expected welcome`);
    } finally {
      await foreign.close();
      evilServer.close();
      node.child.kill('SIGKILL');
    }
  });

  await test('the demo page over https:// goes live on wss:// (tls_cert/tls_key)', async () => {
    // A certificate made for this run; the browser context accepts it without a trusted CA.
    const dir = mkdtempSync(join(tmpdir(), 'herald-tls-'));
    let node = null;
    const secure = await browser.newContext({ ignoreHTTPSErrors: true });
    try {
      execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
                               '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
                               '-days', '2', '-subj', '/CN=herald-browser-test',
                               '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
      node = await spawnNode(['--dev', '--tls-cert', join(dir, 'cert.pem'), '--tls-key', join(dir, 'key.pem')]);
      if (!node.base.startsWith('https://')) throw new Error(`TLS node reported ${node.base}`);
      const tlsPage = await secure.newPage();
      watch(tlsPage, 'https page');
      const res = await tlsPage.goto(node.base + '/', { timeout: WAIT_MS });
      if (!res || res.status() !== 200) throw new Error(`GET / over https answered ${res && res.status()}`);
      // An https page may only open wss:// (Chromium blocks ws:// from it): Live means wss works.
      await waitForText(tlsPage, '#state-text', 'Live', 'connection state over TLS');
      await tlsPage.evaluate(() => fetch('/api/publish', {
        method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ stream: 'promotional', data: { over: 'tls' } }),
      }));
      await waitForText(tlsPage, '#log li:first-child code', '{"over":"tls"}', 'message over wss');
      await tlsPage.close();
    } finally {
      await secure.close();
      if (node) node.child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });

  let stopWithPage = null; // how the server exited on SIGTERM while the page was connected
  await test('herald.js reconnects and re-subscribes after a server restart', async () => {
    const port = new URL(base).port;
    stopWithPage = await stopServer();
    // The server closes with 1001 on SIGTERM: the page must say it is reconnecting, not give up.
    await waitForText(page, '#state-text', 'Reconnecting…', 'state after the server stopped');
    const again = await startServer(`127.0.0.1:${port}`);
    if (again !== base) throw new Error(`restarted server is at ${again}, expected ${base}`);
    await waitForText(page, '#state-text', 'Live', 'state after the restart');
    await waitForText(page, '#online-connections', '1', 'online counter after the restart');
    await waitForText(page, '#subscriptions', 'public.promotional', 'subscriptions after the restart');
    // herald.js resumed with `since`; a node without Redis lost its history on restart, and says so.
    await waitForText(page, '#log li:first-child code', /^could not recover: older messages are gone/, 'resume line');
    await post(base, '/api/publish', { stream: 'promotional', data: { text: 'after restart' } });
    await waitForText(page, '#log li:first-child code', '{"text":"after restart"}', 'message after the restart');
  });

  await test('herald-server exits cleanly on SIGTERM while a page is connected', async () => {
    if (!stopWithPage) throw new Error('the restart test did not stop the server');
    if (stopWithPage.code !== 0)
      throw new Error(`herald-server exited with code ${stopWithPage.code}, signal ${stopWithPage.signal}`);
  });

  await test('screenshots (light and dark) and no page errors', async () => {
    mkdirSync(OUT_DIR, { recursive: true });
    await post(base, '/api/broadcast', { title: 'Hello from curl', body: 'System messages reach every page.', level: 'info' });
    await waitForText(page, '#banners .banner:first-child .title', 'Hello from curl', 'screenshot banner');
    const light = join(OUT_DIR, 'browser_demo_page.png');
    await page.screenshot({ path: light, fullPage: true });
    await page.emulateMedia({ colorScheme: 'dark' });
    const dark = join(OUT_DIR, 'browser_demo_page_dark.png');
    await page.screenshot({ path: dark, fullPage: true });
    log(`# screenshots: ${light} ${dark}`);
    if (pageErrors.length) throw new Error('page errors:\n  ' + pageErrors.join('\n  '));
  });
}

try {
  await main();
} catch (e) {
  results.push({ name: 'setup', ok: false });
  log(`FAIL - setup: ${e && e.stack || e}`);
} finally {
  if (interrupted) await new Promise(() => {}); // the signal handler reports and exits
  await browser?.close().catch((e) => log(`# closing chromium failed: ${e.message}`));
  await stopServer();
  if (results.some((r) => !r.ok) && serverLog) log('# herald-server stderr:\n' + serverLog.replace(/^/gm, '#   '));
  finish();
}
