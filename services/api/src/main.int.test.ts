/** The API as a process: configuration from the environment, a key that works, a clean SIGTERM. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort } from '@tollgate/sink/test-harness';
import { waitFor } from '@tollgate/sink/wait';
import { createTestContext, skipIntegration, type TestContext } from '@tollgate/test/support';
import { generateApiKey } from './auth.ts';
import { loadFixtures } from './fixtures.ts';

describe('api process', { skip: skipIntegration }, () => {
  let ctx: TestContext;
  before(async () => {
    ctx = await createTestContext();
    await loadFixtures(await ctx.clickhouse());
  });
  after(() => ctx?.cleanup());

  it('serves keys from API_KEYS, confines them to their org, and stops cleanly on SIGTERM', async () => {
    const port = await freePort();
    const { key, record } = generateApiKey('k', 'acme', 'reader');
    const child = spawn(process.execPath, [resolve(import.meta.dirname, 'main.ts')], {
      env: {
        PATH: process.env.PATH ?? '',
        CLICKHOUSE_URL: ctx.clickhouseUrl,
        CLICKHOUSE_DATABASE: ctx.database,
        HTTP_PORT: String(port),
        API_KEYS: JSON.stringify({ keys: [record] }),
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stderr.on('data', (chunk) => {
      output += chunk;
    });
    const exited = once(child, 'exit');
    try {
      const base = `http://127.0.0.1:${port}`;
      await waitFor(async () => (await fetch(`${base}/readyz`)).ok, 30_000, 'ready');
      const ok = await fetch(`${base}/v1/spend/untagged?from=2026-01-15T00:00:00Z&to=2026-01-16T00:00:00Z`, {
        headers: { authorization: `Bearer ${key}` },
      });
      assert.equal(ok.status, 200);
      assert.equal(
        ((await ok.json()) as { currencies: { total_cost_nanos: string }[] }).currencies[0]?.total_cost_nanos,
        '2720000000',
      );
      const denied = await fetch(
        `${base}/v1/spend/untagged?from=2026-01-15T00:00:00Z&to=2026-01-16T00:00:00Z`,
      );
      assert.equal(denied.status, 401);
    } finally {
      child.kill('SIGTERM');
    }
    const [code] = await exited;
    assert.equal(code, 0, output);
  });
});
