// The Prometheus alert rules in ops/prometheus/: `promtool check rules` (syntax, templates) and
// `promtool test rules` (each alert fires on the series it is for, and not on the ones it is not).
// promtool comes with Debian's prometheus package (scripts/test-integration.sh installs it);
// without it the test is skipped, saying so.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const RULES_DIR = fileURLToPath(new URL('../../../ops/prometheus/', import.meta.url));

async function promtool(...args: string[]): Promise<{ code: number; output: string }> {
  return run('promtool', args, { cwd: RULES_DIR }).then(
    ({ stdout, stderr }) => ({ code: 0, output: stdout + stderr }),
    (error: NodeJS.ErrnoException & { code: number | string; stdout?: string; stderr?: string }) => {
      if (error.code === 'ENOENT') return { code: -1, output: 'promtool not installed' };
      return { code: Number(error.code), output: `${error.stdout ?? ''}${error.stderr ?? ''}` };
    },
  );
}

test('the alert rules pass promtool check rules and their unit tests', async (t) => {
  const check = await promtool('check', 'rules', 'tally-alerts.yml');
  if (check.code === -1) {
    t.skip('promtool is not installed (apt-get install prometheus)');
    return;
  }
  assert.equal(check.code, 0, check.output);
  assert.match(check.output, /SUCCESS: 4 rules found/);
  const unit = await promtool('test', 'rules', 'tally-alerts.test.yml');
  assert.equal(unit.code, 0, unit.output);
});
