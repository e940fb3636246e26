// Issue 13, defect 3, the verifier's side: the same 404 grace as the aggregator (docs/counting-rules.md),
// so a registry hiccup during `tally verify` does not turn valid votes into `invalid` in the recount.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WriterSchemas } from '../../src/verify/writer-schemas.js';
import { startRegistryStub } from '../support/registry-stub.js';

const record = (id: number) => {
  const value = Buffer.alloc(8);
  value.writeUInt32BE(id, 1);
  return { value };
};

test('two 404s, then the schema: the recount knows the id', async () => {
  const registry = await startRegistryStub((_, request) => request <= 2);
  try {
    const schemas = new WriterSchemas(registry.url, 'votes-verify-unit', 60_000);
    await schemas.prepare([record(5)]);
    assert.equal(schemas.decoder.hasSchema(5), true);
  } finally {
    await registry.close();
  }
});

test('404 for the whole grace: the id stays unknown (its records are invalid)', async () => {
  const registry = await startRegistryStub(() => true);
  try {
    const schemas = new WriterSchemas(registry.url, 'votes-verify-unit', 300);
    await schemas.prepare([record(6)]);
    assert.equal(schemas.decoder.hasSchema(6), false);
    const asked = registry.requests.get(6)!;
    assert.ok(asked >= 2, 'asked again before giving up');
    await schemas.prepare([record(6)]);
    assert.equal(registry.requests.get(6), asked, 'decided once per run');
  } finally {
    await registry.close();
  }
});
