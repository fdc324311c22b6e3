import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SERVICE_ENV, SERVICE_NODE_FLAGS } from '@tollgate/core';
import { portFree } from '@tollgate/infra/processes';
import { freePort } from '@tollgate/test/support';
import { parse } from 'yaml';
import { SERVICE_NAMES, type StackSettings, startServices } from './services.ts';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..', '..', '..', '..');

describe('starting the services', () => {
  let home: string;
  let taken: Server;
  let settings: StackSettings;

  before(async () => {
    home = mkdtempSync(join(tmpdir(), 'tollgate-stack-'));
    const ports = { pricer: 0, sink: 0, detector: 0, ingest: 0, api: 0 };
    for (const name of Object.keys(ports) as (keyof typeof ports)[]) ports[name] = await freePort();
    taken = createServer();
    await new Promise<void>((done) => taken.listen(ports.api, '127.0.0.1', done));
    settings = {
      root,
      home,
      kafkaPort: 1,
      kafkaControllerPort: 2,
      kafkaSecurePort: 5,
      clickhouseHttpPort: 3,
      clickhouseTcpPort: 4,
      clickhouseHttpsPort: 6,
      clickhouseDatabase: 'tollgate',
      allowApt: false,
      progress: () => {},
      servicePorts: ports,
    };
  });

  after(async () => {
    await new Promise((done) => taken.close(done));
    rmSync(home, { recursive: true, force: true });
  });

  it('a taken port starts none of them and names the variable that moves it', async () => {
    await assert.rejects(startServices(settings, {}), (err: Error) => {
      assert.match(
        err.message,
        new RegExp(
          `^port ${settings.servicePorts.api} \\(tollgate api\\) is taken by another process: free it, or set TOLLGATE_API_PORT to another port$`,
        ),
      );
      return true;
    });
    for (const name of ['pricer', 'sink', 'detector', 'ingest'] as const) {
      assert.equal(existsSync(join(home, 'run', `${name}.pid`)), false, `${name} was spawned`);
      assert.equal(await portFree(settings.servicePorts[name]), true, `${name} listens`);
    }
  });
});

describe('docker-compose.yml', () => {
  interface ComposeService {
    command?: string[];
  }
  const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8')) as {
    'x-tollgate': { environment: Record<string, string> };
    services: Record<string, ComposeService>;
  };

  it('runs every service tollgate up runs, with the same Node flags and environment', () => {
    const environment = compose['x-tollgate'].environment;
    const nodeOptions = (environment.NODE_OPTIONS ?? '').split(' ').filter(Boolean);
    for (const name of SERVICE_NAMES) {
      const command = compose.services[name]?.command;
      assert.ok(command, `docker-compose.yml has no ${name} service`);
      assert.deepEqual(command.at(-1), `services/${name}/src/main.ts`, name);
      // NODE_OPTIONS refuses some V8 flags: those are on the command line, and together they are the set.
      const flags = [...nodeOptions, ...command.slice(1, -1)].sort();
      assert.deepEqual(flags, [...SERVICE_NODE_FLAGS].sort(), `${name}'s Node flags`);
    }
    for (const [name, value] of Object.entries(SERVICE_ENV)) assert.equal(environment[name], value, name);
  });
});
