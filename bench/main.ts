/**
 * `npm run bench -- <name>` (or `./tollgate bench <name>`): runs bench/<name>.ts. Each benchmark
 * prints progress and, as its last line, one JSON object with its figures. Benchmarks measure; they
 * never assert.
 */
import { availableBenchmarks } from './list.ts';

const available = availableBenchmarks();
const name = process.argv[2];
if (!name || !available.includes(name)) {
  process.stderr.write(`usage: npm run bench -- <name>\navailable: ${available.join(', ')}\n`);
  process.exit(name ? 1 : 0);
}
await import(`./${name}.ts`);
