// waitFor / within: the deadline and the message a failed wait gives.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor, WaitTimeout, within } from './wait.js';

test('waitFor returns the first value that is not undefined, null or false (0 counts)', async () => {
  let calls = 0;
  const value = await waitFor(() => (++calls < 3 ? undefined : 0), { timeoutMs: 5000, what: 'a zero', intervalMs: 1 });
  assert.equal(value, 0);
  assert.equal(calls, 3);
});

test('a wait that times out says what it waited for and what it saw last', async () => {
  await assert.rejects(
    waitFor((seen) => (seen({ behind: 3 }), false), { timeoutMs: 30, what: 'the aggregator to catch up', intervalMs: 5 }),
    (error: Error) => {
      assert.ok(error instanceof WaitTimeout);
      assert.match(error.message, /^timed out after 30 ms waiting for the aggregator to catch up; last seen: \{"behind":3\}$/);
      return true;
    },
  );
});

test('a throwing probe ends the wait at once, unless retryOnError', async () => {
  let calls = 0;
  await assert.rejects(waitFor(() => { calls += 1; throw new Error('child exited'); }, { timeoutMs: 5000, what: 'x' }), /child exited/);
  assert.equal(calls, 1);
  let attempts = 0;
  const value = await waitFor(
    () => {
      attempts += 1;
      if (attempts < 3) throw new Error('ECONNREFUSED');
      return 'up';
    },
    { timeoutMs: 5000, what: 'a server', intervalMs: 1, retryOnError: true },
  );
  assert.equal(value, 'up');
  await assert.rejects(
    waitFor(() => { throw new Error('ECONNREFUSED'); }, { timeoutMs: 20, what: 'a server', intervalMs: 5, retryOnError: true }),
    /waiting for a server; last seen: ECONNREFUSED/,
  );
});

test('a probe that never settles ends the wait at the deadline, with what it saw', async () => {
  let calls = 0;
  await assert.rejects(
    waitFor(
      (seen) => {
        calls += 1;
        seen('asked /readyz');
        return calls === 1 ? false : new Promise<never>(() => undefined);
      },
      { timeoutMs: 50, what: 'a hanging request', intervalMs: 1 },
    ),
    (error: Error) => {
      assert.ok(error instanceof WaitTimeout);
      assert.match(error.message, /^timed out after 50 ms waiting for a hanging request; last seen: asked \/readyz$/);
      return true;
    },
  );
  assert.equal(calls, 2);
});

test('within: the promise, or a timeout naming what it waited for (evaluated at the timeout)', async () => {
  assert.equal(await within(Promise.resolve(7), { timeoutMs: 1000, what: 'seven' }), 7);
  let got = 0;
  const never = new Promise<never>(() => undefined);
  setTimeout(() => (got = 2), 1);
  await assert.rejects(within(never, { timeoutMs: 10, what: () => `records (got ${got})` }), /^WaitTimeout: timed out after 10 ms waiting for records \(got 2\)$/);
});
