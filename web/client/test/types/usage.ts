// A typed use of the package, as a user would write it: test/types.test.js
// runs tsc --noEmit over it. Each @ts-expect-error line must stay an error.
import WebSocket from 'ws';
import {
  DanmuClient,
  DEFAULTS,
  FATAL_CLOSE_CODES,
  backoffDelay,
  compareIds,
  validId,
  validRoom,
  type ClientState,
  type DanmuMessage,
  type ServerFrame,
} from 'danmu-client';

// In Node 20, with the ws package; in browsers the global WebSocket.
const client = new DanmuClient({ url: 'ws://127.0.0.1:7070/ws', WebSocket, minDelay: 250 });
new DanmuClient({ url: new URL('wss://example.invalid/ws'), WebSocket: globalThis.WebSocket });
const saver = new DanmuClient({ url: 'ws://127.0.0.1:7070/ws', WebSocket, transport: 'auto', maxRate: 5, sseUrl: 'http://127.0.0.1:7070/sse' });
saver.on('transport', ({ transport }) => {
  const t: 'websocket' | 'sse' = transport;
  console.log(t, saver.transport);
});

const seen: DanmuMessage[] = [];
const off: () => boolean = client.on('message', ({ room, msg }) => {
  const text: string = msg.text;
  const mode: 'scroll' | 'top' | 'bottom' = msg.mode;
  const ts: number = msg.ts;
  const prio: number | undefined = msg.prio;
  const cid: string | undefined = msg.cid;
  seen.push(msg);
  console.log(room, msg.id, msg.uid, msg.name, msg.color, text, mode, ts, prio, cid);
});
off();

client.on('state', ({ state, attempt, delay, retryAt, code, reason }) => {
  const s: ClientState = state;
  const a: number = attempt;
  console.log(s, a, delay ?? 0, retryAt ?? 0, code ?? 0, reason ?? '');
});
client.on('joined', ({ room }) => console.log(room.length));
client.on('left', ({ room }) => console.log(room.length));
client.on('gap', ({ room }) => console.log(room.length));
client.on('dropped', ({ room, count }) => console.log(room, count + 1));
client.on('online', ({ room, count }) => console.log(room, count + 1));
client.on('delete', ({ room, id }) => console.log(room, id.length));
client.on('error', ({ room, code, message }) => {
  const r: string | null = room;
  if (code === 'too_many_joins') console.log(r, message);
});
client.on('close', ({ code, reason, reconnect }) => {
  const again: boolean = reconnect;
  console.log(code + 1, reason, again);
});

client.join('lobby');
client.join('news', { since: '1795637530266-0' });
client.join('other', { since: null });
client.leave('news');
client.connect();
const state: ClientState = client.state;
const rooms: string[] = client.rooms;
const { reconnects, duplicates, gaps, dropped } = client.stats;
const last: string | null = client.lastId('lobby');
const isJoined: boolean = client.joined('lobby');
console.log(state, rooms, reconnects + duplicates + gaps + dropped, last, isJoined);
client.close();

const order: -1 | 0 | 1 = compareIds('999-0', '1000-0');
const delay: number = backoffDelay(3, DEFAULTS);
const fatal: boolean = FATAL_CLOSE_CODES.includes(1008);
const maybe: unknown = 'lobby';
if (validRoom(maybe)) console.log(maybe.toUpperCase());
if (validId(maybe)) console.log(maybe.split('-'));
console.log(order, delay, fatal, DEFAULTS.connectTimeout + DEFAULTS.stableAfter);

function handle(frame: ServerFrame): string {
  switch (frame.type) {
    case 'batch':
      return `${frame.msgs.length} ${frame.dropped ?? 0} ${frame.gap === true}`;
    case 'error':
      return frame.code;
    case 'online':
      return String(frame.count);
    default:
      return frame.room;
  }
}
console.log(handle({ type: 'online', room: 'lobby', count: 1 }));

// @ts-expect-error: the options need a url
new DanmuClient({});
// @ts-expect-error: there is no such event
client.on('messages', () => {});
// @ts-expect-error: a message event has no count
client.on('message', ({ count }) => console.log(count));
// @ts-expect-error: since is a string id
client.join('lobby', { since: 42 });
// @ts-expect-error: state is read-only
client.state = 'open';
// @ts-expect-error: mode is one of three
const bad: DanmuMessage['mode'] = 'side';
console.log(bad);
