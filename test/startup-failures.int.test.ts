/**
 * A service started while Kafka cannot be reached (a closed port) retries as kafkajs does, logging each
 * failed attempt as a warning, then logs one fatal JSON line and exits 1 for its supervisor to restart
 * it: never a raw stack trace on stderr (the sink's admin client used to connect outside its guarded
 * start-up and crashed that way).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import { freePort, repoRoot, skipIntegration } from './support/index.ts';

async function startWithoutKafka(service: string, port: number) {
  const child = spawn(process.execPath, [resolve(repoRoot, 'services', service, 'src', 'main.ts')], {
    env: { ...process.env, KAFKA_BROKERS: `127.0.0.1:${port}`, HTTP_PORT: '0', LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr.on('data', (chunk) => {
    output += chunk;
  });
  const [code] = await once(child, 'exit');
  return { code, lines: output.split('\n').filter(Boolean) };
}

describe('services started without Kafka', { skip: skipIntegration, concurrency: true }, () => {
  for (const service of ['pricer', 'sink', 'detector']) {
    it(`${service}: warnings while kafkajs retries, then one fatal line and exit 1`, async () => {
      const { code, lines } = await startWithoutKafka(service, await freePort());
      assert.equal(code, 1, lines.join('\n'));
      const notJson = lines.filter((line) => !line.startsWith('{'));
      assert.deepEqual(notJson, [], 'every line is a JSON log record');
      const records = lines.map((line) => JSON.parse(line) as { level: number; msg: string });
      assert.ok(
        records.some((r) => r.level === 40 && /^Connection error: connect ECONNREFUSED/.test(r.msg)),
        'each failed attempt is a warning',
      );
      assert.deepEqual(
        records.filter((r) => r.level >= 50).map((r) => [r.level, r.msg]),
        [[60, `${service} failed to start`]],
      );
    });
  }
});
