// Rewrites the README's error table from the catalogue (src/errors.ts, built to dist/).
// Run after adding codes: `npm run build && node scripts/error-table.mjs`.
import { readFileSync, writeFileSync } from 'node:fs';
const { errorCatalogue } = await import('../dist/src/errors.js');
const readme = new URL('../README.md', import.meta.url);
const rows = Object.entries(errorCatalogue).map(([code, s]) => `| \`${code}\` | ${s.status} | ${s.message} | ${s.howToSolve.replaceAll('|', '\\|')} |`);
const table = ['| code | status | description | how to solve |', '|---|---|---|---|', ...rows].join('\n');
const text = readFileSync(readme, 'utf8').replace(/(<!-- error-table:start -->\n)[\s\S]*?(<!-- error-table:end -->)/, `$1${table}\n$2`);
writeFileSync(readme, text);
console.log(`README: ${rows.length} error codes`);
