/**
 * A single-node Kafka of a test's own, for tests that stop the broker: the shared local Kafka must
 * never be stopped (other suites use it at the same time). Started with the infra module, on free
 * ports, under its own state folder, reusing the broker jars the shared stack already downloaded.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startKafka } from '@tollgate/infra/kafka';
import { stopProcess } from '@tollgate/infra/processes';
import type { InfraSettings } from '@tollgate/infra/settings';
import { repoRoot } from './index.ts';
import { freePort } from './pipeline.ts';

export interface PrivateBroker {
  brokers: string[];
  /** Starts the broker (again); its data is kept across stops. */
  start(): Promise<void>;
  /** Stops it (SIGTERM, then SIGKILL after 30 s). */
  stop(): Promise<void>;
  /** Stops it if running and deletes its state folder. */
  close(): Promise<void>;
}

export async function startPrivateBroker(name: string): Promise<PrivateBroker> {
  const home = mkdtempSync(join(tmpdir(), `tollgate-${name}-`));
  const jars = join(repoRoot, '.tollgate', 'kafka', 'libs');
  if (existsSync(jars)) {
    mkdirSync(join(home, 'kafka'), { recursive: true });
    symlinkSync(jars, join(home, 'kafka', 'libs'));
  }
  const settings: InfraSettings = {
    root: repoRoot,
    home,
    kafkaPort: await freePort(),
    kafkaControllerPort: await freePort(),
    kafkaSecurePort: await freePort(),
    clickhouseHttpPort: 0,
    clickhouseTcpPort: 0,
    clickhouseHttpsPort: 0,
    clickhouseDatabase: 'unused',
    allowApt: false,
    progress: () => {},
  };
  let pid: number | undefined;
  const broker: PrivateBroker = {
    brokers: [`127.0.0.1:${settings.kafkaPort}`],
    async start() {
      const started = await startKafka(settings);
      assert.equal(started.started, true, 'a private broker of our own, not the shared one');
      pid = started.pid;
    },
    async stop() {
      assert.ok(pid !== undefined, 'the private broker is not running');
      await stopProcess(pid, 30_000);
      pid = undefined;
    },
    async close() {
      if (pid !== undefined) await stopProcess(pid, 30_000);
      pid = undefined;
      rmSync(home, { recursive: true, force: true });
    },
  };
  await broker.start();
  return broker;
}
