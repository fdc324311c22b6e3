/**
 * HTTP_TLS_*: ingest (its API and ops routes), the query API and a service's ops endpoints serve https with the
 * certificate given, refuse plain http, and with HTTP_TLS_CA_FILE accept only clients holding a
 * certificate from that CA. Certificates from a CA made for the test (infra/src/tls.ts, openssl).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { get as httpsGet, type RequestOptions } from 'node:https';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type LocalCertificates, makeCertificates } from '@tollgate/infra/tls';
import { createTestContext, freePort, repoRoot, skipIntegration, type TestContext } from './support/index.ts';

/** GET over https: the status and body, or the error's message (a refused handshake, say). */
function httpsStatus(
  url: string,
  options: RequestOptions,
): Promise<{ status?: number; body?: string; error?: string }> {
  return new Promise((done) => {
    const request = httpsGet(url, options, (response) => {
      let body = '';
      response.on('data', (chunk) => {
        body += chunk;
      });
      response.on('end', () => done({ status: response.statusCode ?? 0, body }));
    });
    request.on('error', (err) => done({ error: err.message }));
  });
}

function httpStatus(url: string): Promise<{ status?: number; error?: string }> {
  return new Promise((done) => {
    const request = httpGet(url, (response) => {
      response.resume();
      done({ status: response.statusCode ?? 0 });
    });
    request.on('error', (err) => done({ error: err.message }));
  });
}

describe('https on the services (HTTP_TLS_*)', { skip: skipIntegration }, () => {
  let ctx: TestContext;
  let dir: string;
  let certs: LocalCertificates;
  let stranger: LocalCertificates;
  const children: ChildProcess[] = [];

  /** Starts a service with `env` and waits until its /healthz answers over https (trusting the CA). */
  async function start(
    service: string,
    env: Record<string, string>,
    client?: RequestOptions,
  ): Promise<number> {
    const port = await freePort();
    const child = spawn(process.execPath, [resolve(repoRoot, 'services', service, 'src', 'main.ts')], {
      env: {
        ...process.env,
        KAFKA_BROKERS: ctx.brokers.join(','),
        CLICKHOUSE_URL: ctx.clickhouseUrl,
        TOPIC_PREFIX: ctx.topicPrefix,
        HTTP_PORT: String(port),
        HTTP_TLS_CERT_FILE: certs.certFile,
        HTTP_TLS_KEY_FILE: certs.keyFile,
        LOG_LEVEL: 'warn',
        ...env,
      },
      stdio: 'ignore',
    });
    children.push(child);
    const deadline = Date.now() + 30_000;
    for (;;) {
      const answer = await httpsStatus(`https://127.0.0.1:${port}/healthz`, {
        ca: readFileSync(certs.caFile),
        ...client,
      });
      if (answer.status === 200) return port;
      assert.ok(Date.now() < deadline, `${service} did not answer over https: ${answer.error}`);
      await new Promise((done) => setTimeout(done, 200));
    }
  }

  before(async () => {
    ctx = await createTestContext({ partitions: 1 });
    await ctx.createTopics();
    dir = mkdtempSync(join(tmpdir(), 'tollgate-http-tls-'));
    certs = makeCertificates(mkdtempSync(join(dir, 'ca-')), 'server', 'test', 'https for the services');
    stranger = makeCertificates(mkdtempSync(join(dir, 'other-')), 'server', 'test', 'a CA nobody trusts');
  });
  after(async () => {
    for (const child of children) child.kill('SIGTERM');
    await Promise.all(
      children.map((child) =>
        child.exitCode === null ? new Promise((done) => child.once('exit', done)) : undefined,
      ),
    );
    rmSync(dir, { recursive: true, force: true });
    await ctx.cleanup();
  });

  it('ingest serves its API and ops routes over https and refuses plain http', async () => {
    const port = await start('ingest', {});
    const ca = readFileSync(certs.caFile);
    const schema = await httpsStatus(`https://127.0.0.1:${port}/v1/schemas/usage-event.json`, { ca });
    assert.equal(schema.status, 200, schema.error);
    assert.match(String(schema.body), /"title":"UsageEvent \(ingest JSON\)"/);
    const ready = await httpsStatus(`https://127.0.0.1:${port}/readyz`, { ca });
    assert.equal(ready.status, 200, ready.body);
    const plain = await httpStatus(`http://127.0.0.1:${port}/healthz`);
    assert.equal(plain.status, undefined, 'plain http gets no answer');
    const untrusted = await httpsStatus(`https://127.0.0.1:${port}/healthz`, {
      ca: readFileSync(stranger.caFile),
    });
    assert.match(String(untrusted.error), /self-signed certificate in certificate chain|unable to verify/);
  });

  it('the query API serves https', async () => {
    const port = await start('api', {});
    const unauthenticated = await httpsStatus(`https://127.0.0.1:${port}/v1/allocation`, {
      ca: readFileSync(certs.caFile),
    });
    assert.equal(unauthenticated.status, 401, unauthenticated.error);
  });

  it('with HTTP_TLS_CA_FILE, only clients with a certificate from that CA get in (mutual TLS)', async () => {
    const client = { cert: readFileSync(certs.clientCertFile), key: readFileSync(certs.clientKeyFile) };
    const port = await start('detector', { HTTP_TLS_CA_FILE: certs.caFile }, client);
    const ca = readFileSync(certs.caFile);
    const metrics = await httpsStatus(`https://127.0.0.1:${port}/metrics`, { ca, ...client });
    assert.equal(metrics.status, 200, metrics.error);
    assert.match(String(metrics.body), /tollgate_detector_/);
    const without = await httpsStatus(`https://127.0.0.1:${port}/metrics`, { ca });
    assert.equal(without.status, undefined, 'no client certificate: no answer');
    assert.ok(without.error, 'the handshake or the connection fails');
    const foreign = await httpsStatus(`https://127.0.0.1:${port}/metrics`, {
      ca,
      cert: readFileSync(stranger.clientCertFile),
      key: readFileSync(stranger.clientKeyFile),
    });
    assert.equal(foreign.status, undefined, "a stranger's certificate: no answer");
  });
});
