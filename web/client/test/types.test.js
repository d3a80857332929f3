// The hand-written declarations (danmu.d.ts) against the code (danmu.js):
// the same exports, events and constants. pack.test.js type-checks a typed
// use (types/usage.ts) against the installed package; `npm run typecheck`
// does it against this directory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import * as client from '../danmu.js';

const dir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const js = readFileSync(path.join(dir, 'danmu.js'), 'utf8');
const dts = readFileSync(path.join(dir, 'danmu.d.ts'), 'utf8');

test('danmu.d.ts declares exactly the values danmu.js exports', () => {
  const declared = [...dts.matchAll(/^export (?:declare )?(?:const|function|class) (\w+)/gm)].map((m) => m[1]);
  assert.deepEqual(declared.sort(), Object.keys(client).sort());
});

test('DanmuEventMap lists exactly the events DanmuClient emits', () => {
  const emitted = new Set([...js.matchAll(/#emit\('(\w+)'/g)].map((m) => m[1]));
  const map = dts.match(/export interface DanmuEventMap \{([\s\S]*?)\n\}/);
  assert.ok(map, 'no DanmuEventMap in danmu.d.ts');
  const declared = new Set([...map[1].matchAll(/^ {2}(\w+): \{/gm)].map((m) => m[1]));
  assert.deepEqual([...declared].sort(), [...emitted].sort());
});

test('the declared constants match the code', () => {
  assert.match(dts, new RegExp(client.FATAL_CLOSE_CODES.join(', ')));
  for (const [key, value] of Object.entries(client.DEFAULTS)) {
    assert.match(dts, new RegExp(`${key}[^\\n]*\\(${value}\\)|\\(${value}\\)[^\\n]*\\n[^\\n]*${key}`), `DEFAULTS.${key}`);
  }
});
