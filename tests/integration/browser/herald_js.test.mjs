// Unit test of herald.js's resume and dedupe logic in Node, without a browser or a server: the
// client gets a scripted WebSocket (its `WebSocket` option), so the test can send what a real
// node never should (duplicates, out-of-order ids) and read every frame the client sends.
// The real thing, end to end, is in resume.test.mjs. The last line is "N passed, M failed".
//
//   node tests/integration/browser/herald_js.test.mjs

import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const Herald = createRequire(import.meta.url)(join(here, '..', '..', '..', 'resources', 'web', 'herald.js'));

// A socket the test drives: `server(frame)` delivers a frame to the client, `sent` holds what the
// client sent (parsed), `drop()` ends the connection as a crashed node would.
class ScriptedSocket {
  static all = [];
  constructor(url) {
    this.url = url;
    this.readyState = 0;
    this.sent = [];
    ScriptedSocket.all.push(this);
  }
  send(text) { this.sent.push(JSON.parse(text)); }
  close() { this.readyState = 3; }
  open(user = null) {
    this.readyState = 1;
    this.server({ event: 'welcome', node: 'n1', session: 's' + ScriptedSocket.all.length, user, protocol: 1 });
  }
  server(frame) { this.onmessage && this.onmessage({ data: JSON.stringify(frame) }); }
  drop() {
    this.readyState = 3;
    this.onclose && this.onclose({ code: 1006, reason: '' });
  }
  subscribes() { return this.sent.filter((f) => f.event === 'subscribe'); }
}

// A client on scripted sockets, recording what it hands to the page.
function makeClient(options) {
  ScriptedSocket.all = [];
  const client = new Herald.Client(Object.assign({
    WebSocket: ScriptedSocket, pingInterval: 0, minDelay: 1, maxDelay: 2, url: 'ws://a/public',
  }, options));
  const page = { messages: [], recoveries: [] };
  client.on('message', (m) => page.messages.push(m.id));
  client.on('recovery', (r) => page.recoveries.push(r));
  return { client, page, socket: () => ScriptedSocket.all[ScriptedSocket.all.length - 1] };
}

// Waits (bounded) for the reconnect timer to open the next socket.
async function nextSocket(count) {
  const deadline = Date.now() + 5000;
  while (ScriptedSocket.all.length < count) {
    if (Date.now() > deadline) throw new Error(`no socket #${count} within 5 s`);
    await new Promise((r) => setTimeout(r, 5));
  }
  return ScriptedSocket.all[count - 1];
}

const msg = (stream, id) => ({ event: 'message', stream, id, data: { id } });
const tests = [];
const test = (name, fn) => tests.push({ name, fn });

test('a fresh subscribe remembers the position; duplicates and older ids are dropped', async () => {
  const { client, page, socket } = makeClient({ streams: ['news'] });
  socket().open();
  assert.deepEqual(socket().subscribes(), [{ event: 'subscribe', streams: ['news'] }]);
  socket().server({ event: 'subscribed', streams: ['public.news'], positions: { 'public.news': '100-0' } });
  assert.deepEqual(client.lastIds, { 'public.news': '100-0' });
  for (const id of ['100-0', '101-0', '101-0', '99-7', '101-1', '1000-0', '999-9'])
    socket().server(msg('public.news', id));
  // Ids of streams without history are not ordered: never dropped.
  socket().server(msg('public.news', 'lq2x-n1-1'));
  socket().server(msg('public.news', 'lq2x-n1-1'));
  assert.deepEqual(page.messages, ['101-0', '101-1', '1000-0', 'lq2x-n1-1', 'lq2x-n1-1']);
  assert.deepEqual(client.lastIds, { 'public.news': '1000-0' });
  assert.deepEqual(page.recoveries, []);
  client.close();
});

test('after a reconnect it resumes with since, reports recovery once the replay is delivered', async () => {
  const { client, page, socket } = makeClient({ streams: ['online', 'news'] });
  socket().open();
  socket().server({ event: 'subscribed', streams: ['online', 'public.news'], positions: { 'public.news': '' } });
  socket().server(msg('public.news', '5-0'));
  socket().drop();
  const second = await nextSocket(2);
  second.open();
  assert.deepEqual(second.subscribes(),
                   [{ event: 'subscribe', streams: ['online', 'news'], since: { news: '5-0' } }]);
  second.server({ event: 'subscribed', streams: ['online', 'public.news'],
                  positions: { 'public.news': '7-0' }, recovered: { 'public.news': true } });
  assert.deepEqual(client.lastIds, { 'public.news': '5-0' }, 'a resumed stream keeps its last id');
  second.server(msg('public.news', '5-0')); // a duplicate from the replay: dropped
  second.server(msg('public.news', '6-0'));
  assert.deepEqual(page.recoveries, [], 'recovery waits for the end of the replay');
  second.server(msg('public.news', '7-0'));
  assert.deepEqual(page.recoveries, [{ stream: 'public.news', recovered: true, replayed: 2 }]);
  second.server(msg('public.news', '8-0'));
  assert.deepEqual(page.messages, ['5-0', '6-0', '7-0', '8-0']);
  assert.equal(page.recoveries.length, 1);
  client.close();
});

test('nothing missed, or history gone: recovery is reported with the answer', async () => {
  const { client, page, socket } = makeClient({ streams: ['news', 'quiet'] });
  socket().open();
  socket().server({ event: 'subscribed', streams: ['public.news', 'public.quiet'],
                    positions: { 'public.news': '3-0', 'public.quiet': '' } });
  socket().drop();
  const second = await nextSocket(2);
  second.open();
  // A quiet stream resumes from its start ("" is the position of an empty stream).
  assert.deepEqual(second.subscribes()[0].since, { news: '3-0', quiet: '' });
  second.server({ event: 'subscribed', streams: ['public.news', 'public.quiet'],
                  positions: { 'public.news': '3-0', 'public.quiet': '' },
                  recovered: { 'public.news': true, 'public.quiet': false } });
  assert.deepEqual(page.recoveries, [{ stream: 'public.news', recovered: true, replayed: 0 },
                                     { stream: 'public.quiet', recovered: false, replayed: 0 }]);
  client.close();
});

test('a connection lost during a replay resumes from the last message delivered', async () => {
  const { client, page, socket } = makeClient({ streams: ['news'] });
  socket().open();
  socket().server({ event: 'subscribed', streams: ['public.news'], positions: { 'public.news': '1-0' } });
  socket().drop();
  let s = await nextSocket(2);
  s.open();
  s.server({ event: 'subscribed', streams: ['public.news'], positions: { 'public.news': '9-0' },
             recovered: { 'public.news': true } });
  s.server(msg('public.news', '2-0'));
  s.drop();
  s = await nextSocket(3);
  s.open();
  assert.deepEqual(s.subscribes()[0].since, { news: '2-0' });
  s.server({ event: 'subscribed', streams: ['public.news'], positions: { 'public.news': '9-0' },
             recovered: { 'public.news': false } });
  s.server(msg('public.news', '9-0'));
  assert.deepEqual(page.messages, ['2-0', '9-0']);
  assert.deepEqual(page.recoveries, [{ stream: 'public.news', recovered: false, replayed: 1 }]);
  client.close();
});

test('private streams resume by the name as written; unsubscribe forgets the position', async () => {
  const { client, socket } = makeClient({ streams: ['private.order'] });
  socket().open('u1');
  socket().server({ event: 'subscribed', streams: ['private.u1.order'], positions: { 'private.u1.order': '4-2' } });
  client.subscribe('news');
  socket().server({ event: 'subscribed', streams: ['public.news'], positions: { 'public.news': '8-0' } });
  client.unsubscribe('news');
  assert.deepEqual(client.lastIds, { 'private.u1.order': '4-2' });
  client.subscribe('news');
  assert.deepEqual(socket().subscribes().at(-1), { event: 'subscribe', streams: ['news'] });
  socket().server({ event: 'subscribed', streams: ['public.news'], positions: { 'public.news': '9-0' } });
  socket().drop();
  const second = await nextSocket(2);
  second.open('u1');
  assert.deepEqual(second.subscribes()[0].since, { 'private.order': '4-2', news: '9-0' });
  client.close();
});

test('urls: each reconnect tries the next node', async () => {
  const { client } = makeClient({ urls: ['ws://a/public', 'ws://b/public'], streams: [] });
  ScriptedSocket.all[0].drop();
  (await nextSocket(2)).drop();
  await nextSocket(3);
  assert.deepEqual(ScriptedSocket.all.map((s) => s.url), ['ws://a/public', 'ws://b/public', 'ws://a/public']);
  client.close();
});

let failed = 0;
for (const { name, fn } of tests) {
  try {
    await fn();
    process.stdout.write(`ok - ${name}\n`);
  } catch (e) {
    failed++;
    process.stdout.write(`FAIL - ${name}: ${e && e.stack || e}\n`);
  }
}
process.stdout.write(`${tests.length - failed} passed, ${failed} failed\n`);
process.exitCode = failed ? 1 : 0;
