// Drives one real npm client of Bilibili's live protocol for cmd/danmu's
// TestBiliClients:
//
//	node client.js CLIENT ROOMID PROTOVER
//
// CLIENT is bilibili-live-ws, tiny-bilibili-ws, blive-message-listener or
// bili-live-listener (protover 2 only: it does not take one).
// DANMU_API is the HTTP API's base URL (http://host:port), DANMU_TOKEN the
// viewer's bearer token (optional) and DANMU_WS_PORT the port of the edge,
// for the clients that do not take it from getDanmuInfo.
//
// Each client starts the way it starts against Bilibili: its own calls of
// Bilibili's HTTP API (room info, wbi keys, getDanmuInfo for the token and
// host_list, buvid), which this script sends to danmu instead, adding the
// token, as a user who points the client's API base URL at danmu does. Then
// it enters the room and reports what it parses, one JSON line per event:
// live, heartbeat (online), danmu (id, text, uid, name, color, mode,
// admin), watched (num), recall (id), close, error. Each "online" line on
// stdin asks for a heartbeat.
import http from 'node:http';
import https from 'node:https';
import { createRequire, register } from 'node:module';
import readline from 'node:readline';
import WebSocket from 'ws';
import { KeepLiveWS } from 'tiny-bilibili-ws';
import { startListen } from 'blive-message-listener/browser';

const require = createRequire(import.meta.url);
const { LiveWS, getConf, getRoomid } = require('bilibili-live-ws');

const [client, roomArg, protoverArg] = process.argv.slice(2);
const roomid = Number(roomArg);
const protover = Number(protoverArg);
const api = new URL(process.env.DANMU_API);
const token = process.env.DANMU_TOKEN || '';
const wsPort = Number(process.env.DANMU_WS_PORT);
const print = (event) => process.stdout.write(JSON.stringify(event) + '\n');

// Bilibili's API hosts, whose requests go to danmu.
const biliHosts = new Set(['api.live.bilibili.com', 'api.bilibili.com']);
const authorization = token ? { Authorization: `Bearer ${token}` } : {};

// fetch (bilibili-live-ws, bili-live-listener's helpers, and this script
// for blive-message-listener and bili-live-listener) goes to danmu.
const realFetch = globalThis.fetch;
globalThis.fetch = (input, init = {}) => {
  const url = new URL(String(input));
  if (!biliHosts.has(url.hostname)) {
    return Promise.reject(new Error(`request to ${url.hostname} outside the test`));
  }
  const target = new URL(url.pathname + url.search, api);
  return realFetch(target, { ...init, headers: { ...init.headers, ...authorization } });
};

// Bilibili's fixed edge (bili-live-listener takes no address): the
// WebSocket ws opens to it goes to danmu's edge from getDanmuInfo's
// host_list, over plain ws.
const biliEdge = 'broadcastlv.chat.bilibili.com';
let edge;

// node:https (tiny-bilibili-ws, and ws for bili-live-listener) goes to
// danmu over plain HTTP.
const redirect = (url, options, callback) => {
  if (typeof url === 'object' && !(url instanceof URL) && url.host === biliEdge) {
    const { createConnection, ...opts } = url;
    return http.request({ ...opts, host: edge.host, port: edge.ws_port, defaultPort: 80 }, options);
  }
  if (typeof url === 'object' && !(url instanceof URL)) {
    [url, options, callback] = [`https://${url.hostname}${url.path}`, url, options];
  }
  if (typeof options === 'function') {
    [options, callback] = [{}, options];
  }
  const u = new URL(String(url));
  if (!biliHosts.has(u.hostname)) {
    throw new Error(`request to ${u.hostname} outside the test`);
  }
  const headers = { ...(options && options.headers), ...authorization };
  return http.request(new URL(u.pathname + u.search, api), { method: (options && options.method) || 'GET', headers }, callback);
};
https.request = redirect;
https.get = (url, options, callback) => {
  const req = redirect(url, options, callback);
  req.end();
  return req;
};

// danmu reports a command that bilibili-live-ws or tiny-bilibili-ws
// emitted as DANMU_MSG: both emit every cmd containing DANMU_MSG so, for
// the DANMU_MSG:4:0:2:2:2:0 variants, RECALL_DANMU_MSG included, with
// danmu as with Bilibili.
const danmuFromCommand = (data) => {
  if (data.cmd === 'RECALL_DANMU_MSG') {
    return { event: 'recall', id: data.data.id_str };
  }
  const [meta, text, user] = data.info;
  return { event: 'danmu', id: data.id_str, text, uid: user[0], name: user[1], mode: meta[1], color: meta[3], admin: user[2] === 1 };
};

let heartbeat;
let close;
if (client === 'bilibili-live-ws') {
  // The room id from mobileRoomInit, the token and host from getDanmuInfo.
  // getConf builds wss://host/sub; danmu here is plain ws on its own port.
  const real = await getRoomid(roomid);
  const { key, host } = await getConf(real);
  const live = new LiveWS(real, { address: `ws://${host}:${wsPort}/sub`, protover, key });
  live.on('live', () => print({ event: 'live' }));
  live.on('heartbeat', (online) => print({ event: 'heartbeat', online }));
  live.on('DANMU_MSG', (data) => print(danmuFromCommand(data)));
  live.on('WATCHED_CHANGE', (data) => print({ event: 'watched', num: data.data.num }));
  live.on('close', () => { print({ event: 'close' }); process.exit(0); });
  live.on('error', (err) => print({ event: 'error', message: String(err) }));
  heartbeat = () => live.getOnline();
  close = () => live.close();
} else if (client === 'tiny-bilibili-ws') {
  // Its own start: mobileRoomInit, nav, getDanmuInfo (wbi-signed), spi,
  // then ws://<host_list host>:<port>/sub with the token as key.
  const live = new KeepLiveWS(roomid, { port: wsPort, ssl: false, protover, keepalive: false });
  live.on('live', () => print({ event: 'live' }));
  live.on('heartbeat', (online) => print({ event: 'heartbeat', online }));
  live.on('DANMU_MSG', (packet) => print(danmuFromCommand(packet.data)));
  live.on('WATCHED_CHANGE', (packet) => print({ event: 'watched', num: packet.data.data.num }));
  live.on('close', () => { print({ event: 'close' }); process.exit(0); });
  live.on('error', (err) => print({ event: 'error', message: String(err && (err.message || err)) }));
  heartbeat = () => live.heartbeat();
  close = () => live.close();
} else if (client === 'blive-message-listener') {
  // As a page does: getDanmuInfo for the token and the edge, then the
  // typed listener. Its browser build takes a WebSocket; Node's is ws.
  const info = await (await fetch(`https://api.live.bilibili.com/xlive/web-room/v1/index/getDanmuInfo?id=${roomid}`)).json();
  if (info.code !== 0) {
    print({ event: 'error', message: `getDanmuInfo: ${JSON.stringify(info)}` });
    process.exit(1);
  }
  const [edge] = info.data.host_list;
  const listener = startListen(roomid, {
    onStartListen: () => print({ event: 'live' }),
    onAttentionChange: (msg) => print({ event: 'heartbeat', online: msg.body.attention }),
    onIncomeDanmu: (msg) => {
      const { user, content, content_color: color, type } = msg.body;
      print({ event: 'danmu', id: msg.raw.id_str, text: content, uid: user.uid, name: user.uname, mode: type,
        color: parseInt(color.slice(1), 16), admin: user.identity.room_admin });
    },
    onWatchedChange: (msg) => print({ event: 'watched', num: msg.body.num }),
    onClose: () => { print({ event: 'close' }); process.exit(0); },
    // Its DANMU_MSG events include RECALL_DANMU_MSG (which its parser
    // skips): the raw handler sees it.
    raw: { DANMU_MSG: (data) => data.cmd === 'RECALL_DANMU_MSG' && print({ event: 'recall', id: data.data.id_str }) },
  }, {
    ws: { host: edge.host, port: edge.ws_port, ssl: false, protover, key: info.data.token, keepalive: false,
      customWebSocket: (url) => new WebSocket(url) },
  });
  listener.live.on('error', (err) => print({ event: 'error', message: String(err && (err.message || err)) }));
  heartbeat = () => listener.heartbeat();
  close = () => listener.close();
} else if (client === 'bili-live-listener') {
  // Its own helpers: mobileRoomInit for the room id, getDanmuInfo for the
  // token; then its typed listener over bilibili-live-ws's KeepLiveWS,
  // which opens wss://broadcastlv.chat.bilibili.com/sub with protover 2.
  if (protover !== 2) {
    print({ event: 'error', message: `bili-live-listener joins with protover 2, not ${protover}` });
    process.exit(2);
  }
  // Its ESM build imports 'bilibili-live-ws/browser', which bundlers
  // resolve but Node does not (bilibili-live-ws has no exports map, so
  // Node wants the .js): a resolve hook maps it to browser.js.
  register('data:text/javascript,' + encodeURIComponent(
    'export const resolve = (s, c, next) => next(s === "bilibili-live-ws/browser" ? "bilibili-live-ws/browser.js" : s, c);'));
  const { BiliLive, getRoomConf, getRoomId } = await import('bili-live-listener');
  const info = await (await fetch(`https://api.live.bilibili.com/xlive/web-room/v1/index/getDanmuInfo?id=${roomid}`)).json();
  [edge] = info.data.host_list;
  const { longRoomId } = await getRoomId(roomid);
  const { key } = await getRoomConf(longRoomId, '');
  const listener = new BiliLive(longRoomId, { key, isBrowser: true });
  // bilibili-live-ws emits RECALL_DANMU_MSG as DANMU_MSG, whose processor
  // in bili-live-listener 1.0.6 reads its info and throws (with Bilibili
  // too), ending the batch it came in; it has no recall event: the recall
  // is reported here and kept from the processor.
  const emit = listener.live.emit;
  listener.live.emit = function (name, data, ...rest) {
    if (name === 'DANMU_MSG' && data && data.cmd === 'RECALL_DANMU_MSG') {
      print({ event: 'recall', id: data.data.id_str });
      return true;
    }
    return emit.call(this, name, data, ...rest);
  };
  listener.onLive(() => print({ event: 'live' }));
  listener.onHeartbeat((online) => print({ event: 'heartbeat', online }));
  // Its typed comment: data.user (uid, uname, isRoomAdmin, ...), data.content;
  // it leaves out the id, color and mode, read from raw.
  listener.onDanmu((msg) => {
    const { user, content } = msg.data;
    const [meta] = msg.raw.info;
    print({ event: 'danmu', id: msg.raw.id_str, text: content, uid: user.uid, name: user.uname, mode: meta[1], color: meta[3],
      admin: user.isRoomAdmin });
  });
  listener.onWatchedChange((msg) => print({ event: 'watched', num: msg.data.num }));
  listener.onClose(() => { print({ event: 'close' }); process.exit(0); });
  listener.onError((err) => print({ event: 'error', message: String(err && (err.message || err)) }));
  heartbeat = () => listener.live.heartbeat();
  close = () => listener.close();
} else {
  print({ event: 'error', message: `unknown client ${client}` });
  process.exit(2);
}

// A listener that throws (as one parsing a short DANMU_MSG would) ends
// the process under Node's defaults; say so before it does.
process.on('uncaughtException', (err) => {
  print({ event: 'error', message: `uncaught: ${err && err.stack}` });
  process.exit(1);
});

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  if (line === 'online') heartbeat();
  if (line === 'close') close();
});
