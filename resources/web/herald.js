/*
 * herald.js: a small, dependency-free browser client for Herald (wire protocol v1).
 *
 *   <script src="/herald.js"></script>
 *   const h = new Herald.Client({ streams: ['promotional', 'online'] });
 *   h.on('message', (m) => console.log(m.stream, m.data));
 *   h.on('system', (m) => alert(m.data.title));
 *
 * Options: url (default: this page's host, /public, or /private when a token is given),
 * urls (several nodes' URLs: each reconnect tries the next one; overrides url),
 * token, getToken (async () => token; called before every connect), streams,
 * pingInterval (ms, default 25000), minDelay / maxDelay (reconnect backoff, ms),
 * autoConnect (default true), WebSocket (an implementation, for non-browser use).
 * Events: open(welcome), close({code, reason, reconnectIn}), state(state, previous),
 * message, system, withdrawn, online, subscribed, unsubscribed, error, pong,
 * recovery({stream, recovered, replayed}).
 * A sticky system message carries expires_at (ms); it is sent again after each reconnect (same
 * id), and "withdrawn" ({id}) says an admin took it back.
 *
 * No message lost: for each stream with history the client remembers the id of the last message
 * it delivered (or, before any, the stream's position from `subscribed`), and after a reconnect,
 * to any node, subscribes with `since` so the node replays what was missed. Once the replay is
 * delivered it emits `recovery` per resumed stream: `recovered` true means nothing was missed;
 * false means older messages are gone (or the stream keeps no history), so reload the state the
 * page built from that stream. `replayed` counts the missed messages delivered. A message whose
 * id is not after the last one delivered on its stream is dropped, so the page never sees one
 * twice. `client.lastIds` shows what a resume would ask for ({routingKey: id}).
 */
(function (root) {
  'use strict';

  // Close codes the server uses (docs/protocol.md).
  const CloseCode = Object.freeze({
    NORMAL: 1000, GOING_AWAY: 1001, TOO_LARGE: 1009, SERVICE_RESTART: 1012,
    TRY_AGAIN_LATER: 1013, UNAUTHORIZED: 4001, IDLE_TIMEOUT: 4008, SLOW_CONSUMER: 4009,
  });

  // A connection that stayed up this long resets the backoff: a server that accepts and then
  // closes at once must not be hammered at the minimum delay.
  const STABLE_MS = 10000;
  // How long to wait for any frame after our ping before declaring the link dead. Browsers hide
  // WebSocket ping/pong frames, so a half-open TCP connection is only noticed this way.
  const PONG_TIMEOUT_MS = 10000;
  // Ids of messages kept in a stream's history: "<ms>-<seq>" (Redis stream ids). Other ids
  // (streams without history) cannot be resumed from nor ordered, and are passed through as-is.
  const HISTORY_ID = /^\d+-\d+$/;

  class Client {
    constructor(options = {}) {
      this.options = Object.assign({
        url: null, urls: [], token: null, getToken: null, streams: [],
        pingInterval: 25000, minDelay: 500, maxDelay: 30000, autoConnect: true,
        WebSocket: root.WebSocket,
      }, options);
      this.token = this.options.token;
      this.state = 'closed';
      this.welcome = null;          // the last "welcome" frame (node, session, user)
      this.subscribed = new Set();  // routing keys the server confirmed, e.g. "public.promotional"
      this._wanted = new Set(this.options.streams); // what the caller asked for, as given
      this._listeners = {};
      this._lastIds = new Map();    // routing key -> id of the last message delivered, or position
      this._replays = new Map();    // routing key -> resume whose replay is still arriving
      this._ws = null;
      this._attempt = 0;
      this._urlIndex = 0;
      this._timers = {};
      this._openedAt = 0;
      this._rejectedToken = null;
      this._stopped = true;
      // Back online after a network loss: skip the rest of the backoff wait.
      this._onBrowserOnline = () => { if (this._timers.reconnect) this._connectNow(); };
      if (this.options.autoConnect) this.connect();
    }

    /** Registers a listener; returns a function that removes it. */
    on(event, callback) {
      (this._listeners[event] = this._listeners[event] || []).push(callback);
      return () => this.off(event, callback);
    }

    off(event, callback) {
      const list = this._listeners[event];
      if (list) this._listeners[event] = list.filter((cb) => cb !== callback);
    }

    /** Streams the caller wants; kept across reconnects. */
    get streams() { return Array.from(this._wanted); }

    /** Where a resume would start, per routing key: {"public.news": "1732370000000-3"}. */
    get lastIds() { return Object.fromEntries(this._lastIds); }

    subscribe(streams) {
      const list = toList(streams).filter((s) => !this._wanted.has(s));
      list.forEach((s) => this._wanted.add(s));
      if (list.length) this._send(this._subscribeFrame(list));
    }

    unsubscribe(streams) {
      const list = toList(streams);
      list.forEach((s) => {
        this._wanted.delete(s);
        // Subscribing again later starts afresh: what was published meanwhile is not wanted.
        const key = this._routingKey(s);
        this._lastIds.delete(key);
        this._replays.delete(key);
      });
      if (list.length) this._send({ event: 'unsubscribe', streams: list });
    }

    /** Starts (or restarts after close()) the connection. */
    connect() {
      if (!this._stopped) return;
      this._stopped = false;
      this._attempt = 0;
      if (root.addEventListener) root.addEventListener('online', this._onBrowserOnline);
      this._connectNow();
    }

    /** Closes for good: no reconnect until connect() is called again. */
    close(code = CloseCode.NORMAL, reason = 'client closed') {
      this._stopped = true;
      if (root.removeEventListener) root.removeEventListener('online', this._onBrowserOnline);
      this._clearTimers();
      this._replays.clear();
      const ws = this._detach();
      if (ws) { try { ws.close(code, reason); } catch (e) { /* already closing */ } }
      if (this.state !== 'closed') {
        this._setState('closed');
        this._emit('close', { code, reason, reconnectIn: null });
      }
    }

    // ---- internals ------------------------------------------------------------------------

    async _connectNow() {
      this._clearTimers();
      this._setState(this._attempt === 0 ? 'connecting' : 'reconnecting');
      if (this.options.getToken) {
        // close() (and maybe connect()) may run while we wait: only the latest attempt goes on.
        const attempt = this._connectSeq = (this._connectSeq || 0) + 1;
        let token;
        try {
          token = await this.options.getToken();
        } catch (e) {
          if (this._stopped || attempt !== this._connectSeq) return;
          this._emit('error', { code: 'token', message: String(e && e.message || e) });
          return this._scheduleReconnect();
        }
        if (this._stopped || attempt !== this._connectSeq) return;
        this.token = token;
      }
      // A token the server already refused (4001) is not retried: that would loop forever.
      if (this._rejectedToken !== null && (this.token || '') === this._rejectedToken) {
        this._emit('error', { code: 'unauthorized', message: 'token rejected; a new token is needed' });
        return this.close(CloseCode.UNAUTHORIZED, 'unauthorized');
      }
      let ws;
      try {
        ws = new this.options.WebSocket(this._url());
      } catch (e) {
        this._emit('error', { code: 'transport', message: String(e && e.message || e) });
        return this._scheduleReconnect();
      }
      this._ws = ws;
      ws.onmessage = (ev) => this._onFrame(ev.data);
      ws.onclose = (ev) => this._onClose(ev.code, ev.reason);
      // The close event that follows carries the details; nothing else to do here.
      ws.onerror = () => {};
    }

    _url() {
      const o = this.options;
      let url = o.urls && o.urls.length ? o.urls[this._urlIndex % o.urls.length] : o.url;
      if (!url) {
        const loc = root.location;
        const scheme = loc && loc.protocol === 'https:' ? 'wss:' : 'ws:';
        url = scheme + '//' + (loc ? loc.host : 'localhost:8080') +
              (this.token || o.getToken ? '/private' : '/public');
      }
      if (this.token) url += (url.includes('?') ? '&' : '?') + 'token=' + encodeURIComponent(this.token);
      return url;
    }

    _onFrame(text) {
      this._clearTimer('pong'); // any traffic proves the link is alive
      let msg;
      try { msg = JSON.parse(text); } catch (e) { return; }
      if (!msg || typeof msg !== 'object') return;
      switch (msg.event) {
        case 'welcome':
          this.welcome = msg;
          this._openedAt = Date.now();
          this._rejectedToken = null;
          this.subscribed.clear();
          this._setState('open');
          this._startPing();
          // Re-subscribe everything wanted: after a reconnect the new session starts empty.
          if (this._wanted.size) this._send(this._subscribeFrame(this.streams));
          this._emit('open', msg);
          break;
        case 'subscribed':
          (msg.streams || []).forEach((s) => this.subscribed.add(s));
          this._onSubscribed(msg);
          break;
        case 'unsubscribed':
          (msg.streams || []).forEach((s) => this.subscribed.delete(s));
          this._emit('unsubscribed', msg);
          break;
        case 'error':
          // A refused stream would be refused again after every reconnect: stop asking.
          if (msg.stream && msg.code !== 'too_many_subscriptions') this._wanted.delete(msg.stream);
          this._emit('error', msg);
          break;
        case 'message':
          this._onMessage(msg);
          break;
        case 'system': case 'withdrawn': case 'online': case 'pong':
          this._emit(msg.event, msg);
          break;
        default:
          this._emit('unknown', msg); // newer server: ignore what we do not know
      }
    }

    // ---- resume and dedupe (docs/protocol.md, "History and resume") ---------------------------

    /** A subscribe frame for `names`, with `since` for each stream a message was seen on. */
    _subscribeFrame(names) {
      const frame = { event: 'subscribe', streams: names };
      const since = {};
      for (const name of names) {
        const id = this._lastIds.get(this._routingKey(name));
        if (id !== undefined) since[name] = id;
      }
      if (Object.keys(since).length) frame.since = since;
      return frame;
    }

    _onSubscribed(msg) {
      const positions = msg.positions || {};
      const recovered = msg.recovered || {};
      for (const key of Object.keys(positions)) {
        // A resumed stream's replay follows this answer and moves its last id on by itself.
        // Otherwise nothing after the position has been delivered yet: resume from there.
        // ("" is a stream with no message yet: a resume from it replays from the start.)
        const position = String(positions[key]);
        const last = this._lastIds.get(key);
        if (!(key in recovered) && (last === undefined || isAfter(position, last)))
          this._lastIds.set(key, position);
      }
      this._emit('subscribed', msg);
      for (const key of Object.keys(recovered)) {
        const resume = { stream: key, recovered: recovered[key] === true, replayed: 0,
                         position: positions[key] || '' };
        // The replay ends with the message at the position, the newest one at the answer.
        if (resume.position && isAfter(resume.position, this._lastIds.get(key) || '')) {
          this._replays.set(key, resume);
        } else {
          this._emitRecovery(resume);
        }
      }
    }

    _onMessage(msg) {
      const key = msg.stream;
      if (typeof msg.id !== 'string' || !HISTORY_ID.test(msg.id)) return this._emit('message', msg);
      const last = this._lastIds.get(key);
      const resume = this._replays.get(key);
      if (last === undefined || isAfter(msg.id, last)) {
        // Only for streams subscribed to: one still in flight after unsubscribe is forgotten.
        if (this.subscribed.has(key)) this._lastIds.set(key, msg.id);
        if (resume && !isAfter(msg.id, resume.position)) resume.replayed++;
        this._emit('message', msg);
      } // else: a duplicate (already delivered): the page must not see it twice
      if (resume && !isAfter(resume.position, msg.id)) {
        this._replays.delete(key);
        this._emitRecovery(resume);
      }
    }

    _emitRecovery(resume) {
      this._emit('recovery', { stream: resume.stream, recovered: resume.recovered, replayed: resume.replayed });
    }

    /** The routing key of a stream name as the caller wrote it (docs/protocol.md, "Streams"). */
    _routingKey(name) {
      if (name === 'online' || name === 'system' || name.startsWith('public.')) return name;
      const user = this.welcome && this.welcome.user;
      if (name.startsWith('private.'))
        return name.indexOf('.', 8) > 0 || !user ? name : 'private.' + user + '.' + name.slice(8);
      return 'public.' + name;
    }

    // ---- connection ------------------------------------------------------------------------

    _onClose(code, reason) {
      this._detach();
      this._clearTimers();
      this._replays.clear(); // the next connection resumes (and reports) again
      if (this._stopped) return;
      if (this._openedAt && Date.now() - this._openedAt >= STABLE_MS) this._attempt = 0;
      this._openedAt = 0;
      if (code === CloseCode.UNAUTHORIZED) {
        this._rejectedToken = this.token || ''; // no token at all is not retried either
        // The server has already sent an "error" frame saying why; just stop.
        if (!this.options.getToken) {
          this._stopped = true;
          this._setState('closed');
          this._emit('close', { code, reason, reconnectIn: null });
          return;
        }
      }
      const delay = this._scheduleReconnect(code);
      this._emit('close', { code, reason, reconnectIn: delay });
    }

    _scheduleReconnect(code) {
      const o = this.options;
      // Capped exponential backoff; the random half spreads a crowd of clients over time.
      const base = Math.min(o.maxDelay, o.minDelay * Math.pow(2, this._attempt));
      let delay = base / 2 + Math.random() * base / 2;
      if (code === CloseCode.GOING_AWAY || code === CloseCode.SERVICE_RESTART) {
        // A draining node sends everyone away at once: scatter them over a few seconds.
        delay = Math.max(delay, Math.random() * 5000);
      } else if (code === CloseCode.TRY_AGAIN_LATER) {
        delay = Math.max(delay, 5000 + Math.random() * 5000); // node full
      }
      this._attempt++;
      this._urlIndex++; // with several nodes, try the next one
      this._setState('reconnecting');
      this._timers.reconnect = setTimeout(() => this._connectNow(), delay);
      return Math.round(delay);
    }

    _startPing() {
      if (!this.options.pingInterval) return;
      this._timers.ping = setInterval(() => {
        if (!this._send({ event: 'ping' }) || this._timers.pong) return;
        this._timers.pong = setTimeout(() => {
          // No answer: drop the socket without waiting for a close handshake that may never come.
          const ws = this._detach();
          if (ws) { try { ws.close(4000, 'ping timeout'); } catch (e) { /* ignore */ } }
          this._onClose(1006, 'ping timeout');
        }, PONG_TIMEOUT_MS);
      }, this.options.pingInterval);
    }

    _send(obj) {
      const ws = this._ws;
      if (!ws || ws.readyState !== 1 || this.state !== 'open') return false; // sent on (re)open
      ws.send(JSON.stringify(obj));
      return true;
    }

    _detach() {
      const ws = this._ws;
      this._ws = null;
      if (ws) ws.onmessage = ws.onclose = ws.onerror = null;
      return ws;
    }

    _setState(state) {
      if (state === this.state) return;
      const previous = this.state;
      this.state = state;
      this._emit('state', state, previous);
    }

    _emit(event, ...args) {
      for (const cb of (this._listeners[event] || []).slice()) {
        // One faulty listener must not break the connection or the other listeners.
        try { cb(...args); } catch (e) { if (root.console) root.console.error(e); }
      }
    }

    _clearTimer(name) {
      if (!this._timers[name]) return;
      clearTimeout(this._timers[name]);
      clearInterval(this._timers[name]);
      delete this._timers[name];
    }

    _clearTimers() { Object.keys(this._timers).forEach((name) => this._clearTimer(name)); }
  }

  // Whether history id `a` comes after `b` ("" comes before every id). Compared as decimal
  // strings, digit count first: no precision lost on big sequence numbers.
  function isAfter(a, b) {
    if (b === '') return a !== '';
    if (a === '') return false;
    const [am, as] = a.split('-');
    const [bm, bs] = b.split('-');
    return cmpDecimal(am, bm) > 0 || (am === bm && cmpDecimal(as, bs) > 0);
  }

  function cmpDecimal(a, b) {
    return a.length !== b.length ? a.length - b.length : (a < b ? -1 : a > b ? 1 : 0);
  }

  function toList(streams) {
    return (Array.isArray(streams) ? streams : [streams]).map(String).filter(Boolean);
  }

  const Herald = { Client, CloseCode, protocol: 1 };
  root.Herald = Herald;
  if (typeof module === 'object' && module.exports) module.exports = Herald;
})(typeof window !== 'undefined' ? window : globalThis);
