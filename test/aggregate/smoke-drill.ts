// The crash drill (crash-drill.ts) at any size, by hand: a correctness drill, not a test file and
// not a measurement. Runs under the machine lock like the integration tests; prints the drill's
// report and exits 1 if the tallies differ from the expected counts.
//   node dist/test/aggregate/smoke-drill.js [votes=5000] [kills=0] [rate=5000]
import { holdMachineLock } from '../../bench/lib/machine-lock.js';
import { runCrashDrill } from './crash-drill.js';

await holdMachineLock();
const report = await runCrashDrill({ votes: Number(process.argv[2] ?? 5000), kills: Number(process.argv[3] ?? 0), ratePerSecond: Number(process.argv[4] ?? 5000), say: (m) => console.log(m) });
console.log(JSON.stringify({ ...report, redisDifferences: report.redisDifferences.slice(0, 5), rocksdbDifferences: report.rocksdbDifferences.slice(0, 5) }, null, 2));
process.exit(report.redisDifferences.length + report.rocksdbDifferences.length === 0 ? 0 : 1);
