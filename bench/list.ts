import { readdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The benchmarks under bench/, by name (bench/<name>.ts), sorted. */
export function availableBenchmarks(): string[] {
  const here = dirname(fileURLToPath(import.meta.url));
  return readdirSync(here)
    .filter(
      (file) =>
        file.endsWith('.ts') &&
        !['main.ts', 'list.ts'].includes(file) &&
        !file.startsWith('_') &&
        !file.endsWith('.test.ts'),
    )
    .map((file) => file.slice(0, -3))
    .sort();
}
