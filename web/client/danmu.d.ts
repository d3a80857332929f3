// Type declarations of danmu.js, the client of danmu's WebSocket protocol
// (docs/protocol.md in the danmu repository). Written by hand: keep them in
// step with danmu.js; test/types.test.js type-checks test/types/usage.ts.

/** How a comment is shown: flying across, or standing at the top or bottom. */
export type DanmuMode = 'scroll' | 'top' | 'bottom';

/** A comment: the message object of `batch` frames and of the history API. */
export interface DanmuMessage {
  /** Message id, `"<ms>-<seq>"`, unique within the room; compare with compareIds. */
  id: string;
  /** Present only when above 0: an admin, system or paid message. */
  prio?: number;
  /** Present only when the poster sent one (the poster's retry id). */
  cid?: string;
  /** The publisher's user id (default `"anonymous"`). */
  uid: string;
  /** Display name (default `"guest"`). */
  name: string;
  /** The comment, one line. */
  text: string;
  /** `#rrggbb` as posted (default `#ffffff`). */
  color: string;
  mode: DanmuMode;
  /** Unix milliseconds when the HTTP API accepted it. */
  ts: number;
}

/** Error codes of the server's `error` replies; newer servers may add others. */
export type DanmuErrorCode =
  | 'invalid_message'
  | 'unknown_type'
  | 'invalid_room'
  | 'invalid_since'
  | 'already_joined'
  | 'not_joined'
  | 'too_many_rooms'
  | 'too_many_joins'
  | (string & {});

/** Frames the server sends (one JSON object per text frame). The client parses them for you. */
export interface BatchFrame {
  type: 'batch';
  room: string;
  msgs: DanmuMessage[];
  /** Present (> 0) only when the server left out older messages of a burst. */
  dropped?: number;
  /** Present (true) only when messages before this frame's are missing for good. */
  gap?: true;
}
export interface JoinedFrame {
  type: 'joined';
  room: string;
}
export interface LeftFrame {
  type: 'left';
  room: string;
}
export interface ErrorFrame {
  type: 'error';
  room?: string;
  code: DanmuErrorCode;
  message: string;
}
export interface DeleteFrame {
  type: 'delete';
  room: string;
  id: string;
}
export interface OnlineFrame {
  type: 'online';
  room: string;
  count: number;
}
export type ServerFrame = BatchFrame | JoinedFrame | LeftFrame | ErrorFrame | DeleteFrame | OnlineFrame;

/** Frames the client sends. */
export type ClientFrame = { type: 'join'; room: string; since?: string } | { type: 'leave'; room: string };

/** The connection's state. */
export type ClientState = 'idle' | 'connecting' | 'open' | 'waiting' | 'closed';

/** The part of a WebSocket the client uses: the browser's and the ws package's both fit. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: any) => void) | null;
  onmessage: ((event: any) => void) | null;
  onclose: ((event: any) => void) | null;
  onerror: ((event: any) => void) | null;
}

/** A WebSocket constructor: globalThis.WebSocket, or WebSocket from the ws package. */
export type WebSocketConstructor = new (url: string) => WebSocketLike;

/** Reconnect timing, in milliseconds (jitter is a fraction). See DEFAULTS. */
export interface BackoffOptions {
  /** Delay before the first reconnect (500). */
  minDelay: number;
  /** The backoff's ceiling (30000). */
  maxDelay: number;
  /** A delay is drawn from [base·(1−jitter), base] (0.5). */
  jitter: number;
}

/** What the client connects with. */
export type Transport = 'auto' | 'websocket' | 'sse';

/** The part of EventSource the client uses. */
export interface EventSourceLike {
  readonly readyState: number;
  onopen: ((event: any) => void) | null;
  onmessage: ((event: { data: string }) => void) | null;
  onerror: ((event: any) => void) | null;
  close(): void;
}
export type EventSourceConstructor = new (url: string) => EventSourceLike;

export interface DanmuClientOptions extends Partial<BackoffOptions> {
  /** ws: or wss: URL of the edge's /ws, with ?token= if the server asks for one. */
  url: string | URL;
  /** Defaults to globalThis.WebSocket (browsers, Node 22+); in Node 20 pass the ws package's. */
  WebSocket?: WebSocketConstructor;
  /**
   * WebSocket, falling back to Server-Sent Events for good when a WebSocket
   * fails before it opens (auto); or only one of them.
   */
  transport?: Transport; // (auto)
  /** http: or https: URL of the edge's /sse; defaults to url's host, path /sse, same query. */
  sseUrl?: string | URL;
  /** Defaults to globalThis.EventSource (browsers); without one there is no fallback. */
  EventSource?: EventSourceConstructor;
  /** At most this many comments a second (max_rate): a thinned stream, priority comments kept. */
  maxRate?: number;
  /** How long a connection must last for the backoff to start over (10000). */
  stableAfter?: number;
  /** How long a connection may take to open (10000). */
  connectTimeout?: number;
  /** Timers, clock and randomness, for tests. */
  setTimeout?: (callback: () => void, ms: number) => unknown;
  clearTimeout?: (timer: any) => void;
  now?: () => number;
  random?: () => number;
}

export interface JoinOptions {
  /** Resume after this message id: messages up to it are never delivered. */
  since?: string | null;
}

/** Counters since the client was made. */
export interface ClientStats {
  reconnects: number;
  /** Messages ignored because they were delivered before. */
  duplicates: number;
  gaps: number;
  /** Messages the server left out of bursts (the sum of `dropped` events' counts). */
  dropped: number;
}

/** The object each kind of listener gets. */
export interface DanmuEventMap {
  /**
   * The state changed. `attempt` counts reconnect attempts since the last
   * stable connection. 'waiting' carries delay, retryAt (a Date.now()
   * value), and the code and reason of the close; 'closed' carries the code
   * and reason (1000 after close(), 0 when the WebSocket could not be made).
   */
  state: {
    state: ClientState;
    attempt: number;
    delay?: number;
    retryAt?: number;
    code?: number;
    reason?: string;
  };
  /** A message not delivered before, in id order within each frame's new ones. */
  message: { room: string; msg: DanmuMessage };
  /** The server confirmed a join (again after every reconnect). */
  joined: { room: string };
  /** The server confirmed a leave. */
  left: { room: string };
  /** Messages before the next ones are missing for good; the room's last id was reset. */
  gap: { room: string };
  /** The server left out `count` older messages of a burst. */
  dropped: { room: string; count: number };
  /** The room's viewer count, from servers that send it. */
  online: { room: string; count: number };
  /** A moderator deleted message `id` (it may be one never delivered). */
  delete: { room: string; id: string };
  /**
   * The server refused a request. After invalid_room or too_many_rooms the
   * room is no longer watched. room is null when the request named none.
   */
  error: { room: string | null; code: DanmuErrorCode; message: string };
  /** The connection closed; reconnect says whether the client will try again. */
  close: { code: number; reason: string; reconnect: boolean };
  /** WebSocket failed before it opened: the client uses Server-Sent Events from now on. */
  transport: { transport: 'websocket' | 'sse' };
}

export type DanmuEventType = keyof DanmuEventMap;

/** Close codes after which the client does not reconnect: 1002, 1003, 1007, 1008, 1009. */
export const FATAL_CLOSE_CODES: readonly number[];

/** Defaults of the DanmuClient options. */
export const DEFAULTS: Readonly<BackoffOptions & { stableAfter: number; connectTimeout: number; transport: Transport }>;

/** Reports whether room is a room id the server accepts: 1–64 of A-Z a-z 0-9 _ . : - */
export function validRoom(room: unknown): room is string;

/** Reports whether id is a message id ("<ms>-<seq>" or "<ms>"). */
export function validId(id: unknown): id is string;

/**
 * Compares two message ids numerically, milliseconds first and then
 * sequence, exactly for any size. Never compare ids as strings.
 */
export function compareIds(a: string, b: string): -1 | 0 | 1;

/** The delay in ms before reconnect attempt number attempt (0 for the first). */
export function backoffDelay(attempt: number, options: BackoffOptions, random?: () => number): number;

/** Watches rooms over one WebSocket connection and keeps it up. */
export class DanmuClient {
  /**
   * Throws a TypeError when url is not ws: or wss:, sseUrl not http: or
   * https:, maxRate not a whole number >= 0, or the transport has no
   * constructor.
   */
  constructor(options: DanmuClientOptions);

  readonly state: ClientState;
  /** What the client connects with now. */
  readonly transport: 'websocket' | 'sse';
  /** The rooms being watched (joined or to be joined). */
  readonly rooms: string[];
  /** A copy of the counters. */
  readonly stats: ClientStats;

  /** The last message id delivered in room, or null. */
  lastId(room: string): string | null;
  /** Whether the server has confirmed room on this connection. */
  joined(room: string): boolean;

  /**
   * Adds a listener; returns a function that removes it (and returns
   * whether it was still there). A listener that throws is reported and
   * does not stop the others.
   */
  on<K extends DanmuEventType>(type: K, listener: (event: DanmuEventMap[K]) => void): () => boolean;

  /**
   * Watches room, now if connected and on every reconnect. Throws a
   * TypeError for an invalid room or since; a room already watched is left
   * as it is.
   */
  join(room: string, options?: JoinOptions): void;
  /** Stops watching room and forgets its last id. */
  leave(room: string): void;
  /** Opens the connection; does nothing if one is open or pending. */
  connect(): void;
  /** Closes the connection for good, until connect is called again. */
  close(): void;
}
