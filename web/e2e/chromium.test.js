// End-to-end test of the demo page in headless Chromium, driven by
// playwright-core, against a real `bin/danmu serve` that the test builds
// and starts on free ports. Screenshots and server logs go to web/e2e/out/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

import { Server, build, waitFor } from '../testutil/server.js';

const out = path.join(path.dirname(fileURLToPath(import.meta.url)), 'out');
const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';
const launchArgs = [
  '--no-sandbox',
  '--headless',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
// How long a comment may take from the sender's click to the viewer's
// screen: the flush window is 100 ms; the rest is slack for a busy machine.
const DELIVERY_BOUND_MS = 3000;
// How long the test waits for anything else to show. Only waits: on a
// loaded machine, driving the browser is slow.
const WAIT_MS = 15000;

const room = `e2e-${process.pid}`;
let server;
let browser;
const pages = [];

before(async () => {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  build();
  server = await Server.onFreePorts({ logDir: out });
  await server.start();
  browser = await chromium.launch({ executablePath, args: launchArgs, headless: true });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

// openRoom opens the page in a new browser context and waits until it is
// live. It records every request the page makes and every error it shows.
async function openRoom(name, contextOptions = {}) {
  const context = await browser.newContext(contextOptions);
  const page = await context.newPage();
  const record = { name, page, context, requests: [], errors: [] };
  context.on('request', (req) => record.requests.push(req.url()));
  page.on('websocket', (ws) => record.requests.push(ws.url()));
  page.on('pageerror', (err) => record.errors.push(String(err)));
  page.on('console', (msg) => {
    if (msg.type() === 'error') record.errors.push(msg.text());
  });
  pages.push(record);
  await page.goto(`${server.httpURL}/?room=${room}`);
  await waitForState(page, 'open');
  return record;
}

async function waitForState(page, state, timeout = WAIT_MS) {
  await page.locator(`#status[data-state="${state}"]`).waitFor({ timeout });
}

// flying returns the locator of the comments with text on page's stage.
function flying(page, text) {
  return page.locator('#overlay .danmu', { hasText: text });
}

// send types a comment into page's send box and, unless submit is false,
// sends it with Enter.
async function send(page, text, { name, color, mode, submit = true } = {}) {
  if (name !== undefined) await page.fill('#name', name);
  if (color !== undefined) await page.fill('#color', color);
  if (mode !== undefined) await page.selectOption('#mode', mode);
  await page.fill('#text', text);
  if (submit) await page.press('#text', 'Enter');
}

// overlaps returns the pairs of comments on page's stage that share a lane
// and overlap.
async function overlaps(page) {
  return page.evaluate(() => {
    const boxes = [...document.querySelectorAll('#overlay .danmu')].map((el) => {
      const r = el.getBoundingClientRect();
      return { text: el.textContent, top: Math.round(r.top), left: r.left, right: r.right };
    });
    const found = [];
    for (let i = 0; i < boxes.length; i++) {
      for (let j = i + 1; j < boxes.length; j++) {
        const a = boxes[i];
        const b = boxes[j];
        if (a.top === b.top && a.left < b.right - 1 && b.left < a.right - 1) found.push([a.text, b.text]);
      }
    }
    return found;
  });
}

test('a comment sent from one window flies across another within the bound', async (t) => {
  const viewer = await openRoom('viewer');
  const sender = await openRoom('sender');
  assert.equal(await viewer.page.title(), `${room} · danmu`);

  // The viewer notes the moment the comment lands on its stage, so the
  // delay measured is the page's, not that of driving the browser.
  const text = `hello from the sender ${Date.now()}`;
  await viewer.page.evaluate((want) => {
    const overlay = document.getElementById('overlay');
    new MutationObserver((records, observer) => {
      if (records.some((r) => [...r.addedNodes].some((n) => n.textContent === want))) {
        window.landedAt = Date.now();
        observer.disconnect();
      }
    }).observe(overlay, { childList: true });
  }, text);
  await send(sender.page, text, { name: 'Ann', color: '#ffcc00', submit: false });
  const started = Date.now();
  await sender.page.press('#text', 'Enter');
  const landedAt = await (await viewer.page.waitForFunction(() => window.landedAt, null, { timeout: WAIT_MS })).jsonValue();
  const elapsed = landedAt - started;
  t.diagnostic(`send box to the other window's stage: ${elapsed} ms`);
  assert.ok(elapsed < DELIVERY_BOUND_MS, `delivered in ${elapsed} ms; want under ${DELIVERY_BOUND_MS} ms`);
  assert.equal(await flying(viewer.page, text).evaluate((el) => getComputedStyle(el).color), 'rgb(255, 204, 0)');
  await sender.page.locator('#send-status[data-kind="ok"]').waitFor();
  assert.equal(await sender.page.inputValue('#text'), '', 'the send box was not cleared');
  // The sender sees its own comment too, outlined as its own.
  await sender.page.locator('#overlay .danmu.mine', { hasText: text }).waitFor({ timeout: WAIT_MS });
  await viewer.page.locator('#recent li', { hasText: text }).waitFor();
  assert.match(await viewer.page.locator('#recent li', { hasText: text }).innerText(), /Ann/);

  // A burst in every mode and many colors: lanes keep comments apart.
  const colors = ['#ffffff', '#ff5c8a', '#3ddc97', '#ffb84d', '#6cb6ff', '#e0aaff'];
  const modes = ['scroll', 'scroll', 'scroll', 'top', 'bottom'];
  const words = ['wow', 'this stream is great', '666', 'first time here!', 'hello from Lisbon', 'gg', 'what a play', 'lol'];
  await Promise.all(
    Array.from({ length: 40 }, (_, i) =>
      server.post(room, {
        text: `${words[i % words.length]} #${i}`,
        color: colors[i % colors.length],
        mode: modes[i % modes.length],
        name: `viewer${i % 7}`,
      }),
    ),
  );
  // Every comment reaches the recent list, whether or not it found a row.
  await viewer.page.locator('#recent li', { hasText: '#39' }).waitFor({ timeout: WAIT_MS });
  const onScreen = await viewer.page.locator('#overlay .danmu').count();
  assert.ok(onScreen > 5, `only ${onScreen} comments on screen after a burst`);
  assert.deepEqual(await overlaps(viewer.page), []);
  await viewer.page.waitForTimeout(500);
  assert.deepEqual(await overlaps(viewer.page), []);
  await waitFor(async () => (await viewer.page.locator('#rate').innerText()) !== '0.0', { what: 'a message rate' });
  assert.match(await viewer.page.locator('#lat50').innerText(), /^\d+(\.\d)? m?s$/);
  await viewer.page.screenshot({ path: path.join(out, 'viewer.png') });

  // On a phone: nothing wider than the screen, and the stream stays 16:9.
  const phone = await openRoom('phone', { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
  await server.post(room, { text: 'readable on a phone?', color: '#6cb6ff' });
  await flying(phone.page, 'readable on a phone?').waitFor({ timeout: WAIT_MS });
  const layout = await phone.page.evaluate(() => {
    const stage = document.getElementById('stage').getBoundingClientRect();
    return { scroll: document.documentElement.scrollWidth, width: innerWidth, ratio: stage.width / stage.height };
  });
  assert.ok(layout.scroll <= layout.width, `page ${layout.scroll} px wide on a ${layout.width} px screen`);
  assert.ok(Math.abs(layout.ratio - 16 / 9) < 0.02, `stage ratio ${layout.ratio}`);
  await phone.page.screenshot({ path: path.join(out, 'phone.png'), fullPage: true });
  await phone.context.close();
});

test('the keyboard reaches every control, and Enter sends', async () => {
  const { page } = await openRoom('keyboard');
  const reached = new Set();
  for (let i = 0; i < 20; i++) {
    await page.keyboard.press('Tab');
    const id = await page.evaluate(() => document.activeElement?.id || document.activeElement?.className);
    reached.add(id);
  }
  for (const id of ['toggle', 'density', 'text', 'send-button', 'name', 'color', 'mode']) {
    assert.ok(reached.has(id), `Tab never reached #${id} (reached ${[...reached].join(', ')})`);
  }
  await page.focus('#toggle');
  await page.keyboard.press('Enter');
  assert.equal(await page.getAttribute('#toggle', 'aria-pressed'), 'false');
  await page.keyboard.press('Space');
  assert.equal(await page.getAttribute('#toggle', 'aria-pressed'), 'true');

  await page.focus('#text');
  await page.keyboard.type('typed, not clicked');
  await page.keyboard.press('Enter');
  await flying(page, 'typed, not clicked').waitFor({ timeout: WAIT_MS });
  await page.focus('#text');
  await page.keyboard.press('Enter');
  assert.equal(await page.locator('#send-status').innerText(), 'Write something first.');
});

test('the page resumes after the server is killed and restarted, and shows what was posted meanwhile', async () => {
  const [viewer, sender] = pages;
  const before = `said before the crash ${Date.now()}`;
  await server.post(room, { text: before });
  // The page is live: the comment reached it. (Whether it also flies
  // depends on a free row within 3 s, which a loaded machine still busy
  // with the first test's burst does not promise; the overlay skips it
  // then, by design.)
  await viewer.page.locator('#recent li', { hasText: before }).waitFor({ timeout: WAIT_MS });

  await server.stop('SIGKILL');
  // Let the page fail a few reconnects, until its next try is far enough
  // away to restart the server and post before it.
  await waitFor(
    () =>
      viewer.page.evaluate(() => {
        const s = document.getElementById('status');
        return s.dataset.state === 'waiting' && Number(s.dataset.retryAt) - Date.now() > 4000;
      }),
    { timeout: 30000, what: 'a reconnect more than 4 s away' },
  );
  await viewer.page.screenshot({ path: path.join(out, 'reconnecting.png') });
  await server.start();
  const during = `posted while the page was away ${Date.now()}`;
  await server.post(room, { text: during });
  assert.notEqual(
    await viewer.page.getAttribute('#status', 'data-state'),
    'open',
    'the page reconnected before the comment was posted',
  );

  await waitForState(viewer.page, 'open');
  await viewer.page.locator('#recent li', { hasText: during }).waitFor({ timeout: WAIT_MS });
  await flying(viewer.page, during).waitFor({ timeout: WAIT_MS });

  // The sender's page came back as well, and its send box works.
  await waitForState(sender.page, 'open');
  const after = `sent after the restart ${Date.now()}`;
  await send(sender.page, after, { mode: 'top' });
  await flying(viewer.page, after).waitFor({ timeout: WAIT_MS });
  await viewer.page.screenshot({ path: path.join(out, 'after-restart.png') });

  // Nothing was shown twice. The recent list takes new comments in
  // batches, on a timer: wait for the last one to be listed first.
  await viewer.page.locator('#recent li', { hasText: after }).waitFor({ timeout: WAIT_MS });
  const ids = await viewer.page.$$eval('#recent li', (items) => items.map((li) => li.dataset.id));
  assert.equal(new Set(ids).size, ids.length, `duplicates in the recent list: ${ids}`);
  for (const text of [before, during, after]) {
    assert.equal(await viewer.page.locator('#recent li', { hasText: text }).count(), 1, `"${text}" not listed exactly once`);
  }
  assert.notEqual(await viewer.page.locator('#reconnects').innerText(), '0');
});

test('the pages talked to this server only, and logged no errors', () => {
  const allowed = [`http://127.0.0.1:${server.httpPort}/`, `ws://127.0.0.1:${server.wsPort}/ws`];
  for (const { name, requests, errors } of pages) {
    assert.ok(requests.length > 0, `${name}: no requests recorded`);
    for (const url of requests) {
      assert.ok(
        allowed.some((prefix) => url.startsWith(prefix)),
        `${name} requested ${url}, outside this server`,
      );
    }
    // While the server was down, the browser reports the failed
    // connections and fetches; nothing else may fail.
    const unexpected = errors.filter((e) => !/ERR_CONNECTION_REFUSED|WebSocket connection to|Failed to load resource|ERR_EMPTY_RESPONSE/.test(e));
    assert.deepEqual(unexpected, [], `${name} logged errors`);
  }
});
