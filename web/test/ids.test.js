// Table tests of the client's pure helpers: id comparison, validation and
// the backoff schedule.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { backoffDelay, compareIds, validId, validRoom } from '../client/danmu.js';

test('compareIds compares milliseconds, then sequence, as numbers', () => {
  const cases = [
    ['1-0', '1-0', 0],
    ['1-0', '1-1', -1],
    ['1-1', '1-0', 1],
    ['999-0', '1000-0', -1],
    ['1000-0', '999-9', 1],
    ['5-10', '5-9', 1],
    ['5', '5-0', 0],
    ['5', '5-1', -1],
    ['0', '0-0', 0],
    ['007-0', '7-0', 0],
    ['1795633890065-0', '1795633890064-99', 1],
    // Beyond Number's exact range: 2^64-1 and its predecessor.
    ['18446744073709551615-0', '18446744073709551614-0', 1],
    ['1-18446744073709551615', '1-18446744073709551614', 1],
  ];
  for (const [a, b, want] of cases) {
    assert.equal(compareIds(a, b), want, `compareIds(${a}, ${b})`);
    assert.equal(compareIds(b, a), -want || 0, `compareIds(${b}, ${a})`);
  }
});

test('validId accepts <ms>-<seq> and <ms>', () => {
  for (const id of ['0', '1-0', '1795633890065-12']) assert.ok(validId(id), id);
  for (const id of ['', '-', '1-', '-1', 'a-1', '1-b', '1-2-3', ' 1-2', '1.5-0', null, 5]) {
    assert.ok(!validId(id), JSON.stringify(id));
  }
});

test('validRoom follows the server: 1-64 of A-Z a-z 0-9 _ . : -', () => {
  for (const room of ['a', 'lobby', 'A_b.c:d-9', 'x'.repeat(64)]) assert.ok(validRoom(room), room);
  for (const room of ['', 'a b', 'a/b', 'x'.repeat(65), 'é', null, 7]) {
    assert.ok(!validRoom(room), JSON.stringify(room));
  }
});

test('backoffDelay doubles from minDelay to maxDelay, less the jitter drawn', () => {
  const opts = { minDelay: 500, maxDelay: 30000, jitter: 0.5 };
  const cases = [
    [0, 0, 500],
    [0, 1, 250],
    [1, 0, 1000],
    [2, 0.5, 1500],
    [5, 0, 16000],
    [6, 0, 30000],
    [60, 0, 30000],
    [2000, 1, 15000],
  ];
  for (const [attempt, draw, want] of cases) {
    assert.equal(backoffDelay(attempt, opts, () => draw), want, `attempt ${attempt}, random ${draw}`);
  }
  assert.equal(backoffDelay(3, { minDelay: 100, maxDelay: 10000, jitter: 0 }, () => 0.9), 800);
});
