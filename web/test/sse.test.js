// Unit tests of DanmuClient over Server-Sent Events: the fallback when
// WebSocket fails, max_rate, and how event streams are resumed.
import { test, beforeEach } from 'node:test';
import assert from 'node:assert/strict';

import { DanmuClient } from '../client/danmu.js';
import { FakeClock, FakeEventSource, FakeSocket, message } from '../testutil/fakes.js';

let clock;

beforeEach(() => {
  FakeSocket.reset();
  FakeEventSource.reset();
  clock = new FakeClock();
});

function newClient(options = {}) {
  const client = new DanmuClient({
    url: 'ws://127.0.0.1:7070/ws?token=t',
    WebSocket: FakeSocket,
    EventSource: FakeEventSource,
    setTimeout: clock.setTimeout,
    clearTimeout: clock.clearTimeout,
    now: clock.now,
    random: () => 0,
    ...options,
  });
  const events = [];
  for (const type of ['state', 'message', 'joined', 'left', 'gap', 'dropped', 'close', 'transport']) {
    client.on(type, (detail) => events.push({ type, ...detail }));
  }
  const of = (type) => events.filter((e) => e.type === type);
  return { client, events, of };
}

const query = (source) => Object.fromEntries(new URL(source.url).searchParams);

test('falls back to SSE for good when the WebSocket fails before it opens', () => {
  const { client, of } = newClient();
  client.join('a');
  client.join('b', { since: '5-0' });
  client.connect();
  assert.equal(client.transport, 'websocket');
  FakeSocket.last().drop(1006);
  assert.equal(client.transport, 'sse');
  assert.deepEqual(of('transport'), [{ type: 'transport', transport: 'sse' }]);
  const { a, b } = FakeEventSource.live();
  assert.equal(new URL(a.url).origin + new URL(a.url).pathname, 'http://127.0.0.1:7070/sse');
  assert.deepEqual(query(a), { token: 't', room: 'a' });
  assert.deepEqual(query(b), { token: 't', room: 'b', since: '5-0' });
  a.open();
  assert.equal(client.state, 'open');
  a.receive({ type: 'joined', room: 'a' });
  assert.ok(client.joined('a'));
  a.receive({ type: 'batch', room: 'a', msgs: [message('7-0'), message('8-0')] });
  b.receive({ type: 'batch', room: 'b', msgs: [message('5-0'), message('6-0')] });
  assert.deepEqual(of('message').map((e) => `${e.room}/${e.msg.id}`), ['a/7-0', 'a/8-0', 'b/6-0']);
  assert.equal(FakeSocket.instances.length, 1, 'no WebSocket after the fallback');
});

test('a connect timeout falls back too', () => {
  const { client } = newClient({ connectTimeout: 1000 });
  client.join('a');
  client.connect();
  clock.advance(1000);
  assert.equal(client.transport, 'sse');
  assert.ok(FakeEventSource.live().a);
});

test('a WebSocket that opened once never falls back: its drops are retried', () => {
  const { client, of } = newClient();
  client.join('a');
  client.connect();
  FakeSocket.last().open();
  FakeSocket.last().drop(1006);
  clock.advance(60000);
  FakeSocket.last().drop(1006);
  assert.equal(client.transport, 'websocket');
  assert.equal(FakeEventSource.instances.length, 0);
  assert.equal(of('transport').length, 0);
});

test("transport 'websocket' never falls back; without EventSource neither does 'auto'", () => {
  for (const options of [{ transport: 'websocket' }, { EventSource: undefined }]) {
    const saved = globalThis.EventSource;
    delete globalThis.EventSource;
    try {
      const { client } = newClient(options);
      client.join('a');
      client.connect();
      FakeSocket.last().drop(1006);
      assert.equal(client.transport, 'websocket');
      assert.equal(client.state, 'waiting');
    } finally {
      if (saved) globalThis.EventSource = saved;
    }
  }
});

test('maxRate asks both transports for a thinned stream', () => {
  const { client } = newClient({ maxRate: 5 });
  client.join('a');
  client.connect();
  assert.equal(new URL(FakeSocket.last().url).searchParams.get('max_rate'), '5');
  FakeSocket.last().drop(1006);
  assert.equal(query(FakeEventSource.live().a).max_rate, '5');
  assert.throws(() => newClient({ maxRate: -1 }), TypeError);
  assert.throws(() => newClient({ maxRate: 2.5 }), TypeError);
  assert.throws(() => newClient({ transport: 'carrier-pigeon' }), TypeError);
  assert.throws(() => newClient({ sseUrl: 'ftp://x/sse' }), TypeError);
});

test("transport 'sse' uses EventSource only; join and leave open and close streams", () => {
  const { client, of } = newClient({ transport: 'sse', sseUrl: 'https://edge.example/sse' });
  client.join('a');
  client.connect();
  assert.equal(FakeSocket.instances.length, 0);
  const { a } = FakeEventSource.live();
  assert.equal(a.url, 'https://edge.example/sse?room=a');
  a.open();
  client.join('b');
  assert.ok(FakeEventSource.live().b);
  client.leave('a');
  assert.equal(a.readyState, 2);
  assert.deepEqual(Object.keys(FakeEventSource.live()), ['b']);
  assert.deepEqual(of('left'), [{ type: 'left', room: 'a' }]);
  client.close();
  assert.deepEqual(FakeEventSource.live(), {});
  assert.equal(client.state, 'closed');
});

test('the browser resumes a stream itself; one it gives up on is reopened after the backoff, from the last id', () => {
  const { client, of } = newClient({ transport: 'sse', minDelay: 500 });
  client.join('a');
  client.connect();
  const first = FakeEventSource.live().a;
  first.open();
  first.receive({ type: 'batch', room: 'a', msgs: [message('9-0')] });
  // The browser retries with Last-Event-ID: same EventSource.
  first.fail({ retrying: true });
  assert.equal(client.state, 'connecting');
  first.open();
  first.receive({ type: 'batch', room: 'a', msgs: [message('9-0'), message('10-0')] });
  assert.deepEqual(of('message').map((e) => e.msg.id), ['9-0', '10-0'], 'no duplicate');
  assert.equal(FakeEventSource.instances.length, 1);
  // It gives up (an HTTP error): a new one after the backoff, since=10-0.
  first.fail({ retrying: false });
  assert.equal(client.state, 'waiting');
  assert.deepEqual(clock.pending(), [500]);
  clock.advance(500);
  const second = FakeEventSource.live().a;
  assert.notEqual(second, first);
  assert.equal(query(second).since, '10-0');
  // Events of the old one are ignored.
  first.receive({ type: 'batch', room: 'a', msgs: [message('11-0')] });
  assert.equal(of('message').length, 2);
  // close cancels a pending retry.
  second.fail({ retrying: false });
  client.close();
  clock.advance(60000);
  assert.equal(FakeEventSource.instances.length, 2);
});
