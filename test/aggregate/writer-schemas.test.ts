// Issue 13, defect 3: one 404 from the registry marked a schema id unusable for the worker's life,
// so its valid votes went to the DLQ for good while another owner that got a 200 counted them. A
// 404 is now retried with backoff, and only a registry that answers 404 for the whole grace window
// (TALLY_SCHEMA_NOT_FOUND_GRACE_MS) makes the id unusable (docs/counting-rules.md).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VoteDecoder } from '../../src/vote-codec.js';
import { isTallyError } from '../../src/errors.js';
import { WriterSchemas } from '../../src/aggregate/writer-schemas.js';
import { startRegistryStub } from '../support/registry-stub.js';

test('a registry hiccup (two 404s, then the schema): the id resolves, its records are not invalid', async () => {
  const registry = await startRegistryStub((_, request) => request <= 2);
  try {
    const decoder = new VoteDecoder();
    const schemas = new WriterSchemas(registry.url, decoder, 60_000);
    await schemas.resolve([7]);
    assert.equal(decoder.hasSchema(7), true);
    assert.equal(schemas.problemWith(7), null);
    assert.equal(registry.requests.get(7), 3);
  } finally {
    await registry.close();
  }
});

test('404 inside the grace: the batch fails as unavailable (retried), the id is not declared unusable', async () => {
  const registry = await startRegistryStub(() => true);
  try {
    let now = 1_000_000;
    const schemas = new WriterSchemas(registry.url, new VoteDecoder(), 30_000, () => now);
    await assert.rejects(schemas.resolve([9]), (error) => isTallyError(error, 'TALLY_ERR_UNAVAILABLE') && /404 for schema id 9/.test(error.message));
    assert.equal(schemas.isResolved(9), false, 'not unusable yet: the next attempt asks the registry again');
    now += 10_000;
    await assert.rejects(schemas.resolve([9]));
    // The registry has answered 404 for the whole window: now the records are invalid.
    now += 20_000;
    await schemas.resolve([9]);
    assert.equal(schemas.isResolved(9), true);
    assert.match(schemas.problemWith(9)!, /unknown writer schema id 9 \(not in the registry for 30000 ms\)/);
  } finally {
    await registry.close();
  }
});

test('a grace of 0 keeps the old rule: the first 404 makes the id unusable', async () => {
  const registry = await startRegistryStub(() => true);
  try {
    const schemas = new WriterSchemas(registry.url, new VoteDecoder(), 0);
    await schemas.resolve([11]);
    assert.match(schemas.problemWith(11)!, /unknown writer schema id 11/);
    assert.equal(registry.requests.get(11), 1);
  } finally {
    await registry.close();
  }
});

test('a short grace with retries further apart than the grace still ends (the window is not restarted by the partition\'s retry delay)', async () => {
  const registry = await startRegistryStub(() => true);
  try {
    let now = 5_000_000;
    const schemas = new WriterSchemas(registry.url, new VoteDecoder(), 200, () => now);
    await assert.rejects(schemas.resolve([12]));
    now += 1000; // the partition retries the batch a second later
    await schemas.resolve([12]);
    assert.match(schemas.problemWith(12)!, /not in the registry for 1000 ms/);
  } finally {
    await registry.close();
  }
});
