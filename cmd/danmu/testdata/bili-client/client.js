// Drives the real bilibili-live-ws client for cmd/danmu's TestBiliClient:
// node client.js ADDRESS ROOMID PROTOVER. It prints one JSON line per event
// (live, heartbeat with the online count, DANMU_MSG with its fields, close,
// error) and sends a heartbeat (getOnline) for each "online" line on stdin.
'use strict';
const readline = require('node:readline');
const { LiveWS } = require('bilibili-live-ws');

const [address, roomid, protover] = process.argv.slice(2);
const print = (event) => process.stdout.write(JSON.stringify(event) + '\n');

const live = new LiveWS(Number(roomid), { address, protover: Number(protover) });
live.on('live', () => print({ event: 'live' }));
live.on('heartbeat', (online) => print({ event: 'heartbeat', online }));
live.on('DANMU_MSG', (data) => {
  const [meta, text, user] = data.info;
  print({ event: 'danmu', text, uid: user[0], name: user[1], mode: meta[1], color: meta[3] });
});
live.on('close', () => {
  print({ event: 'close' });
  process.exit(0);
});
live.on('error', (err) => print({ event: 'error', message: String(err) }));

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  if (line === 'online') live.getOnline();
  if (line === 'close') live.close();
});
