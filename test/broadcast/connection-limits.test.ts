// Unit: when a cluster worker asks to stop accepting, and when it accepts again. It asks a little
// before its cap (asking is a round trip to the primary, and connections it accepts meanwhile must
// still fit), and resumes only well below the point where it asked.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConnectionLimits } from '../../src/broadcast/connection-limits.js';
import type { AcceptGate } from '../../src/role-cluster.js';

class RecordingGate implements AcceptGate {
  accepting = true;
  fullCalls = 0;
  roomCalls = 0;
  full(): Promise<void> {
    this.fullCalls += 1;
    this.accepting = false;
    return Promise.resolve();
  }
  room(): void {
    this.roomCalls += 1;
    this.accepting = true;
  }
}

function admitMany(limits: ConnectionLimits, count: number, from = 0): void {
  for (let i = from; i < from + count; i += 1) assert.equal(limits.admit(`10.0.${i >> 8}.${i & 255}`), undefined);
}

test('a worker of 18,000 asks to pause at 17,872 streams (128 before its cap) and still admits up to 18,000', () => {
  const limits = new ConnectionLimits(18_000, 10);
  const gate = new RecordingGate();
  limits.attachGate(gate);
  admitMany(limits, 17_871);
  assert.equal(limits.settled(), undefined, 'below the pause point nothing is asked');
  admitMany(limits, 1, 17_871);
  assert.ok(limits.settled() instanceof Promise, 'at the pause point the worker asks to stop accepting');
  assert.equal(gate.fullCalls, 1);
  admitMany(limits, 128, 17_872); // what it accepted while the primary answered still fits
  assert.equal(limits.open, 18_000);
  assert.equal(limits.admit('10.99.0.1')?.reason, 'capacity', 'beyond the cap: 503');
});

test('a paused worker accepts again only once it is below the pause point by the resume band', () => {
  const limits = new ConnectionLimits(18_000, 10);
  const gate = new RecordingGate();
  limits.attachGate(gate);
  admitMany(limits, 18_000);
  void limits.settled();
  let i = 17_999;
  const release = () => {
    limits.release(`10.0.${i >> 8}.${i & 255}`);
    i -= 1;
  };
  while (limits.open > 17_872 - 256 + 1) release();
  assert.equal(gate.roomCalls, 0, 'still within the band: stays paused');
  release();
  assert.equal(limits.open, 17_616);
  assert.equal(gate.roomCalls, 1, 'below max − (128 + 256): accepts again');
});

test('a small cap (tests, tiny deployments) pauses only when full', () => {
  const limits = new ConnectionLimits(3, 3);
  const gate = new RecordingGate();
  limits.attachGate(gate);
  admitMany(limits, 2);
  assert.equal(limits.settled(), undefined);
  admitMany(limits, 1, 2);
  assert.ok(limits.settled() instanceof Promise);
});
