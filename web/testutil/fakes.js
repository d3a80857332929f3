// Fakes for the client's unit tests: a WebSocket the test drives by hand
// and a clock whose timers run only when the test advances it.

/**
 * FakeSocket stands in for a WebSocket. The test plays the server: open,
 * receive and drop fire the socket's handlers the way a browser would.
 */
export class FakeSocket {
  static instances = [];

  static reset() {
    FakeSocket.instances = [];
  }

  /** last returns the newest socket the client created. */
  static last() {
    return FakeSocket.instances.at(-1);
  }

  constructor(url) {
    this.url = url;
    this.readyState = 0;
    this.sent = [];
    this.closedWith = [];
    this.onopen = this.onmessage = this.onclose = this.onerror = null;
    FakeSocket.instances.push(this);
  }

  send(data) {
    if (this.readyState !== 1) throw new Error('FakeSocket: send while not open');
    this.sent.push(JSON.parse(data));
  }

  close(code) {
    this.closedWith.push(code);
    this.readyState = 2;
  }

  open() {
    this.readyState = 1;
    this.onopen?.({ type: 'open' });
  }

  receive(frame) {
    this.onmessage?.({ data: typeof frame === 'string' ? frame : JSON.stringify(frame) });
  }

  drop(code = 1006, reason = '') {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }
}

/**
 * FakeEventSource stands in for an EventSource: open, receive and fail
 * fire its handlers the way a browser would.
 */
export class FakeEventSource {
  static instances = [];

  static reset() {
    FakeEventSource.instances = [];
  }

  /** live returns the sources not closed, by room. */
  static live() {
    return Object.fromEntries(
      FakeEventSource.instances.filter((s) => s.readyState !== 2).map((s) => [new URL(s.url).searchParams.get('room'), s]),
    );
  }

  constructor(url) {
    this.url = url;
    this.readyState = 0;
    this.onopen = this.onmessage = this.onerror = null;
    FakeEventSource.instances.push(this);
  }

  close() {
    this.readyState = 2;
  }

  open() {
    this.readyState = 1;
    this.onopen?.({ type: 'open' });
  }

  receive(event) {
    this.onmessage?.({ data: JSON.stringify(event) });
  }

  /** fail reports an error: the browser retries (retrying) or gives up. */
  fail({ retrying }) {
    this.readyState = retrying ? 0 : 2;
    this.onerror?.({ type: 'error' });
  }
}

/**
 * FakeClock keeps time for the client: its timers fire, in order, only
 * within advance.
 */
export class FakeClock {
  constructor(start = 1_000_000) {
    this.time = start;
    this.timers = new Map();
    this.nextId = 1;
    this.setTimeout = (fn, ms) => {
      const id = this.nextId++;
      this.timers.set(id, { at: this.time + ms, fn });
      return id;
    };
    this.clearTimeout = (id) => this.timers.delete(id);
    this.now = () => this.time;
  }

  /** advance moves time forward by ms, firing the timers due meanwhile. */
  advance(ms) {
    const end = this.time + ms;
    for (;;) {
      let next = null;
      for (const [id, timer] of this.timers) {
        if (timer.at <= end && (next === null || timer.at < next[1].at)) next = [id, timer];
      }
      if (next === null) break;
      this.timers.delete(next[0]);
      this.time = next[1].at;
      next[1].fn();
    }
    this.time = end;
  }

  /** pending returns the delays, from now, of the timers not yet fired. */
  pending() {
    return [...this.timers.values()].map((t) => t.at - this.time).sort((a, b) => a - b);
  }
}

/** message returns a message object of the protocol with id. */
export function message(id, text = `text of ${id}`) {
  return { id, uid: 'u', name: 'n', text, color: '#ffffff', mode: 'scroll', ts: Number(id.split('-')[0]) };
}
