// demo.js runs the demo page: a live room whose comments fly across a
// 16:9 stream area (an animated canvas stands in for the video), a send
// box, the online count and a live panel. It talks to its own origin (the
// HTTP API) and to the WebSocket edge named by /config.json, and to
// nothing else. It imports the client by its package name, as any user
// would: index.html's import map points danmu-client at the served copy of
// the npm package's danmu.js.
import { DanmuClient, validRoom } from 'danmu-client';

const SCROLL_MS = 8000; // how long a scrolling comment takes to cross
const FIXED_MS = 4000; // how long a top or bottom comment stays
const LANE_GAP_PX = 24; // least space between two comments of a lane
const MAX_WAIT_MS = 3000; // a scrolling comment that found no row this long is skipped
const FIXED_MAX_WAIT_MS = SCROLL_MS; // the same for a top or bottom one (see Stage.reserved)
const ONLINE_POLL_MS = 5000;
const RATE_WINDOW_MS = 5000;
const LATENCY_WINDOW_MS = 10000;
const RECENT_MAX = 50;
const HISTORY_LIMIT = 20;
const SAVER_RATE = 5; // comments a second with the data saver on (max_rate)
const COLOR_RE = /^#[0-9a-fA-F]{6}$/;

const $ = (id) => document.getElementById(id);
const reducedMotion = matchMedia('(prefers-reduced-motion: reduce)');

// settings keeps the send box's choices across visits. Storage may be
// unavailable (private modes): the page then simply forgets.
const settings = {
  get(key) {
    try {
      return localStorage.getItem(`danmu.${key}`);
    } catch {
      return null;
    }
  },
  set(key, value) {
    try {
      localStorage.setItem(`danmu.${key}`, value);
    } catch {
      // Not kept; nothing else depends on it.
    }
  },
};

function userId() {
  let uid = settings.get('uid');
  if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(uid ?? '')) {
    const bytes = crypto.getRandomValues(new Uint8Array(6));
    uid = 'web-' + Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
    settings.set('uid', uid);
  }
  return uid;
}

function showNotice(text) {
  const el = $('notice');
  el.textContent = text;
  el.hidden = false;
}

// Stage lays comments out in rows over the stream area so that no two
// overlap: a scrolling comment takes a row only if it cannot catch up with
// the row's previous one and will not run into a top or bottom comment
// standing there; a top or bottom comment only a row where no scrolling
// comment will cross its place while it stands. What finds no row waits a
// little, then is skipped: in a flood the screen stays readable and shows
// the newest comments. The density setting limits the rows used.
//
// In a flood, scrolling comments would fill every row and starve the
// standing ones: so the oldest waiting top (and bottom) comment reserves
// the row that clears soonest, and no scrolling comment enters it until
// the standing one is placed.
class Stage {
  constructor(overlay, onChange) {
    this.overlay = overlay;
    this.onChange = onChange;
    this.measure = document.createElement('canvas').getContext('2d');
    this.fontFamily = getComputedStyle(overlay).fontFamily;
    this.queue = [];
    this.rows = [];
    this.reserved = new Map(); // mode -> row kept free for it, this tick
    this.density = 0.67;
    this.visible = true;
    this.onScreen = 0;
    this.skipped = 0;
    this.resize(overlay.clientWidth, overlay.clientHeight);
  }

  resize(width, height) {
    this.width = width;
    this.height = height;
    this.fontSize = Math.round(Math.min(36, Math.max(14, height / 13)));
    this.rowHeight = Math.ceil(this.fontSize * 1.25);
    this.rowCount = Math.max(1, Math.floor(height / this.rowHeight));
    this.overlay.parentElement.style.setProperty('--danmu-size', `${this.fontSize}px`);
    this.measure.font = `700 ${this.fontSize}px ${this.fontFamily}`;
  }

  // usableRows returns how many rows the density lets each mode use.
  usableRows() {
    return Math.max(1, Math.floor(this.rowCount * this.density));
  }

  // row returns the occupants of row i: the scrolling comments still on
  // screen (oldest first) and the standing ones.
  row(i, now) {
    const row = (this.rows[i] ??= { scroll: [], fixed: [] });
    row.scroll = row.scroll.filter((c) => now < c.start + SCROLL_MS);
    row.fixed = row.fixed.filter((c) => now < c.until);
    return row;
  }

  add(msg, mine, now) {
    if (!this.visible) return;
    let mode = msg.mode === 'top' || msg.mode === 'bottom' ? msg.mode : 'scroll';
    if (mode === 'scroll' && reducedMotion.matches) mode = 'top';
    const item = { msg, mode, mine, at: now };
    // Your own comment goes first: it is the one you are looking for.
    if (mine) this.queue.unshift(item);
    else this.queue.push(item);
    const max = this.usableRows() * 3;
    while (this.queue.length > max) {
      const i = this.queue.findIndex((q) => !q.mine);
      this.queue.splice(i < 0 ? 0 : i, 1);
      this.skipped++;
    }
  }

  // tick places the waiting comments that fit, and skips the stale ones.
  tick(now) {
    if (this.queue.length === 0) return;
    const waiting = [];
    this.reserved.clear();
    for (const item of this.queue) {
      if (this.place(item, now)) continue;
      if (now - item.at > (item.mode === 'scroll' ? MAX_WAIT_MS : FIXED_MAX_WAIT_MS)) this.skipped++;
      else waiting.push(item);
    }
    this.queue = waiting;
    this.onChange();
  }

  place(item, now) {
    const { msg, mode } = item;
    const width = this.measure.measureText(msg.text).width + this.fontSize * 0.3;
    const row = mode === 'scroll' ? this.scrollRow(width, now) : this.fixedRow(width, mode === 'bottom', now);
    if (row < 0) {
      if (mode !== 'scroll' && !this.reserved.has(mode)) {
        this.reserved.set(mode, this.soonestRow(width, mode === 'bottom', now));
      }
      return false;
    }

    const el = document.createElement('div');
    el.className = 'danmu';
    el.textContent = msg.text;
    el.dataset.id = msg.id;
    el.style.color = COLOR_RE.test(msg.color) ? msg.color : '#ffffff';
    if (item.mine) el.classList.add('mine');
    el.style.top = `${row * this.rowHeight}px`;
    let animation;
    if (mode === 'scroll') {
      this.rows[row].scroll.push({ start: now, width, travel: this.width });
      animation = el.animate(
        [{ transform: `translateX(${this.width}px)` }, { transform: `translateX(${-width}px)` }],
        { duration: SCROLL_MS, easing: 'linear' },
      );
    } else {
      el.classList.add('fixed');
      const left = (this.width - width) / 2;
      this.rows[row].fixed.push({ until: now + FIXED_MS, left, right: left + width });
      animation = el.animate(
        [{ opacity: 0 }, { opacity: 1, offset: 0.05 }, { opacity: 1, offset: 0.9 }, { opacity: 0 }],
        { duration: FIXED_MS },
      );
    }
    // Start the animation at now, not at whichever later frame it is
    // committed in: the lane arithmetic above assumed it starts now.
    animation.startTime = now;
    this.overlay.append(el);
    this.onScreen++;
    animation.onfinish = () => {
      el.remove();
      this.onScreen--;
      this.onChange();
    };
    return true;
  }

  // scrollRow returns the first row, from the top, where a comment width
  // px wide can start scrolling now, or -1. All scrolling comments cross in
  // SCROLL_MS, so a longer one is faster: the row's previous one must have
  // fully entered and must leave before the new one can catch up with it,
  // and the new one must not reach a standing comment before it is gone.
  scrollRow(width, now) {
    const speed = (this.width + width) / SCROLL_MS;
    const reserved = [...this.reserved.values()];
    for (let i = 0; i < this.usableRows(); i++) {
      if (reserved.includes(i)) continue;
      const row = this.row(i, now);
      const prev = row.scroll.at(-1);
      if (prev) {
        const elapsed = now - prev.start;
        const prevSpeed = (prev.travel + prev.width) / SCROLL_MS;
        if (prevSpeed * elapsed < prev.width + LANE_GAP_PX) continue;
        if (speed > prevSpeed && speed * (SCROLL_MS - elapsed) > this.width - LANE_GAP_PX) continue;
      }
      if (row.fixed.some((f) => now + (this.width - f.right - LANE_GAP_PX) / speed < f.until)) continue;
      return i;
    }
    return -1;
  }

  // fixedRow returns the first row, from the top (or from the bottom),
  // where a comment width px wide can stand centered for FIXED_MS, or -1.
  fixedRow(width, fromBottom, now) {
    const end = now + FIXED_MS;
    for (let n = 0; n < this.usableRows(); n++) {
      const i = fromBottom ? this.rowCount - 1 - n : n;
      const row = this.row(i, now);
      if (row.fixed.length) continue;
      const crosses = this.passes(row, width).some(([reaches, leaves]) => reaches < end && leaves > now);
      if (!crosses) return i;
    }
    return -1;
  }

  // soonestRow returns the row, of those fixedRow looks at, where the
  // scrolling comments on screen are the first to be past the place of a
  // standing comment width px wide.
  soonestRow(width, fromBottom, now) {
    let best = -1;
    let bestAt = Infinity;
    for (let n = 0; n < this.usableRows(); n++) {
      const i = fromBottom ? this.rowCount - 1 - n : n;
      const row = this.row(i, now);
      const clearAt = Math.max(now, ...row.fixed.map((f) => f.until), ...this.passes(row, width).map(([, leaves]) => leaves));
      if (clearAt < bestAt) [best, bestAt] = [i, clearAt];
    }
    return best;
  }

  // passes returns when each scrolling comment of row reaches and leaves
  // the place, with its margins, of a standing comment width px wide.
  passes(row, width) {
    const left = (this.width - width) / 2 - LANE_GAP_PX;
    const right = left + width + 2 * LANE_GAP_PX;
    return row.scroll.map((s) => {
      const speed = (s.travel + s.width) / SCROLL_MS;
      return [s.start + (s.travel - right) / speed, s.start + (s.travel - left + s.width) / speed];
    });
  }

  // remove takes a deleted comment off the stage, or out of the queue.
  remove(id) {
    this.queue = this.queue.filter((item) => item.msg.id !== id);
    const el = this.overlay.querySelector(`.danmu[data-id="${CSS.escape(id)}"]`);
    for (const a of el?.getAnimations() ?? []) a.finish();
  }

  setVisible(visible) {
    this.visible = visible;
    this.overlay.hidden = !visible;
    if (!visible) {
      this.queue = [];
      for (const el of this.overlay.querySelectorAll('.danmu')) {
        for (const a of el.getAnimations()) a.finish();
      }
    }
  }
}

// Video paints the canvas that stands in for the stream: a slowly
// shifting sky, drifting lights and a waveform, with a LIVE badge and a
// running clock. It stops when motion is unwanted.
class Video {
  constructor(canvas) {
    this.canvas = canvas;
    this.ctx = canvas.getContext('2d');
    this.started = performance.now();
    // Each light is a glow drawn once into a sprite: blitting it is far
    // cheaper than a radial gradient each frame.
    this.lights = Array.from({ length: 14 }, (_, i) => ({
      x: (i * 0.137) % 1,
      y: 0.15 + ((i * 0.291) % 0.6),
      r: 0.03 + ((i * 0.071) % 0.07),
      speed: 0.004 + ((i * 0.0037) % 0.01),
      phase: i * 1.7,
      sprite: glowSprite((i * 47) % 360),
    }));
  }

  resize(width, height) {
    const ratio = Math.min(2, window.devicePixelRatio || 1);
    this.canvas.width = Math.max(1, Math.round(width * ratio));
    this.canvas.height = Math.max(1, Math.round(height * ratio));
    this.ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    this.width = width;
    this.height = height;
  }

  draw(now) {
    const { ctx, width: w, height: h } = this;
    if (!w || !h) return;
    const t = reducedMotion.matches ? 0 : (now - this.started) / 1000;
    const hue = (220 + Math.sin(t / 20) * 40) % 360;
    const sky = ctx.createLinearGradient(0, 0, 0, h);
    sky.addColorStop(0, `hsl(${hue}, 55%, 16%)`);
    sky.addColorStop(1, `hsl(${(hue + 60) % 360}, 60%, 8%)`);
    ctx.fillStyle = sky;
    ctx.fillRect(0, 0, w, h);

    for (const light of this.lights) {
      const x = (((light.x + t * light.speed) % 1.2) - 0.1) * w;
      const y = (light.y + Math.sin(t * 0.5 + light.phase) * 0.03) * h;
      const r = light.r * Math.min(w, h) * 1.6;
      ctx.drawImage(light.sprite, x - r, y - r, 2 * r, 2 * r);
    }

    ctx.beginPath();
    for (let x = 0; x <= w; x += 6) {
      const y = h * 0.82 + Math.sin(x / 40 + t * 2) * h * 0.03 * Math.sin(x / 300 + t / 3);
      if (x === 0) ctx.moveTo(x, y);
      else ctx.lineTo(x, y);
    }
    ctx.strokeStyle = 'rgba(255, 255, 255, 0.35)';
    ctx.lineWidth = 2;
    ctx.stroke();

    const unit = Math.max(11, h / 26);
    ctx.font = `700 ${unit}px system-ui, sans-serif`;
    ctx.textBaseline = 'middle';
    const badge = ctx.measureText('LIVE').width + unit;
    ctx.fillStyle = '#e0245e';
    ctx.fillRect(unit, h - unit * 2.6, badge, unit * 1.6);
    ctx.fillStyle = '#fff';
    ctx.fillText('LIVE', unit * 1.5, h - unit * 1.8);
    const seconds = Math.floor((now - this.started) / 1000);
    const clock = `${String(Math.floor(seconds / 60)).padStart(2, '0')}:${String(seconds % 60).padStart(2, '0')}`;
    ctx.fillStyle = 'rgba(255, 255, 255, 0.8)';
    ctx.fillText(clock, unit * 2 + badge, h - unit * 1.8);
  }
}

// glowSprite returns a small canvas holding a soft light of hue.
function glowSprite(hue) {
  const sprite = document.createElement('canvas');
  sprite.width = sprite.height = 64;
  const ctx = sprite.getContext('2d');
  const glow = ctx.createRadialGradient(32, 32, 0, 32, 32, 32);
  glow.addColorStop(0, `hsla(${hue}, 80%, 65%, 0.45)`);
  glow.addColorStop(1, `hsla(${hue}, 80%, 65%, 0)`);
  ctx.fillStyle = glow;
  ctx.fillRect(0, 0, 64, 64);
  return sprite;
}

// Meter computes the live panel's numbers over sliding windows.
class Meter {
  constructor() {
    this.arrivals = [];
    this.latencies = [];
  }

  record(now, latency) {
    this.arrivals.push(now);
    this.latencies.push({ at: now, ms: latency });
    if (this.latencies.length > 5000) this.latencies.splice(0, this.latencies.length - 5000);
  }

  rate(now) {
    while (this.arrivals.length && this.arrivals[0] < now - RATE_WINDOW_MS) this.arrivals.shift();
    return this.arrivals.length / (RATE_WINDOW_MS / 1000);
  }

  // percentiles returns [p50, p95] of the latencies of the last window, or null.
  percentiles(now) {
    while (this.latencies.length && this.latencies[0].at < now - LATENCY_WINDOW_MS) this.latencies.shift();
    if (this.latencies.length === 0) return null;
    const sorted = this.latencies.map((l) => l.ms).sort((a, b) => a - b);
    const at = (p) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
    return [at(0.5), at(0.95)];
  }
}

function formatMs(ms) {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
  return `${(ms / 1000).toFixed(1)} s`;
}

async function getJSON(url) {
  const res = await fetch(url, { headers: { Accept: 'application/json' } });
  if (!res.ok) throw new Error(`${url}: ${res.status}`);
  return res.json();
}

function main() {
  const params = new URLSearchParams(location.search);
  let room = params.get('room') ?? 'demo';
  // A token in the page's URL (?token=...) is sent with posts and to the
  // edge, for servers run with --jwt-secret and --viewer-tokens.
  const token = params.get('token');
  if (!validRoom(room)) {
    showNotice(`"${room}" is not a room id (1–64 of A-Z a-z 0-9 _ . : -); showing room "demo".`);
    room = 'demo';
  }
  const roomPath = `/v1/rooms/${encodeURIComponent(room)}`;
  const uid = userId();
  $('room-name').textContent = room;
  document.title = `${room} · danmu`;
  $('curl').textContent =
    `curl -X POST -H 'Content-Type: application/json' -d '{"text":"hello"}' ${location.origin}${roomPath}/danmaku`;

  const stageEl = $('stage');
  const counters = { shown: $('shown'), skipped: $('skipped') };
  const stage = new Stage($('overlay'), () => {
    counters.shown.textContent = stage.onScreen;
    counters.skipped.textContent = stage.skipped;
  });
  const video = new Video($('video'));
  const meter = new Meter();
  const fit = () => {
    const { width, height } = stageEl.getBoundingClientRect();
    stage.resize(width, height);
    video.resize(width, height);
  };
  fit();
  new ResizeObserver(fit).observe(stageEl);

  // The stand-in video is drawn at most 30 times a second: enough to look
  // alive, and cheap where drawing is done without a GPU.
  let drawn = 0;
  const frame = (now) => {
    if (now - drawn >= 1000 / 30 - 1) {
      video.draw(now);
      drawn = now;
    }
    stage.tick(now);
    requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);

  // Player controls.
  const toggle = $('toggle');
  toggle.addEventListener('click', () => {
    const on = toggle.getAttribute('aria-pressed') !== 'true';
    toggle.setAttribute('aria-pressed', String(on));
    toggle.textContent = on ? 'Comments on' : 'Comments off';
    stage.setVisible(on);
  });
  const density = $('density');
  density.value = settings.get('density') ?? density.value;
  stage.density = Number(density.value) || 0.67;
  density.addEventListener('change', () => {
    stage.density = Number(density.value) || 0.67;
    settings.set('density', density.value);
  });

  // Recent comments: the readable record of what flew by.
  const recent = $('recent');
  let pendingRecent = [];
  const addRecent = (msgs) => {
    const items = msgs.slice(-RECENT_MAX).map((msg) => {
      const li = document.createElement('li');
      const swatch = document.createElement('span');
      swatch.className = 'swatch';
      swatch.style.color = COLOR_RE.test(msg.color) ? msg.color : '#ffffff';
      const who = document.createElement('span');
      who.className = 'who';
      who.textContent = msg.name;
      li.append(swatch, who, msg.text);
      li.dataset.id = msg.id;
      return li;
    });
    recent.prepend(...items.reverse());
    while (recent.children.length > RECENT_MAX) recent.lastElementChild.remove();
  };

  // Connection status.
  const status = $('status');
  const reconnect = $('reconnect');
  let retryAt = 0;
  const describe = (s) => {
    switch (s.state) {
      case 'connecting':
        return 'connecting…';
      case 'open':
        return client?.transport === 'sse' ? 'live (SSE)' : 'live';
      case 'waiting':
        return `reconnecting in ${Math.max(1, Math.ceil((retryAt - Date.now()) / 1000))} s`;
      case 'closed':
        return s.code ? `disconnected (${s.code}${s.reason ? `: ${s.reason}` : ''})` : 'disconnected';
      default:
        return 'starting…';
    }
  };
  let lastState = { state: 'idle' };
  const showState = (s) => {
    lastState = s;
    retryAt = s.state === 'waiting' ? s.retryAt : 0;
    status.dataset.state = s.state;
    status.dataset.transport = client?.transport ?? '';
    if (retryAt) status.dataset.retryAt = String(retryAt);
    else delete status.dataset.retryAt;
    status.textContent = describe(s);
    reconnect.hidden = !(s.state === 'waiting' || s.state === 'closed');
  };

  // Live panel numbers, refreshed a few times a second.
  const stats = {
    rate: $('rate'),
    lat50: $('lat50'),
    lat95: $('lat95'),
    dropped: $('dropped'),
    reconnects: $('reconnects'),
    gaps: $('gaps'),
  };
  let client = null;
  setInterval(() => {
    const now = Date.now();
    stats.rate.textContent = meter.rate(now).toFixed(1);
    const p = meter.percentiles(now);
    stats.lat50.textContent = p ? formatMs(p[0]) : '–';
    stats.lat95.textContent = p ? formatMs(p[1]) : '–';
    if (client) {
      const s = client.stats;
      stats.dropped.textContent = s.dropped;
      stats.reconnects.textContent = s.reconnects;
      stats.gaps.textContent = s.gaps;
    }
    if (pendingRecent.length) {
      addRecent(pendingRecent);
      pendingRecent = [];
    }
    if (lastState.state === 'waiting') status.textContent = describe(lastState);
  }, 250);

  // Online count: polled, and pushed by the server where it does so.
  const online = $('online');
  const pollOnline = async () => {
    if (document.visibilityState === 'visible') {
      try {
        const body = await getJSON(roomPath);
        if (Number.isFinite(body.online)) online.textContent = body.online;
      } catch {
        online.textContent = '–';
      }
    }
  };
  setInterval(pollOnline, ONLINE_POLL_MS);
  document.addEventListener('visibilitychange', pollOnline);

  setupSendBox(roomPath, uid, token);

  // Data saver: a thinned stream from the server (max_rate), priority
  // comments always; switching reconnects from the last comment shown.
  const saver = $('saver');
  saver.checked = settings.get('saver') === 'on';
  let config = null;
  // transport is the client's: a page that fell back to SSE stays there.
  const open = (since, transport = 'auto') => {
    const wsURL = new URL(config.ws);
    const sseURL = new URL(config.sse);
    if (token) {
      wsURL.searchParams.set('token', token);
      sseURL.searchParams.set('token', token);
    }
    const c = new DanmuClient({ url: wsURL.href, sseUrl: sseURL.href, transport, maxRate: saver.checked ? SAVER_RATE : 0 });
    c.on('state', showState);
    c.on('transport', () => showState(lastState));
    c.on('message', ({ msg }) => {
      const now = Date.now();
      if (Number.isFinite(msg.ts)) meter.record(now, now - msg.ts);
      stage.add(msg, msg.uid === uid, performance.now());
      pendingRecent.push(msg);
    });
    // A (re)join changes the count: ask at once rather than at the next poll.
    c.on('joined', pollOnline);
    c.on('online', ({ count }) => {
      online.textContent = count;
    });
    c.on('delete', ({ id }) => {
      stage.remove(id);
      pendingRecent = pendingRecent.filter((msg) => msg.id !== id);
      recent.querySelector(`li[data-id="${CSS.escape(id)}"]`)?.remove();
    });
    c.on('error', ({ code, message }) => showNotice(`Server refused a request: ${code}: ${message}`));
    c.join(room, { since });
    c.connect();
    return c;
  };
  saver.addEventListener('change', () => {
    settings.set('saver', saver.checked ? 'on' : 'off');
    if (!client) return;
    const since = client.lastId(room) ?? undefined;
    client.close();
    client = open(since, client.transport === 'sse' ? 'sse' : 'auto');
  });
  reconnect.addEventListener('click', () => client?.connect());

  const start = async () => {
    config = await getJSON('/config.json');
    // Start from the newest stored comment: they show in the recent list,
    // and the join replays anything posted since, so nothing between the
    // two is missed.
    let since;
    try {
      const history = await getJSON(`${roomPath}/danmaku?limit=${HISTORY_LIMIT}`);
      addRecent(history.msgs);
      since = history.msgs.length ? history.msgs[history.msgs.length - 1].id : '0';
    } catch {
      since = undefined;
    }
    client = open(since);
  };
  start().catch((err) => {
    showState({ state: 'closed' });
    showNotice(`Cannot start: ${err.message}`);
  });
}

// The API's error codes, said for people.
const SEND_ERRORS = {
  empty_text: 'Write something first.',
  text_too_long: 'That is too long: 100 characters at most.',
  invalid_text: 'Comments are one line, without tabs or control characters.',
  invalid_name: 'Names are up to 32 characters, without control characters.',
  invalid_color: 'Pick a color.',
};

function setupSendBox(roomPath, uid, token) {
  const form = $('send');
  const text = $('text');
  const name = $('name');
  const color = $('color');
  const mode = $('mode');
  const button = $('send-button');
  const result = $('send-status');
  name.value = settings.get('name') ?? '';
  color.value = COLOR_RE.test(settings.get('color') ?? '') ? settings.get('color') : '#ffffff';
  mode.value = ['scroll', 'top', 'bottom'].includes(settings.get('mode')) ? settings.get('mode') : 'scroll';
  for (const [el, key] of [[name, 'name'], [color, 'color'], [mode, 'mode']]) {
    el.addEventListener('change', () => settings.set(key, el.value));
  }
  const say = (message, kind) => {
    result.textContent = message;
    result.dataset.kind = kind;
  };

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const comment = text.value.trim();
    if (!comment) {
      say(SEND_ERRORS.empty_text, 'error');
      text.focus();
      return;
    }
    const body = { text: comment, color: color.value, mode: mode.value, uid };
    if (name.value.trim()) body.name = name.value.trim();
    button.disabled = true;
    try {
      const res = await fetch(`${roomPath}/danmaku`, {
        method: 'POST',
        headers: token
          ? { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` }
          : { 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
      const answer = await res.json().catch(() => ({}));
      if (res.status === 201) {
        text.value = '';
        say('Sent.', 'ok');
      } else {
        const code = answer.error?.code;
        say(SEND_ERRORS[code] ?? answer.error?.message ?? `The server answered ${res.status}.`, 'error');
      }
    } catch {
      say('Cannot reach the server; try again in a moment.', 'error');
    } finally {
      button.disabled = false;
      text.focus();
    }
  });
}

main();
