#!/usr/bin/env node
/**
 * `tollgate`: the local stack, the test suite and (as the pipeline grows) simulation and reports.
 * The only place the CLI reads process.env. Errors print as one line with what to do.
 */
import { dirname, resolve } from 'node:path';
import { TollgateError } from '@tollgate/core';
import { readCliConfig } from './config.ts';
import { explainFailure } from './failures.ts';
import { buildProgram } from './program.ts';

const MIN_NODE_MAJOR = 24;
const major = Number(process.versions.node.split('.')[0]);
if (major < MIN_NODE_MAJOR) {
  process.stderr.write(
    `tollgate: Node.js ${MIN_NODE_MAJOR} or newer is required (this is ${process.version}); run ./tollgate, which fetches it\n`,
  );
  process.exit(1);
}

// `tollgate report | head`: the reader went away; stop quietly, as Unix tools do, not with EPIPE's stack.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

const root = resolve(dirname(new URL(import.meta.url).pathname), '..', '..', '..');

let config: ReturnType<typeof readCliConfig> | undefined;
try {
  config = readCliConfig(process.env, root);
  await buildProgram({ root, config }).parseAsync(process.argv);
} catch (err) {
  const line = config === undefined ? undefined : explainFailure(err, config);
  if (line !== undefined || err instanceof TollgateError) {
    process.stderr.write(`tollgate: ${line ?? (err as TollgateError).message}\n`);
    process.exit(1);
  }
  throw err;
}
