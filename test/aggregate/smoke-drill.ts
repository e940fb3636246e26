import { runCrashDrill } from './crash-drill.js';
const report = await runCrashDrill({ votes: Number(process.argv[2] ?? 5000), kills: Number(process.argv[3] ?? 0), ratePerSecond: Number(process.argv[4] ?? 5000), say: (m) => console.log(m) });
console.log(JSON.stringify({ ...report, redisDifferences: report.redisDifferences.slice(0, 5), rocksdbDifferences: report.rocksdbDifferences.slice(0, 5) }, null, 2));
process.exit(0);
