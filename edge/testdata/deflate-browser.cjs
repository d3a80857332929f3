// Opens a WebSocket to the URL in argv[2] from a page in headless Chromium
// (playwright-core from web/node_modules, found through NODE_PATH) for
// edge's TestDeflateBrowser. On open it sends a join for the room in
// argv[3]; it prints one JSON line per event (open with the negotiated
// extensions, message, close) and closes the browser when stdin says
// "close" or ends.
'use strict';
const readline = require('node:readline');
const { chromium } = require('playwright-core');

const [url, room] = process.argv.slice(2);
const print = (event) => process.stdout.write(JSON.stringify(event) + '\n');

(async () => {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--headless', '--disable-gpu', '--no-first-run'],
    headless: true,
  });
  const finish = async () => {
    await browser.close();
    process.exit(0);
  };
  readline.createInterface({ input: process.stdin }).on('line', (line) => {
    if (line === 'close') finish();
  }).on('close', finish);
  const page = await browser.newPage();
  await page.exposeFunction('report', (event) => print(event));
  await page.evaluate(({ url, room }) => {
    const ws = new WebSocket(url);
    ws.onopen = () => {
      window.report({ event: 'open', extensions: ws.extensions });
      ws.send(JSON.stringify({ type: 'join', room }));
    };
    ws.onmessage = (e) => window.report({ event: 'message', data: e.data });
    ws.onclose = (e) => window.report({ event: 'close', code: e.code });
  }, { url, room });
})().catch((err) => {
  print({ event: 'error', message: String(err) });
  process.exit(1);
});
