// End-to-end tests of Server-Sent Events in headless Chromium: the
// browser's own EventSource resuming across an edge restart, and the demo
// page falling back to SSE when the WebSocket port is blocked, with its
// data saver. Two `bin/danmu serve` share the test Redis (127.0.0.1:6379,
// `make test-deps`), so that comments can be posted, and kept, while the
// edge the browser watches is down.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

import { Server, build, freePort, waitFor } from '../testutil/server.js';

const out = path.join(path.dirname(fileURLToPath(import.meta.url)), 'out', 'sse');
const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';
const WAIT_MS = 15000;
const redis = ['--redis=127.0.0.1:6379', `--redis-prefix=e2e-sse-${process.pid}:`];

let edge; // the edge the browser watches, restarted by a test
let other; // another node on the same Redis, to post while edge is down
let browser;

before(async () => {
  mkdirSync(out, { recursive: true });
  build();
  edge = await Server.onFreePorts({ logDir: out, args: redis });
  other = await Server.onFreePorts({ logDir: path.join(out, 'other'), args: redis });
  await edge.start();
  await other.start();
  browser = await chromium.launch({ executablePath, args: ['--no-sandbox', '--headless', '--disable-gpu', '--no-first-run'], headless: true });
});

after(async () => {
  await browser?.close();
  await edge?.stop();
  await other?.stop();
});

test("the browser's EventSource resumes with Last-Event-ID across an edge restart, without loss or duplicates", async () => {
  const room = `sse-restart-${process.pid}`;
  const context = await browser.newContext();
  const page = await context.newPage();
  const requests = [];
  context.on('request', (req) => {
    if (req.url().includes('/sse')) requests.push(req.allHeaders().then((h) => h['last-event-id'] ?? ''));
  });
  await page.goto(`${edge.httpURL}/config.json`);
  // One EventSource for the whole test: its reconnects are the browser's.
  await page.evaluate((url) => {
    window.got = [];
    window.opens = 0;
    window.joins = 0;
    const source = new EventSource(url);
    source.onopen = () => window.opens++;
    source.onmessage = (e) => {
      const frame = JSON.parse(e.data);
      if (frame.type === 'joined') window.joins++;
      if (frame.type === 'batch') window.got.push(...frame.msgs.map((m) => m.id));
    };
  }, `${edge.sseURL}?room=${room}`);
  // Live once joined: comments posted from then on reach it.
  await waitFor(() => page.evaluate(() => window.joins === 1), { what: 'the event stream to join' });
  const ids = async (server, texts) => {
    const out = [];
    for (const text of texts) out.push((await server.post(room, { text })).id);
    return out;
  };
  const want = await ids(other, ['one', 'two', 'three']);
  await waitFor(() => page.evaluate((n) => window.got.length >= n, want.length), { what: 'the first comments' });

  await edge.stop();
  want.push(...(await ids(other, ['posted while the edge was down', 'and another'])));
  await edge.start();
  await waitFor(() => page.evaluate(() => window.opens === 2), { timeout: WAIT_MS, what: 'the browser to reconnect' });
  want.push(...(await ids(edge, ['after the restart'])));
  await waitFor(() => page.evaluate((n) => window.got.length >= n, want.length), { timeout: WAIT_MS, what: 'every comment' });
  await page.waitForTimeout(300);
  assert.deepEqual(await page.evaluate(() => window.got), want, 'comments lost, repeated or out of order');
  const sent = await Promise.all(requests);
  assert.ok(sent.length >= 2 && sent[0] === '' && sent.at(-1) === want[2], `Last-Event-ID of the requests: ${JSON.stringify(sent)}; want none, then ${want[2]}`);
  await context.close();
});

test('the demo page falls back to SSE when the WebSocket port is blocked, and its data saver thins the stream', async () => {
  const room = `sse-fallback-${process.pid}`;
  const blocked = `ws://127.0.0.1:${await freePort()}/ws`; // nothing listens there
  const context = await browser.newContext();
  const page = await context.newPage();
  const requests = [];
  const errors = [];
  context.on('request', (req) => requests.push(req.url()));
  page.on('pageerror', (err) => errors.push(String(err)));
  page.on('console', (msg) => msg.type() === 'error' && errors.push(msg.text()));
  // The page is told the edge's WebSocket is at a port nothing listens
  // on, which its Content-Security-Policy does not allow either: as
  // behind a firewall or proxy that lets only plain HTTP through.
  await page.route('**/config.json', async (route) => {
    const config = await (await route.fetch()).json();
    await route.fulfill({ json: { ...config, ws: blocked } });
  });
  // Count the page's WebSocket attempts.
  await page.addInitScript(() => {
    window.webSocketTries = 0;
    const Native = window.WebSocket;
    window.WebSocket = class extends Native {
      constructor(...args) {
        window.webSocketTries++;
        super(...args);
      }
    };
  });
  await page.goto(`${edge.httpURL}/?room=${room}`);
  await page.locator('#status[data-state="open"][data-transport="sse"]').waitFor({ timeout: WAIT_MS });
  const sockets = await page.evaluate(() => window.webSocketTries);
  assert.ok(sockets >= 1, 'the page fell back to SSE without trying WebSocket');
  await page.screenshot({ path: path.join(out, 'fallback.png') });
  assert.match(await page.locator('#status').innerText(), /SSE/);
  await edge.post(room, { text: 'over server-sent events' });
  await page.locator('#overlay .danmu', { hasText: 'over server-sent events' }).waitFor({ timeout: WAIT_MS });
  assert.ok(requests.some((u) => u.startsWith(`${edge.sseURL}?`) && u.includes(`room=${room}`)), 'no /sse request');

  // Data saver: the page reconnects asking for max_rate=5, over SSE at
  // once (it does not try the blocked WebSocket again); a burst is
  // thinned, the rest counted as dropped by the server.
  await page.check('#saver');
  await waitFor(() => requests.some((u) => u.startsWith(`${edge.sseURL}?`) && u.includes('max_rate=5')), { timeout: WAIT_MS, what: 'a thinned stream' });
  await page.locator('#status[data-state="open"]').waitFor({ timeout: WAIT_MS });
  await Promise.all(Array.from({ length: 40 }, (_, i) => edge.post(room, { text: `burst ${i}` })));
  await waitFor(async () => Number(await page.locator('#dropped').innerText()) > 0, { timeout: WAIT_MS, what: 'comments dropped by the server' });
  assert.equal(await page.evaluate(() => window.webSocketTries), sockets, 'the page tried the WebSocket again');
  const shown = await page.locator('#recent li', { hasText: 'burst' }).count();
  assert.ok(shown > 0 && shown < 40, `${shown} of 40 comments of the burst shown; want some, not all`);
  assert.equal(await page.evaluate(() => localStorage.length > 0 && document.getElementById('saver').checked), true);
  // The blocked WebSocket is the only error the page logged.
  assert.deepEqual(errors.filter((e) => !e.includes(blocked)), []);
  await context.close();
});
