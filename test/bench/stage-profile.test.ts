// The per-stage split of `bench aggregate --profile`: a perf sample (frames leaf first) goes to the
// stage of the first matching frame, and SHA-256 and GC samples to the stage of their caller.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stageOf } from '../../bench/aggregate/stage-profile.js';

const jsFrame = (name: string, file: string): string => `JS:*${name} file:///app/dist/src/${file}:10:3 (/tmp/perf-1.map)`;

test('SHA-256 in OpenSSL counts as the hash chain or the Merkle tree, by its caller', () => {
  const sha = ['sha256_block_data_order_avx2 (/usr/lib/libcrypto.so.3)', 'EVP_Digest (/usr/lib/libcrypto.so.3)', 'node::crypto::Hash::OneShotDigest (/usr/bin/node)'];
  assert.equal(stageOf([...sha, jsFrame('hash', '../node/internal/crypto/hash.js'), jsFrame('chain', 'aggregate/record-reader.js'), jsFrame('process', 'aggregate/partition-processor.js')]), 'hash chain (SHA-256 and its call)');
  assert.equal(stageOf([...sha, jsFrame('leafDigest', 'aggregate/record-reader.js'), jsFrame('process', 'aggregate/partition-processor.js')]), 'Merkle tree (leaf and node SHA-256, accumulator)');
  assert.equal(stageOf([...sha, jsFrame('nodeDigest', 'merkle-tree.js'), jsFrame('pushDigest', 'merkle-tree.js')]), 'Merkle tree (leaf and node SHA-256, accumulator)');
  assert.equal(stageOf([...sha, jsFrame('talliesDigest', 'partition-tally.js')]), 'SHA-256 (other callers)');
});

test('GC is split into young (scavenges) and old generation', () => {
  assert.equal(stageOf(['v8::internal::Heap::CopyBlock (/usr/bin/node)', 'v8::internal::ScavengerCollector::CollectGarbage (/usr/bin/node)']), 'GC: young generation (scavenge)');
  assert.equal(stageOf(['v8::internal::ConcurrentMarking::RunMajor (/usr/bin/node)']), 'GC: old generation (mark, sweep, compact)');
});

test('the worker\'s own files each have their stage; the read loop itself is the processor loop', () => {
  assert.equal(stageOf(['Builtins_FindOrderedHashMapEntry (/usr/bin/node)', jsFrame('want', 'aggregate/voter-ledger.js')]), 'voter ledger (memory, lookups)');
  assert.equal(stageOf([jsFrame('countMinute', 'aggregate/partition-state.js')]), 'counting (one-vote rules, tallies, buckets)');
  assert.equal(stageOf([jsFrame('writeChanges', 'aggregate/partition-state.js')]), 'persist (changed keys, position, checkpoint, digest)');
  assert.equal(stageOf([jsFrame('keyIsForSurvey', 'aggregate/record-reader.js')]), 'record reader (rules, key check, castAt, DLQ entries)');
  assert.equal(stageOf([jsFrame('process', 'aggregate/partition-processor.js')]), 'processor loop (partition-processor.js, and what V8 inlined into it)');
  assert.equal(stageOf(['pvm_irq_enable ([kernel.kallsyms])']), null);
});
