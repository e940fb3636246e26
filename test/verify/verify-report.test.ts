import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatReport, type VerifyReport } from '../../src/verify/verify-report.js';

const base: VerifyReport = {
  ok: true,
  topic: 'votes',
  filter: {},
  startedAt: '2026-01-01T00:00:00.000Z',
  durationMs: 2500,
  recountMs: 2000,
  records: 200_000,
  recordsPerSecond: 100_000,
  partitions: [
    { partition: 0, end: 120_000, records: 120_000, outcomes: { accepted: 100_000, duplicate: 19_000, invalid: 1000 }, chainHead: 'a'.repeat(64), talliesDigest: 'd', checkpointsChecked: 12, liveChecked: 3 },
    { partition: 1, end: 80_000, records: 80_000, outcomes: { accepted: 70_000, duplicate: 9000, invalid: 1000 }, chainHead: 'b'.repeat(64), talliesDigest: 'e', checkpointsChecked: 8, liveChecked: 2 },
  ],
  checkpoints: { checked: 20, matched: 20 },
  live: { checked: 5, matched: 5, surveys: ['7', '9'], skippedSurveys: [] },
  differences: [],
  differenceCount: 0,
};

test('the text report says what was checked and that it matched', () => {
  const text = formatReport(base);
  assert.match(text, /recounted 200,000 records in 2 partitions, 2\.5 s \(100,000 records\/s\)/);
  assert.match(text, /checkpoints: {2}20 of 20 match/);
  assert.match(text, /live tallies: 5 of 5 partials match, surveys compared: 7, 9/);
  assert.match(text, new RegExp(`^1 +80,000 +70,000 +9,000 +1,000 +8 +2 +${'b'.repeat(64)}$`, 'm'));
  assert.match(text, /^OK: /m);
});

test('the text report names the first difference with its partition and offset', () => {
  const text = formatReport({
    ...base,
    ok: false,
    checkpoints: { checked: 20, matched: 19 },
    differences: [
      { kind: 'checkpoint-chain-head', partition: 1, offset: '39999', checkpointId: '17', recount: 'b', stored: 'c', detail: 'chain head differs: recount b, checkpoint c' },
      { kind: 'live-tally', partition: 1, offset: '80000', surveyId: '9', detail: 'votes.q1.o2: recount 3, live 4' },
    ],
    differenceCount: 2,
  });
  assert.match(text, /^MISMATCH \(TALLY_ERR_VERIFY_MISMATCH\): 2 difference\(s\)\. First: checkpoint-chain-head \(checkpoint #17, partition 1 at offset 39999\): chain head differs/m);
  assert.match(text, /also: live-tally \(survey 9, partition 1 at offset 80000\): votes\.q1\.o2: recount 3, live 4/);
  assert.doesNotMatch(text, /^OK/m);
});
