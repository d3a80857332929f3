// The package as users get it: `npm pack` makes a tarball of the intended
// files only; installed into an empty project, it type-checks and, imported
// by its name from Node, receives a comment from a real `danmu serve`,
// which serves the very file the package ships as /danmu.js.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { Server, build, repoRoot } from '../../testutil/server.js';

const dir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const quiet = ['--no-audit', '--no-fund', '--loglevel=error'];

let tmp;
let tarball;
let project;
let server;

before(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'danmu-client-pack-'));
  const [packed] = JSON.parse(
    execFileSync(npm, ['pack', '--json', '--ignore-scripts', '--pack-destination', tmp, ...quiet], { cwd: dir, encoding: 'utf8' }),
  );
  tarball = packed;
  project = path.join(tmp, 'project');
  mkdirSync(project);
  writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  // The package has no dependencies: installing it needs no registry.
  execFileSync(npm, ['install', '--offline', '--ignore-scripts', path.join(tmp, packed.filename), ...quiet], { cwd: project });
  // The consumer's own dependencies for Node 20 and the type check, from
  // this package's devDependencies.
  for (const dep of ['ws', '@types']) {
    symlinkSync(path.join(dir, 'node_modules', dep), path.join(project, 'node_modules', dep), 'dir');
  }
  build();
  server = await Server.onFreePorts();
  await server.start();
});

after(async () => {
  await server?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

test('the tarball holds package.json, README.md, LICENSE, danmu.js and danmu.d.ts only', () => {
  assert.equal(tarball.name, pkg.name);
  assert.equal(tarball.filename, `${pkg.name}-${pkg.version}.tgz`);
  assert.deepEqual(tarball.files.map((f) => f.path).sort(), ['LICENSE', 'README.md', 'danmu.d.ts', 'danmu.js', 'package.json']);
  assert.equal(tarball.entryCount, 5);
});

test("the package's LICENSE is the repository's", () => {
  assert.equal(readFileSync(path.join(dir, 'LICENSE'), 'utf8'), readFileSync(path.join(repoRoot, 'LICENSE'), 'utf8'));
});

test('the installed package is the file the server embeds and serves as /danmu.js', async () => {
  const installed = readFileSync(path.join(project, 'node_modules', pkg.name, 'danmu.js'), 'utf8');
  assert.equal(installed, readFileSync(path.join(dir, 'danmu.js'), 'utf8'));
  const res = await fetch(`${server.httpURL}/danmu.js`);
  assert.equal(res.status, 200);
  assert.equal(await res.text(), installed);
});

test('the typed usage example type-checks against the installed package', () => {
  cpSync(path.join(dir, 'test', 'types', 'usage.ts'), path.join(project, 'usage.ts'));
  cpSync(path.join(dir, 'test', 'types', 'tsconfig.json'), path.join(project, 'tsconfig.json'));
  try {
    execFileSync(process.execPath, [path.join(dir, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', project], { encoding: 'utf8' });
  } catch (err) {
    assert.fail(`tsc failed:\n${err.stdout}${err.stderr}`);
  }
});

test('imported by name from Node, the package joins a room and receives a posted comment', () => {
  // A user's script, run in the consumer project so that 'danmu-client'
  // resolves to the installed tarball.
  const script = `
import WebSocket from 'ws';
import { DanmuClient } from '${pkg.name}';

const [wsURL, httpURL] = process.argv.slice(2);
const timer = setTimeout(() => { console.error('timed out'); process.exit(1); }, 15000);
const client = new DanmuClient({ url: wsURL, WebSocket });
const states = [];
client.on('state', ({ state }) => states.push(state));
client.on('joined', async ({ room }) => {
  const res = await fetch(httpURL + '/v1/rooms/' + room + '/danmaku', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ text: 'hello from npm', name: 'Ann', color: '#ff8800', mode: 'top', cid: 'pack-1' }),
  });
  if (res.status !== 201) { console.error('POST', res.status, await res.text()); process.exit(1); }
});
client.on('message', ({ room, msg }) => {
  clearTimeout(timer);
  client.close();
  console.log(JSON.stringify({ room, msg, states, lastId: client.lastId(room), stats: client.stats }));
});
client.join('npm-pack');
client.connect();
`;
  writeFileSync(path.join(project, 'consumer.js'), script);
  const out = execFileSync(process.execPath, ['consumer.js', server.wsURL, server.httpURL], { cwd: project, encoding: 'utf8', timeout: 20000 });
  const got = JSON.parse(out);
  assert.equal(got.room, 'npm-pack');
  assert.equal(got.msg.text, 'hello from npm');
  assert.equal(got.msg.name, 'Ann');
  assert.equal(got.msg.color, '#ff8800');
  assert.equal(got.msg.mode, 'top');
  assert.equal(got.msg.cid, 'pack-1');
  assert.equal(typeof got.msg.uid, 'string');
  assert.equal(typeof got.msg.ts, 'number');
  assert.equal(got.lastId, got.msg.id);
  assert.deepEqual(got.states, ['connecting', 'open', 'closed']);
  assert.deepEqual(got.stats, { reconnects: 0, duplicates: 0, gaps: 0, dropped: 0 });
});
