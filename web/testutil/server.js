// Helpers that build and run a real `danmu serve` for the Node and browser
// tests: on loopback, on free ports, with the embedded stream.
import { spawn, execFileSync } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const binary = path.join(repoRoot, 'bin', 'danmu');

/** build compiles bin/danmu from the working tree (quick when cached). */
export function build() {
  execFileSync(process.env.GO ?? 'go', ['build', '-o', binary, './cmd/danmu'], { cwd: repoRoot, stdio: 'inherit' });
}

/** freePort returns a TCP port of 127.0.0.1 that nothing listens on now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Server is one `bin/danmu serve` process. start runs it on wsPort and
 * httpPort and resolves once /healthz answers; stop ends it.
 */
export class Server {
  constructor({ wsPort, httpPort, logDir, args = [] }) {
    this.wsPort = wsPort;
    this.httpPort = httpPort;
    this.logDir = logDir;
    this.args = args;
    this.httpURL = `http://127.0.0.1:${httpPort}`;
    this.wsURL = `ws://127.0.0.1:${wsPort}/ws`;
    this.sseURL = `http://127.0.0.1:${wsPort}/sse`;
    this.runs = 0;
    this.process = null;
  }

  static async onFreePorts(options = {}) {
    return new Server({ wsPort: await freePort(), httpPort: await freePort(), ...options });
  }

  async start() {
    if (this.process) throw new Error('server already running');
    this.runs++;
    // The tests choose every setting: none may come from the environment.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('DANMU_')));
    // No admin address: its default port is one per machine, and danmu
    // refuses to start when it is taken.
    const args = ['serve', `--ws-addr=127.0.0.1:${this.wsPort}`, `--http-addr=127.0.0.1:${this.httpPort}`, '--admin-addr=', ...this.args];
    const child = spawn(binary, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    if (this.logDir) {
      mkdirSync(this.logDir, { recursive: true });
      const log = createWriteStream(path.join(this.logDir, `server-${this.runs}.log`));
      child.stdout.pipe(log);
      child.stderr.pipe(log);
    } else {
      child.stdout.resume();
      child.stderr.resume();
    }
    this.process = child;
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    const deadline = Date.now() + 15000;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) {
        this.process = null;
        throw new Error(`danmu serve exited at start (${child.exitCode ?? child.signalCode})`);
      }
      try {
        const res = await fetch(`${this.httpURL}/healthz`);
        if (res.ok) return;
      } catch {
        // Not listening yet.
      }
      if (Date.now() > deadline) throw new Error('danmu serve did not become healthy within 15 s');
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** stop ends the process with signal and waits until it is gone. */
  async stop(signal = 'SIGTERM') {
    const child = this.process;
    if (!child) return;
    this.process = null;
    child.kill(signal);
    await this.exited;
  }

  /** post publishes a comment and returns the API's answer ({id, ts}). */
  async post(room, comment) {
    const res = await fetch(`${this.httpURL}/v1/rooms/${encodeURIComponent(room)}/danmaku`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(comment),
    });
    const body = await res.json();
    if (res.status !== 201) throw new Error(`POST ${room}: ${res.status} ${JSON.stringify(body)}`);
    return body;
  }
}

/** waitFor polls check every 20 ms until it returns a truthy value. */
export async function waitFor(check, { timeout = 10000, what = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
