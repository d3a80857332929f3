// The client in Node, with the ws package, against a real `danmu serve`:
// live delivery, and a resume across a server restart that picks up what
// was posted while the client was away.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';

import { DanmuClient } from '../client/danmu.js';
import { Server, build, waitFor } from '../testutil/server.js';

let server;

before(async () => {
  build();
  server = await Server.onFreePorts();
  await server.start();
});

after(async () => {
  await server?.stop();
});

// gatedTimers are real timers that the test can hold back: while holding,
// new timers wait in held until release starts them.
function gatedTimers() {
  const gate = {
    holding: false,
    held: [],
    setTimeout(fn, ms) {
      if (!gate.holding) return setTimeout(fn, ms);
      const timer = { fn, cancelled: false };
      gate.held.push(timer);
      return timer;
    },
    clearTimeout(timer) {
      if (timer && typeof timer === 'object' && 'cancelled' in timer) timer.cancelled = true;
      else clearTimeout(timer);
    },
    release() {
      gate.holding = false;
      for (const timer of gate.held.splice(0)) {
        if (!timer.cancelled) setTimeout(timer.fn, 0);
      }
    },
  };
  return gate;
}

test('watches a room with the ws package and resumes across a server restart', async () => {
  const room = `node-${process.pid}`;
  const gate = gatedTimers();
  const client = new DanmuClient({
    url: server.wsURL,
    WebSocket,
    setTimeout: gate.setTimeout,
    clearTimeout: gate.clearTimeout,
  });
  const texts = [];
  const closes = [];
  client.on('message', ({ room: r, msg }) => {
    assert.equal(r, room);
    texts.push(msg.text);
  });
  client.on('close', (c) => closes.push(c));
  try {
    client.join(room);
    client.connect();
    await waitFor(() => client.joined(room), { what: 'joined' });

    const first = await server.post(room, { text: 'before the restart' });
    await waitFor(() => texts.length === 1, { what: 'the first comment' });
    assert.equal(client.lastId(room), first.id);

    // The server shuts down (close 1001); hold the client's reconnect
    // until a comment has been posted to the restarted, empty server.
    gate.holding = true;
    await server.stop('SIGTERM');
    await waitFor(() => client.state === 'waiting', { what: 'the client to wait for a reconnect' });
    assert.equal(closes.at(-1).code, 1001);
    assert.equal(closes.at(-1).reconnect, true);
    await server.start();
    await server.post(room, { text: 'posted while away' });
    assert.equal(client.state, 'waiting', 'the client reconnected before the comment was posted');
    gate.release();

    await waitFor(() => texts.length === 2, { what: 'the comment posted while away' });
    assert.equal(client.state, 'open');
    await server.post(room, { text: 'live again' });
    await waitFor(() => texts.length === 3, { what: 'the live comment after the resume' });
    assert.deepEqual(texts, ['before the restart', 'posted while away', 'live again']);
  } finally {
    client.close();
  }
});
