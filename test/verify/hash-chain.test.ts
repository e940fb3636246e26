import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CHAIN_GENESIS, chainStep } from '../../src/verify/hash-chain.js';
import { referenceChainHeads } from './support/reference-chain.js';

test('chainStep follows h(n) = SHA-256(h(n-1) || int64 BE offset || value), null contributing nothing', () => {
  const records = [
    { offset: 0, value: Buffer.from('first') },
    { offset: 1, value: null },
    { offset: 7, value: Buffer.alloc(0) },
    { offset: 2 ** 32 + 5, value: Buffer.from('beyond 32 bits') },
    { offset: 2 ** 53 - 1, value: Buffer.from([0, 1, 2]) },
  ];
  const expected = referenceChainHeads(records);
  let head = CHAIN_GENESIS;
  const heads = records.map(({ offset, value }) => (head = chainStep(head, offset, value)).toString('hex'));
  assert.deepEqual(heads, expected);
});

test('a null value and an empty value chain the same, and a changed byte changes every later head', () => {
  assert.equal(chainStep(CHAIN_GENESIS, 3, null).toString('hex'), chainStep(CHAIN_GENESIS, 3, Buffer.alloc(0)).toString('hex'));
  const a = chainStep(chainStep(CHAIN_GENESIS, 0, Buffer.from('vote')), 1, Buffer.from('next'));
  const b = chainStep(chainStep(CHAIN_GENESIS, 0, Buffer.from('votf')), 1, Buffer.from('next'));
  assert.notEqual(a.toString('hex'), b.toString('hex'));
  assert.equal(CHAIN_GENESIS.toString('hex'), '0'.repeat(64), 'genesis is 32 zero bytes and is never mutated');
});
