// Opens wss:// through the test's HAProxy from two clients for
// cmd/danmu's TestBehindBalancer: a Node `ws` client bound to source
// address argv[6] that trusts the test CA (argv[5]), and headless Chromium
// (playwright-core from web/node_modules, through NODE_PATH) loading the
// demo page over https:// with certificate errors ignored for that page's
// context only. The page takes the WebSocket URL from /config.json. Each
// client joins room argv[4], then each posts one comment over https://
// (the Node one from source argv[7]), and both must receive both. Prints
// one JSON line: {"config": ..., "node": [texts], "chromium": [texts]}.
'use strict';
const fs = require('node:fs');
const https = require('node:https');
const WebSocket = require('ws');
const { chromium } = require('playwright-core');

const [pageURL, wsURL, apiURL, room, caFile, wsSource, postSource] = process.argv.slice(2);
const ca = fs.readFileSync(caFile);
const texts = ['from node', 'from chromium'];

function post(text) {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({ text });
    const req = https.request(`${apiURL}/v1/rooms/${room}/danmaku`, {
      method: 'POST', ca, localAddress: postSource,
      headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) },
    }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 201 ? resolve() : reject(new Error(`post: ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end(body);
  });
}

(async () => {
  const got = [];
  const ws = new WebSocket(`${wsURL}?room=${room}`, { ca, localAddress: wsSource });
  const nodeDone = new Promise((resolve, reject) => {
    ws.on('error', reject);
    ws.on('message', (data) => {
      const m = JSON.parse(data.toString());
      if (m.type === 'batch') for (const c of m.msgs) got.push(c.text);
      if (texts.every((t) => got.includes(t))) resolve();
    });
  });
  await new Promise((resolve, reject) => {
    ws.once('error', reject);
    ws.on('message', (data) => JSON.parse(data.toString()).type === 'joined' && resolve());
  });

  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--headless', '--disable-gpu', '--no-first-run'],
    headless: true,
  });
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  const page = await context.newPage();
  await page.goto(pageURL);
  const config = await page.evaluate(async () => (await fetch('/config.json')).json());
  const joined = page.evaluate(({ room, texts }) => new Promise((resolve, reject) => {
    window.received = [];
    window.allReceived = new Promise((done) => { window.gotAll = done; });
    fetch('/config.json').then((r) => r.json()).then((cfg) => {
      const ws = new WebSocket(`${cfg.ws}?room=${room}`);
      ws.onerror = () => reject(new Error('WebSocket error'));
      ws.onmessage = (e) => {
        const m = JSON.parse(e.data);
        if (m.type === 'joined') resolve();
        if (m.type === 'batch') for (const c of m.msgs) window.received.push(c.text);
        if (texts.every((t) => window.received.includes(t))) window.gotAll(window.received);
      };
    });
  }), { room, texts });
  await joined;
  await post('from node');
  await page.evaluate(async (room) => {
    const r = await fetch(`/v1/rooms/${room}/danmaku`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ text: 'from chromium' }),
    });
    if (r.status !== 201) throw new Error(`post from the page: ${r.status}`);
  }, room);
  const chromiumGot = await page.evaluate(() => window.allReceived);
  await nodeDone;
  ws.close();
  await browser.close();
  process.stdout.write(JSON.stringify({ config, node: got, chromium: chromiumGot }) + '\n');
})().catch((err) => {
  process.stderr.write(String(err && err.stack || err) + '\n');
  process.exit(1);
});
