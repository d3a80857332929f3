// danmu.js is the JavaScript client of danmu's WebSocket protocol
// (docs/protocol.md). It has no dependencies and runs in browsers and in
// Node (pass the `ws` package's WebSocket as options.WebSocket).
//
//   import { DanmuClient } from 'danmu-client'; // or the server's /danmu.js
//   const client = new DanmuClient({ url: 'ws://127.0.0.1:7070/ws' });
//   client.on('message', ({ room, msg }) => console.log(room, msg.text));
//   client.join('lobby');
//   client.connect();
//
// Delivery: the client remembers the last message id it delivered in each
// room. After a dropped connection it reconnects with exponential backoff
// and jitter and joins every room again with since=<that id>, so the server
// replays what was posted meanwhile; messages whose id is not above the
// last one are never delivered twice. A frame with gap:true resets the
// room's last id, and the messages of that frame and the following ones are
// delivered whatever their ids: after a server restart the embedded stream
// starts empty and its ids may be lower than the ones seen before, and
// without the reset they would all be dropped as duplicates. What was lost
// in the gap is lost; the 'gap' event says so. A room that has delivered no
// message since it was joined (or since a gap) rejoins live only: pass
// since to join to resume from a known position instead.
//
// Close codes (docs/protocol.md, "Close codes"): 1002, 1003, 1007, 1008 and
// 1009 mean the client broke the protocol or a policy refused it; retrying
// would fail the same way, so the client stops and reports it. Every other
// close (1001 shutdown or idle, 1013 too slow, 1006 dropped, ...) is retried.
//
// Server-Sent Events: where WebSocket cannot get through (a proxy that
// blocks it, a port that is closed), a WebSocket that fails before it
// opens makes the client fall back to the edge's /sse, one EventSource per
// room, for as long as it lives (the 'transport' event says so). The
// browser's EventSource reconnects on its own and resumes with
// Last-Event-ID; when it gives up (an HTTP error), the client opens a new
// one after the same backoff, with since=<last id>. Posting is HTTP either
// way. maxRate asks the server for a thinned stream: at most that many
// comments a second, every priority one kept, the rest counted in
// 'dropped'.

/** Close codes after which the client does not reconnect. */
export const FATAL_CLOSE_CODES = Object.freeze([1002, 1003, 1007, 1008, 1009]);

/** Defaults of the DanmuClient options. */
export const DEFAULTS = Object.freeze({
  minDelay: 500, // ms before the first reconnect
  maxDelay: 30000, // ms, the backoff's ceiling
  jitter: 0.5, // a delay is drawn from [base*(1-jitter), base]
  stableAfter: 10000, // ms a connection must last for the backoff to start over
  connectTimeout: 10000, // ms a connection may take to open
  transport: 'auto', // 'auto' (WebSocket, then SSE if it fails), 'websocket' or 'sse'
});

const TRANSPORTS = ['auto', 'websocket', 'sse'];

const ROOM_RE = /^[A-Za-z0-9_.:-]{1,64}$/;
const ID_RE = /^[0-9]+(-[0-9]+)?$/;

/** validRoom reports whether room is a room id the server accepts. */
export function validRoom(room) {
  return typeof room === 'string' && ROOM_RE.test(room);
}

/** validId reports whether id is a message id ("<ms>-<seq>" or "<ms>"). */
export function validId(id) {
  return typeof id === 'string' && ID_RE.test(id);
}

// compareDecimal compares two strings of decimal digits by value, exactly
// for any length (ids are unsigned 64-bit: beyond a Number's exact range).
function compareDecimal(a, b) {
  a = a.replace(/^0+(?=.)/, '');
  b = b.replace(/^0+(?=.)/, '');
  if (a.length !== b.length) return a.length < b.length ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * compareIds compares two message ids numerically, milliseconds first and
 * then sequence, and returns -1, 0 or 1. "<ms>" means "<ms>-0". Never
 * compare ids as strings: "999-0" sorts after "1000-0".
 */
export function compareIds(a, b) {
  const [aMs, aSeq = '0'] = a.split('-');
  const [bMs, bSeq = '0'] = b.split('-');
  return compareDecimal(aMs, bMs) || compareDecimal(aSeq, bSeq);
}

/**
 * backoffDelay returns the delay in ms before reconnect attempt number
 * attempt (0 for the first): the base doubles from minDelay up to maxDelay,
 * and jitter takes up to that fraction off at random so that viewers
 * dropped together do not come back together.
 */
export function backoffDelay(attempt, { minDelay, maxDelay, jitter }, random = Math.random) {
  const base = Math.min(maxDelay, minDelay * 2 ** attempt);
  return Math.round(base * (1 - jitter * random()));
}

const OPEN = 1;

/**
 * DanmuClient watches rooms over one WebSocket connection and keeps it up.
 *
 * Events (subscribe with on; every listener gets one object):
 *   state    {state, attempt, delay, retryAt, code, reason}: state is
 *            'idle', 'connecting', 'open', 'waiting' (to reconnect at
 *            retryAt, a Date.now() value) or 'closed'
 *   message  {room, msg}: a message not delivered before, in id order
 *   joined   {room}, left {room}
 *   gap      {room}: messages before the next ones are missing for good
 *   dropped  {room, count}: the server left out older messages of a burst
 *   online   {room, count}, delete {room, id}
 *   error    {room, code, message}: the server refused a message
 *   close    {code, reason, reconnect}: the connection closed; reconnect
 *            says whether the client will try again
 *   transport {transport}: the client uses 'websocket' or 'sse' from now on
 */
export class DanmuClient {
  #url;
  #sseUrl;
  #transport;
  #auto;
  #EventSource;
  #WebSocket;
  #options;
  #setTimeout;
  #clearTimeout;
  #now;
  #random;

  #listeners = new Map();
  // rooms maps each room the user wants to watch to {last, joined}: the
  // last id delivered (null: none yet) and whether the server said joined.
  #rooms = new Map();
  #socket = null;
  #state = 'idle';
  #attempt = 0;
  #openedAt = 0;
  #retryTimer = null;
  #connectTimer = null;
  // sources maps each room to its EventSource, over SSE, and retries to
  // the timer of the new one it waits to open.
  #sources = new Map();
  #retries = new Map();
  #stats = { reconnects: 0, duplicates: 0, gaps: 0, dropped: 0 };

  /**
   * @param {object} options
   * @param {string} options.url  ws:// or wss:// URL of the edge's /ws
   * @param {string} [options.sseUrl]  http: or https: URL of the edge's
   *   /sse; defaults to url's, same host, /sse, same query (a token)
   * @param {string} [options.transport]  'auto' (default), 'websocket' or 'sse'
   * @param {number} [options.maxRate]  at most this many comments a second
   *   (max_rate), 0 or absent for all of them
   * @param {Function} [options.WebSocket]  a WebSocket constructor; defaults
   *   to globalThis.WebSocket (browsers, Node 22+)
   * @param {Function} [options.EventSource]  an EventSource constructor;
   *   defaults to globalThis.EventSource (browsers). Without one, there is
   *   no fallback.
   * @param {number} [options.minDelay] [options.maxDelay] [options.jitter]
   *   [options.stableAfter] [options.connectTimeout]  see DEFAULTS
   * @param {Function} [options.setTimeout] [options.clearTimeout]
   *   [options.now] [options.random]  clock and randomness, for tests
   */
  constructor(options) {
    const url = new URL(options?.url);
    if (url.protocol !== 'ws:' && url.protocol !== 'wss:') {
      throw new TypeError(`danmu: url must be ws: or wss:, got ${url.protocol}`);
    }
    const maxRate = options.maxRate ?? 0;
    if (!Number.isInteger(maxRate) || maxRate < 0) {
      throw new TypeError(`danmu: maxRate must be a whole number >= 0, got ${maxRate}`);
    }
    if (maxRate > 0) url.searchParams.set('max_rate', String(maxRate));
    this.#url = url.href;
    const sse = new URL(options.sseUrl ?? url.href);
    if (!options.sseUrl) {
      sse.protocol = url.protocol === 'wss:' ? 'https:' : 'http:';
      sse.pathname = sse.pathname.replace(/\/ws$/, '/sse');
    }
    if (sse.protocol !== 'http:' && sse.protocol !== 'https:') {
      throw new TypeError(`danmu: sseUrl must be http: or https:, got ${sse.protocol}`);
    }
    if (maxRate > 0) sse.searchParams.set('max_rate', String(maxRate));
    this.#sseUrl = sse.href;
    const transport = options.transport ?? DEFAULTS.transport;
    if (!TRANSPORTS.includes(transport)) throw new TypeError(`danmu: unknown transport ${transport}`);
    this.#EventSource = options.EventSource ?? globalThis.EventSource;
    this.#WebSocket = options.WebSocket ?? globalThis.WebSocket;
    this.#auto = transport === 'auto' && typeof this.#EventSource === 'function';
    this.#transport = transport === 'sse' ? 'sse' : 'websocket';
    if (this.#transport === 'sse' && typeof this.#EventSource !== 'function') {
      throw new TypeError('danmu: no EventSource: pass options.EventSource');
    }
    if (this.#transport === 'websocket' && typeof this.#WebSocket !== 'function') {
      throw new TypeError('danmu: no WebSocket: pass options.WebSocket (in Node, the ws package)');
    }
    this.#options = {
      minDelay: options.minDelay ?? DEFAULTS.minDelay,
      maxDelay: options.maxDelay ?? DEFAULTS.maxDelay,
      jitter: options.jitter ?? DEFAULTS.jitter,
      stableAfter: options.stableAfter ?? DEFAULTS.stableAfter,
      connectTimeout: options.connectTimeout ?? DEFAULTS.connectTimeout,
    };
    this.#setTimeout = options.setTimeout ?? globalThis.setTimeout.bind(globalThis);
    this.#clearTimeout = options.clearTimeout ?? globalThis.clearTimeout.bind(globalThis);
    this.#now = options.now ?? Date.now;
    this.#random = options.random ?? Math.random;
  }

  /** state is 'idle', 'connecting', 'open', 'waiting' or 'closed'. */
  get state() {
    return this.#state;
  }

  /** transport is 'websocket' or 'sse': what the client connects with. */
  get transport() {
    return this.#transport;
  }

  /** rooms lists the rooms being watched (joined or to be joined). */
  get rooms() {
    return [...this.#rooms.keys()];
  }

  /** stats counts reconnects, duplicates ignored, gaps and dropped messages. */
  get stats() {
    return { ...this.#stats };
  }

  /** lastId returns the last message id delivered in room, or null. */
  lastId(room) {
    return this.#rooms.get(room)?.last ?? null;
  }

  /** joined reports whether the server has confirmed room on this connection. */
  joined(room) {
    return this.#rooms.get(room)?.joined ?? false;
  }

  /** on adds a listener for type and returns a function that removes it. */
  on(type, listener) {
    let set = this.#listeners.get(type);
    if (!set) this.#listeners.set(type, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  /**
   * join watches room, now if connected and on every reconnect. since (a
   * message id) resumes after that message; messages up to it are never
   * delivered. Joining a room already watched does nothing.
   */
  join(room, { since } = {}) {
    if (!validRoom(room)) throw new TypeError(`danmu: invalid room ${JSON.stringify(room)}`);
    if (since !== undefined && since !== null && !validId(since)) {
      throw new TypeError(`danmu: invalid since ${JSON.stringify(since)}`);
    }
    if (this.#rooms.has(room)) return;
    this.#rooms.set(room, { last: since ?? null, joined: false });
    if (this.#transport === 'sse') {
      if (this.#state === 'open' || this.#state === 'connecting') this.#openSource(room);
    } else if (this.#state === 'open') {
      this.#sendJoin(room);
    }
  }

  /** leave stops watching room and forgets its last id. */
  leave(room) {
    if (!this.#rooms.delete(room)) return;
    if (this.#transport === 'sse') {
      this.#closeSource(room);
      this.#emit('left', { room });
    } else if (this.#state === 'open') {
      this.#send({ type: 'leave', room });
    }
  }

  /** connect opens the connection; it does nothing if one is open or pending. */
  connect() {
    if (this.#state === 'connecting' || this.#state === 'open') return;
    this.#cancelRetry();
    this.#attempt = 0;
    this.#open();
  }

  /** close closes the connection for good (until connect is called again). */
  close() {
    this.#cancelRetry();
    const socket = this.#socket;
    this.#detach();
    if (socket) socket.close(1000);
    for (const room of this.#rooms.keys()) this.#closeSource(room);
    this.#setState({ state: 'closed', code: 1000, reason: 'closed by the client' });
  }

  #emit(type, detail) {
    const set = this.#listeners.get(type);
    if (!set) return;
    for (const listener of [...set]) {
      try {
        listener(detail);
      } catch (err) {
        // A failing listener must not break delivery to the others or
        // the client's own bookkeeping.
        (globalThis.reportError ?? console.error)(err);
      }
    }
  }

  #setState(detail) {
    this.#state = detail.state;
    this.#emit('state', { attempt: this.#attempt, ...detail });
  }

  #open() {
    if (this.#transport === 'sse') {
      this.#setState({ state: 'connecting' });
      for (const room of this.#rooms.keys()) this.#openSource(room);
      return;
    }
    let socket;
    try {
      socket = new this.#WebSocket(this.#url);
    } catch (err) {
      if (this.#fallBack()) return;
      this.#setState({ state: 'closed', code: 0, reason: String(err) });
      this.#emit('close', { code: 0, reason: String(err), reconnect: false });
      return;
    }
    this.#socket = socket;
    this.#openedAt = 0;
    this.#setState({ state: 'connecting' });
    socket.onopen = () => socket === this.#socket && this.#onOpen();
    socket.onmessage = (event) => socket === this.#socket && this.#onMessage(event.data);
    socket.onclose = (event) => socket === this.#socket && this.#onClose(event.code, event.reason);
    socket.onerror = () => {}; // a close event follows and carries what matters
    this.#connectTimer = this.#setTimeout(() => {
      this.#connectTimer = null;
      if (socket === this.#socket) this.#onClose(1006, 'connect timeout');
      socket.close();
    }, this.#options.connectTimeout);
  }

  #onOpen() {
    this.#clearConnectTimer();
    this.#openedAt = this.#now();
    this.#everOpened = true;
    this.#setState({ state: 'open' });
    for (const room of this.#rooms.keys()) this.#sendJoin(room);
  }

  #sendJoin(room) {
    const state = this.#rooms.get(room);
    state.joined = false;
    const msg = { type: 'join', room };
    if (state.last !== null) msg.since = state.last;
    this.#send(msg);
  }

  #send(msg) {
    if (this.#socket?.readyState === OPEN) this.#socket.send(JSON.stringify(msg));
  }

  #onMessage(data) {
    if (typeof data !== 'string') return; // the server sends text only
    let frame;
    try {
      frame = JSON.parse(data);
    } catch {
      return;
    }
    if (frame === null || typeof frame !== 'object') return;
    const room = this.#rooms.get(frame.room);
    switch (frame.type) {
      case 'batch':
        if (room) this.#onBatch(frame.room, room, frame);
        break;
      case 'joined':
        if (room) {
          room.joined = true;
          this.#emit('joined', { room: frame.room });
        }
        break;
      case 'left':
        if (!room) this.#emit('left', { room: frame.room });
        break;
      case 'online':
        if (room && Number.isFinite(frame.count)) {
          this.#emit('online', { room: frame.room, count: frame.count });
        }
        break;
      case 'delete':
        if (room && validId(frame.id)) this.#emit('delete', { room: frame.room, id: frame.id });
        break;
      case 'error':
        // A join the server refuses for good would be refused again on
        // every reconnect: stop asking.
        if (room && (frame.code === 'invalid_room' || frame.code === 'too_many_rooms')) {
          this.#rooms.delete(frame.room);
        }
        this.#emit('error', { room: frame.room ?? null, code: frame.code, message: frame.message });
        break;
      default:
      // Unknown types are for newer clients.
    }
  }

  #onBatch(name, room, frame) {
    if (frame.gap === true) {
      room.last = null;
      this.#stats.gaps++;
      this.#emit('gap', { room: name });
    }
    if (Number.isFinite(frame.dropped) && frame.dropped > 0) {
      this.#stats.dropped += frame.dropped;
      this.#emit('dropped', { room: name, count: frame.dropped });
    }
    if (!Array.isArray(frame.msgs)) return;
    // Priority messages come first in a frame, so ids within one frame are
    // not always increasing: a message is new when its id is above the
    // last id from before this frame, and the room's last id becomes the
    // frame's highest.
    const before = room.last;
    for (const msg of frame.msgs) {
      // A listener may leave the room while its messages are delivered.
      if (this.#rooms.get(name) !== room) return;
      if (msg === null || typeof msg !== 'object' || !validId(msg.id)) continue;
      if (before !== null && compareIds(msg.id, before) <= 0) {
        this.#stats.duplicates++;
        continue;
      }
      if (room.last === null || compareIds(msg.id, room.last) > 0) room.last = msg.id;
      this.#emit('message', { room: name, msg });
    }
  }

  // fallBack switches to SSE for good, when the transport is 'auto' and
  // WebSocket failed before it ever opened, and reports whether it did.
  #fallBack() {
    if (!this.#auto || this.#everOpened) return false;
    this.#auto = false;
    this.#transport = 'sse';
    this.#emit('transport', { transport: 'sse' });
    this.#open();
    return true;
  }

  // everOpened is set once a WebSocket of this client opened: from then on
  // a failure is a dropped connection, not a blocked transport.
  #everOpened = false;

  #onClose(code, reason) {
    const lasted = this.#openedAt ? this.#now() - this.#openedAt : 0;
    this.#detach();
    if (lasted === 0 && this.#fallBack()) return;
    const fatal = FATAL_CLOSE_CODES.includes(code);
    this.#emit('close', { code, reason, reconnect: !fatal });
    if (fatal) {
      this.#setState({ state: 'closed', code, reason });
      return;
    }
    if (lasted >= this.#options.stableAfter) this.#attempt = 0;
    const delay = backoffDelay(this.#attempt, this.#options, this.#random);
    this.#attempt++;
    this.#stats.reconnects++;
    this.#retryTimer = this.#setTimeout(() => {
      this.#retryTimer = null;
      this.#open();
    }, delay);
    this.#setState({ state: 'waiting', delay, retryAt: this.#now() + delay, code, reason });
  }

  // detach forgets the current socket: its late events are ignored.
  #detach() {
    this.#clearConnectTimer();
    const socket = this.#socket;
    this.#socket = null;
    if (socket) socket.onopen = socket.onmessage = socket.onclose = null;
    for (const room of this.#rooms.values()) room.joined = false;
  }

  // openSource opens room's EventSource, resuming after its last id.
  #openSource(room) {
    this.#closeSource(room);
    const state = this.#rooms.get(room);
    state.joined = false;
    const url = new URL(this.#sseUrl);
    url.searchParams.set('room', room);
    if (state.last !== null) url.searchParams.set('since', state.last);
    let source;
    try {
      source = new this.#EventSource(url.href);
    } catch (err) {
      this.#setState({ state: 'closed', code: 0, reason: String(err) });
      this.#emit('close', { code: 0, reason: String(err), reconnect: false });
      return;
    }
    this.#sources.set(room, source);
    const current = () => this.#sources.get(room) === source;
    source.onopen = () => {
      if (!current()) return;
      this.#openedAt = this.#now();
      this.#attempt = 0;
      if (this.#state !== 'open') this.#setState({ state: 'open' });
    };
    source.onmessage = (event) => current() && this.#onMessage(event.data);
    source.onerror = () => {
      if (!current()) return;
      state.joined = false;
      if (source.readyState !== 2) {
        // The browser reconnects on its own, with Last-Event-ID.
        if (this.#state === 'open') this.#setState({ state: 'connecting' });
        return;
      }
      // It gave up (an HTTP error, such as 503): try again after the
      // backoff, from the last id delivered.
      this.#closeSource(room);
      this.#emit('close', { code: 1006, reason: 'event stream failed', reconnect: true });
      const delay = backoffDelay(this.#attempt, this.#options, this.#random);
      this.#attempt++;
      this.#stats.reconnects++;
      const timer = this.#setTimeout(() => {
        this.#retries.delete(room);
        this.#openSource(room);
      }, delay);
      this.#retries.set(room, timer);
      this.#setState({ state: 'waiting', delay, retryAt: this.#now() + delay, code: 1006, reason: 'event stream failed' });
    };
  }

  // closeSource closes room's EventSource and cancels its pending retry.
  #closeSource(room) {
    const source = this.#sources.get(room);
    if (source) {
      this.#sources.delete(room);
      source.onopen = source.onmessage = source.onerror = null;
      source.close();
    }
    if (this.#retries.has(room)) {
      this.#clearTimeout(this.#retries.get(room));
      this.#retries.delete(room);
    }
  }

  #clearConnectTimer() {
    if (this.#connectTimer !== null) {
      this.#clearTimeout(this.#connectTimer);
      this.#connectTimer = null;
    }
  }

  #cancelRetry() {
    if (this.#retryTimer !== null) {
      this.#clearTimeout(this.#retryTimer);
      this.#retryTimer = null;
    }
  }
}
