// Unit tests of DanmuClient's connection, reconnect and resume logic,
// against a fake WebSocket and a fake clock.
import { test, beforeEach } from 'node:test';
import assert from 'node:assert/strict';

import { DanmuClient, FATAL_CLOSE_CODES } from '../client/danmu.js';
import { FakeClock, FakeSocket, message } from '../testutil/fakes.js';

const URL = 'ws://127.0.0.1:7070/ws';

let clock;

beforeEach(() => {
  FakeSocket.reset();
  clock = new FakeClock();
});

// newClient returns a client on the fake socket and clock, with no jitter
// (random 0 gives the full base delay) unless options say otherwise, and
// records its events.
function newClient(options = {}) {
  const client = new DanmuClient({
    url: URL,
    WebSocket: FakeSocket,
    setTimeout: clock.setTimeout,
    clearTimeout: clock.clearTimeout,
    now: clock.now,
    random: () => 0,
    ...options,
  });
  const events = [];
  for (const type of ['state', 'message', 'joined', 'left', 'gap', 'dropped', 'online', 'delete', 'error', 'close']) {
    client.on(type, (detail) => events.push({ type, ...detail }));
  }
  const of = (type) => events.filter((e) => e.type === type);
  const texts = () => of('message').map((e) => `${e.room}/${e.msg.id}`);
  return { client, events, of, texts };
}

// connectOpen connects and opens the socket, and answers every join.
function connectOpen(client) {
  client.connect();
  const socket = FakeSocket.last();
  socket.open();
  for (const m of socket.sent) {
    if (m.type === 'join') socket.receive({ type: 'joined', room: m.room });
  }
  return socket;
}

test('joins every room on open, with since when one is known', () => {
  const { client, of } = newClient();
  client.join('a');
  client.join('b', { since: '1700000000000-3' });
  const socket = connectOpen(client);
  assert.equal(socket.url, URL);
  assert.deepEqual(socket.sent, [
    { type: 'join', room: 'a' },
    { type: 'join', room: 'b', since: '1700000000000-3' },
  ]);
  assert.deepEqual(
    of('joined').map((e) => e.room),
    ['a', 'b'],
  );
  assert.ok(client.joined('a'));
  assert.equal(client.state, 'open');

  client.join('c');
  assert.deepEqual(socket.sent.at(-1), { type: 'join', room: 'c' });
});

test('delivers each message once, in id order, comparing ids numerically', () => {
  const { client, texts, of } = newClient();
  client.join('r');
  const socket = connectOpen(client);
  socket.receive({ type: 'batch', room: 'r', msgs: [message('999-0'), message('999-1')] });
  // "1000-0" < "999-1" as strings, but later as a number.
  socket.receive({ type: 'batch', room: 'r', msgs: [message('999-1'), message('1000-0')] });
  socket.receive({ type: 'batch', room: 'r', msgs: [message('998-7'), message('1000-0'), message('1000-2')] });
  assert.deepEqual(texts(), ['r/999-0', 'r/999-1', 'r/1000-0', 'r/1000-2']);
  assert.equal(client.lastId('r'), '1000-2');
  assert.equal(client.stats.duplicates, 3);
  assert.equal(of('message')[0].msg.text, 'text of 999-0');
});

test('a frame with a priority message first delivers every new message', () => {
  const { client, texts } = newClient();
  client.join('r');
  const socket = connectOpen(client);
  socket.receive({ type: 'batch', room: 'r', msgs: [message('10-0')] });
  // The server puts priority messages first: ids within a frame may fall.
  socket.receive({ type: 'batch', room: 'r', msgs: [message('10-2'), message('10-1'), message('10-3')] });
  socket.receive({ type: 'batch', room: 'r', msgs: [message('10-3'), message('10-4')] });
  assert.deepEqual(texts(), ['r/10-0', 'r/10-2', 'r/10-1', 'r/10-3', 'r/10-4']);
  assert.equal(client.lastId('r'), '10-4');
});

test('keeps a last id per room', () => {
  const { client, texts } = newClient();
  client.join('a');
  client.join('b');
  const socket = connectOpen(client);
  socket.receive({ type: 'batch', room: 'a', msgs: [message('500-0')] });
  socket.receive({ type: 'batch', room: 'b', msgs: [message('400-0')] });
  assert.deepEqual(texts(), ['a/500-0', 'b/400-0']);
  assert.equal(client.lastId('a'), '500-0');
  assert.equal(client.lastId('b'), '400-0');
});

test('a since given to join is never delivered again', () => {
  const { client, texts } = newClient();
  client.join('r', { since: '100-5' });
  const socket = connectOpen(client);
  socket.receive({ type: 'batch', room: 'r', msgs: [message('100-4'), message('100-5'), message('100-6')] });
  assert.deepEqual(texts(), ['r/100-6']);
});

test('reconnects after a dropped connection and resumes each room with since', () => {
  const { client, texts, of } = newClient();
  client.join('a');
  client.join('b');
  client.join('quiet');
  const first = connectOpen(client);
  first.receive({ type: 'batch', room: 'a', msgs: [message('10-0'), message('11-0')] });
  first.receive({ type: 'batch', room: 'b', msgs: [message('20-0')] });

  first.drop(1006);
  assert.equal(client.state, 'waiting');
  assert.deepEqual(of('close').at(-1), { type: 'close', code: 1006, reason: '', reconnect: true });
  assert.equal(FakeSocket.instances.length, 1);
  clock.advance(499);
  assert.equal(FakeSocket.instances.length, 1, 'reconnected before the backoff delay');
  clock.advance(1);
  assert.equal(FakeSocket.instances.length, 2);

  const second = FakeSocket.last();
  second.open();
  assert.deepEqual(second.sent, [
    { type: 'join', room: 'a', since: '11-0' },
    { type: 'join', room: 'b', since: '20-0' },
    { type: 'join', room: 'quiet' },
  ]);
  // The server replays after since; a message it repeats is not delivered twice.
  second.receive({ type: 'joined', room: 'a' });
  second.receive({ type: 'batch', room: 'a', msgs: [message('11-0'), message('12-0')] });
  assert.deepEqual(texts(), ['a/10-0', 'a/11-0', 'b/20-0', 'a/12-0']);
  assert.equal(client.state, 'open');
});

test('backs off exponentially with jitter up to maxDelay', () => {
  const draws = [0, 1, 0.5, 0, 0, 0, 0, 0];
  const { client, of } = newClient({ random: () => draws.shift() ?? 0, minDelay: 100, maxDelay: 1000, jitter: 0.5 });
  client.join('r');
  client.connect();
  for (let i = 0; i < 7; i++) {
    FakeSocket.last().drop(1006);
    const delay = of('state').at(-1).delay;
    clock.advance(delay);
  }
  const delays = of('state')
    .filter((s) => s.state === 'waiting')
    .map((s) => s.delay);
  // Bases 100, 200, 400, 800, 1000, 1000, 1000; jitter takes off up to half.
  assert.deepEqual(delays, [100, 100, 300, 800, 1000, 1000, 1000]);
  assert.equal(client.stats.reconnects, 7);
  const first = of('state').find((s) => s.state === 'waiting');
  assert.equal(first.retryAt, 1_000_000 + 100);
});

test('jittered delays stay within [base*(1-jitter), base]', () => {
  const { client, of } = newClient({ random: Math.random, minDelay: 1000, maxDelay: 8000, jitter: 0.5 });
  client.connect();
  for (let i = 0; i < 20; i++) {
    FakeSocket.last().drop(1006);
    const { delay } = of('state').at(-1);
    const base = Math.min(8000, 1000 * 2 ** i);
    assert.ok(delay >= base / 2 && delay <= base, `attempt ${i}: delay ${delay} outside [${base / 2}, ${base}]`);
    clock.advance(delay);
  }
});

test('a connection that lasted starts the backoff over; a short one does not', () => {
  const { client, of } = newClient({ minDelay: 100, stableAfter: 5000 });
  client.connect();
  const delays = () => of('state').filter((s) => s.state === 'waiting').map((s) => s.delay);

  FakeSocket.last().drop(1006); // never opened
  clock.advance(100);
  FakeSocket.last().open();
  clock.advance(1000);
  FakeSocket.last().drop(1013); // open 1 s: not stable
  clock.advance(200);
  FakeSocket.last().open();
  clock.advance(5000);
  FakeSocket.last().drop(1001); // open 5 s: stable
  assert.deepEqual(delays(), [100, 200, 100]);
});

test('reconnects after 1001 and 1013 and any close not known to be fatal', () => {
  for (const code of [1000, 1001, 1005, 1006, 1011, 1012, 1013, 4000]) {
    FakeSocket.reset();
    const { client, of } = newClient();
    const socket = connectOpen(client);
    socket.drop(code, 'bye');
    assert.equal(client.state, 'waiting', `after close ${code}`);
    assert.equal(of('close').at(-1).reconnect, true);
    clock.advance(500);
    assert.equal(FakeSocket.instances.length, 2, `no reconnect after ${code}`);
  }
});

test('does not reconnect after a fatal close code', () => {
  assert.deepEqual([...FATAL_CLOSE_CODES], [1002, 1003, 1007, 1008, 1009]);
  for (const code of FATAL_CLOSE_CODES) {
    FakeSocket.reset();
    const { client, of } = newClient();
    client.join('r');
    const socket = connectOpen(client);
    socket.drop(code, 'policy');
    assert.equal(client.state, 'closed', `after close ${code}`);
    assert.deepEqual(of('close').at(-1), { type: 'close', code, reason: 'policy', reconnect: false });
    assert.deepEqual(of('state').at(-1).code, code);
    assert.deepEqual(clock.pending(), [], `a timer is left after ${code}`);
    clock.advance(600000);
    assert.equal(FakeSocket.instances.length, 1, `reconnected after ${code}`);
  }
});

test('connect after a fatal close starts again, keeping the rooms and their last ids', () => {
  const { client } = newClient();
  client.join('r');
  const socket = connectOpen(client);
  socket.receive({ type: 'batch', room: 'r', msgs: [message('5-0')] });
  socket.drop(1008);
  client.connect();
  FakeSocket.last().open();
  assert.deepEqual(FakeSocket.last().sent, [{ type: 'join', room: 'r', since: '5-0' }]);
});

test('a gap resets the last id: lower ids after a server restart are delivered', () => {
  const { client, texts, of } = newClient();
  client.join('r');
  const first = connectOpen(client);
  first.receive({ type: 'batch', room: 'r', msgs: [message('2000-0'), message('2000-1')] });
  first.drop(1006);
  clock.advance(500);

  // The restarted server's log ends before since: it says so with a gap,
  // and its ids are lower than the ones seen before.
  const second = FakeSocket.last();
  second.open();
  assert.deepEqual(second.sent, [{ type: 'join', room: 'r', since: '2000-1' }]);
  second.receive({ type: 'joined', room: 'r' });
  second.receive({ type: 'batch', room: 'r', msgs: [], gap: true });
  assert.equal(client.lastId('r'), null);
  second.receive({ type: 'batch', room: 'r', msgs: [message('1500-0')] });
  second.receive({ type: 'batch', room: 'r', msgs: [message('1500-0'), message('1600-0')] });
  assert.deepEqual(texts(), ['r/2000-0', 'r/2000-1', 'r/1500-0', 'r/1600-0']);
  assert.deepEqual(of('gap'), [{ type: 'gap', room: 'r' }]);
  assert.equal(client.stats.gaps, 1);

  // The gap frame may carry messages: they are delivered too.
  second.receive({ type: 'batch', room: 'r', msgs: [message('3-0'), message('4-0')], gap: true });
  assert.deepEqual(texts().slice(-2), ['r/3-0', 'r/4-0']);
  assert.equal(client.lastId('r'), '4-0');
});

test('a room that saw no message since a gap rejoins live only', () => {
  const { client } = newClient();
  client.join('r', { since: '9-0' });
  const socket = connectOpen(client);
  socket.receive({ type: 'batch', room: 'r', msgs: [], gap: true });
  socket.drop(1006);
  clock.advance(500);
  FakeSocket.last().open();
  assert.deepEqual(FakeSocket.last().sent, [{ type: 'join', room: 'r' }]);
});

test('reports dropped counts and routes online and delete messages', () => {
  const { client, of } = newClient();
  client.join('r');
  const socket = connectOpen(client);
  socket.receive({ type: 'batch', room: 'r', msgs: [message('1-0')], dropped: 37 });
  socket.receive({ type: 'online', room: 'r', count: 12 });
  socket.receive({ type: 'delete', room: 'r', id: '1-0' });
  socket.receive({ type: 'online', room: 'other', count: 1 });
  socket.receive({ type: 'something-new', room: 'r' });
  assert.deepEqual(of('dropped'), [{ type: 'dropped', room: 'r', count: 37 }]);
  assert.deepEqual(of('online'), [{ type: 'online', room: 'r', count: 12 }]);
  assert.deepEqual(of('delete'), [{ type: 'delete', room: 'r', id: '1-0' }]);
  assert.equal(client.stats.dropped, 37);
});

test('ignores frames that are not JSON objects, and messages without a valid id', () => {
  const { client, texts } = newClient();
  client.join('r');
  const socket = connectOpen(client);
  for (const bad of ['', 'not json', 'null', '[1]', '"s"', '{"type":"batch","room":"r","msgs":5}']) {
    socket.receive(bad);
  }
  socket.receive({ type: 'batch', room: 'r', msgs: [null, { id: 5 }, { id: '1-x' }, message('7-0')] });
  assert.deepEqual(texts(), ['r/7-0']);
  assert.equal(client.state, 'open');
});

test('leave stops watching: no frames delivered, no rejoin on reconnect', () => {
  const { client, texts, of } = newClient();
  client.join('a');
  client.join('b');
  const socket = connectOpen(client);
  client.leave('a');
  assert.deepEqual(socket.sent.at(-1), { type: 'leave', room: 'a' });
  socket.receive({ type: 'batch', room: 'a', msgs: [message('1-0')] });
  socket.receive({ type: 'left', room: 'a' });
  assert.deepEqual(of('left'), [{ type: 'left', room: 'a' }]);
  assert.deepEqual(texts(), []);
  assert.deepEqual(client.rooms, ['b']);
  socket.drop(1006);
  clock.advance(500);
  FakeSocket.last().open();
  assert.deepEqual(FakeSocket.last().sent, [{ type: 'join', room: 'b' }]);
});

test('a listener may leave the room while its messages are delivered', () => {
  const { client, texts } = newClient();
  client.join('r');
  const socket = connectOpen(client);
  client.on('message', ({ msg }) => {
    if (msg.id === '2-0') client.leave('r');
  });
  socket.receive({ type: 'batch', room: 'r', msgs: [message('1-0'), message('2-0'), message('3-0')] });
  assert.deepEqual(texts(), ['r/1-0', 'r/2-0']);
});

test('a listener that throws does not stop delivery', (t) => {
  const errors = [];
  t.mock.method(console, 'error', (err) => errors.push(err));
  const { client, texts } = newClient();
  client.on('message', () => {
    throw new Error('listener bug');
  });
  client.join('r');
  const socket = connectOpen(client);
  socket.receive({ type: 'batch', room: 'r', msgs: [message('1-0'), message('2-0')] });
  assert.deepEqual(texts(), ['r/1-0', 'r/2-0']);
  assert.equal(errors.length, 2);
});

test('close stops for good: no reconnect, pending retry cancelled', () => {
  const { client, of } = newClient();
  const socket = connectOpen(client);
  client.close();
  assert.deepEqual(socket.closedWith, [1000]);
  assert.equal(client.state, 'closed');
  socket.drop(1000); // the late close event of the closed socket is ignored
  assert.equal(of('close').length, 0);
  assert.deepEqual(clock.pending(), []);

  client.connect();
  FakeSocket.last().drop(1006);
  assert.equal(clock.pending().length, 1);
  client.close();
  assert.deepEqual(clock.pending(), []);
  clock.advance(600000);
  assert.equal(FakeSocket.instances.length, 2);
});

test('connect while waiting reconnects at once', () => {
  const { client } = newClient({ minDelay: 10000 });
  connectOpen(client).drop(1006);
  assert.equal(client.state, 'waiting');
  client.connect();
  assert.equal(FakeSocket.instances.length, 2);
  assert.equal(client.state, 'connecting');
  assert.deepEqual(clock.pending(), [10000], 'only the connect timeout is pending');
  client.connect();
  assert.equal(FakeSocket.instances.length, 2, 'connect while connecting opened another socket');
});

test('a connection that does not open in time is abandoned and retried', () => {
  const { client, of } = newClient({ connectTimeout: 3000 });
  client.connect();
  const stuck = FakeSocket.last();
  clock.advance(2999);
  assert.equal(client.state, 'connecting');
  clock.advance(1);
  assert.deepEqual(stuck.closedWith, [undefined]);
  assert.equal(client.state, 'waiting');
  assert.equal(of('close').at(-1).reason, 'connect timeout');
  stuck.open(); // too late: ignored
  assert.equal(client.state, 'waiting');
  clock.advance(500);
  assert.equal(FakeSocket.instances.length, 2);
});

test('events of a replaced socket are ignored', () => {
  const { client, texts } = newClient();
  client.join('r');
  const old = connectOpen(client);
  old.drop(1006);
  clock.advance(500);
  const current = FakeSocket.last();
  current.open();
  old.receive({ type: 'batch', room: 'r', msgs: [message('1-0')] });
  old.drop(1006);
  assert.deepEqual(texts(), []);
  assert.equal(client.state, 'open');
});

test('a join refused for good is not retried', () => {
  const { client, of } = newClient();
  client.join('r');
  client.join('s');
  const socket = connectOpen(client);
  socket.receive({ type: 'error', room: 's', code: 'too_many_rooms', message: 'already watching 8 rooms' });
  assert.deepEqual(of('error'), [{ type: 'error', room: 's', code: 'too_many_rooms', message: 'already watching 8 rooms' }]);
  assert.deepEqual(client.rooms, ['r']);
  socket.receive({ type: 'error', code: 'unknown_type', message: 'no type' });
  assert.equal(of('error').at(-1).room, null);
});

test('join and leave before connect are remembered without sending', () => {
  const { client } = newClient();
  client.join('a');
  client.join('b');
  client.leave('a');
  client.join('b');
  const socket = connectOpen(client);
  assert.deepEqual(socket.sent, [{ type: 'join', room: 'b' }]);
});

test('rejects invalid rooms, ids and urls', () => {
  const { client } = newClient();
  for (const room of ['', 'a b', 'x'.repeat(65), 'é', null, 5]) {
    assert.throws(() => client.join(room), TypeError, `join(${JSON.stringify(room)})`);
  }
  for (const since of ['', 'abc', '1-', '-1', '1-2-3', 5]) {
    assert.throws(() => client.join('r', { since }), TypeError, `since ${JSON.stringify(since)}`);
  }
  assert.throws(() => new DanmuClient({ url: 'http://x/ws', WebSocket: FakeSocket }), TypeError);
  assert.throws(() => new DanmuClient({ url: 'not a url', WebSocket: FakeSocket }), TypeError);
  assert.throws(() => new DanmuClient({ url: URL, WebSocket: 'nope' }), TypeError);
});

test('a WebSocket constructor that throws closes the client', () => {
  const { client, of } = newClient({
    WebSocket: class {
      constructor() {
        throw new Error('blocked');
      }
    },
  });
  client.connect();
  assert.equal(client.state, 'closed');
  assert.equal(of('close').at(-1).reconnect, false);
});
