/**
 * `npm run bench -- <name>` (or `./tollgate bench <name>`): runs bench/<name>.ts. Each benchmark
 * prints progress and, as its last line, one JSON object with its figures. Benchmarks measure; they
 * never assert.
 */
import { readdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const available = readdirSync(here)
  .filter(
    (file) =>
      file.endsWith('.ts') && file !== 'main.ts' && !file.startsWith('_') && !file.endsWith('.test.ts'),
  )
  .map((file) => file.slice(0, -3))
  .sort();

const name = process.argv[2];
if (!name || !available.includes(name)) {
  process.stderr.write(`usage: npm run bench -- <name>\navailable: ${available.join(', ')}\n`);
  process.exit(name ? 1 : 0);
}
await import(`./${name}.ts`);
