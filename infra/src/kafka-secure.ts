/**
 * The local broker's second listener, SASL_SSL, set up the way managed and self-run production clusters
 * are: TLS with a certificate signed by a CA of this stack's own, and SASL/PLAIN as user `tollgate`.
 * Development and CI use it to check that every Tollgate client (services, CLI, SDK) connects with the
 * KAFKA_SSL* and KAFKA_SASL_* settings it is given. Everything is made once per TOLLGATE_HOME with
 * openssl, under .tollgate/kafka/secure/:
 *   ca.pem        the CA certificate clients trust (KAFKA_SSL_CA_FILE), and the broker trusts for
 *                 client certificates (asked for, not required)
 *   client.pem    a client certificate from that CA and its key client.key (KAFKA_SSL_CERT_FILE/KEY_FILE)
 *   broker.pem    the broker's certificate
 *   broker.p12    the broker's key and certificate chain (PKCS#12)
 *   secrets.json  the keystore password and the SASL password (mode 0600)
 *   client.env    KAFKA_BROKERS, KAFKA_SSL, KAFKA_SSL_CA_FILE and KAFKA_SASL_* for this listener,
 *                 rewritten at every start: `env $(cat .tollgate/kafka/secure/client.env) ./tollgate report`
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TollgateError } from '@tollgate/core';
import { lastOutputLine } from './processes.ts';
import { type InfraSettings, infraPaths } from './settings.ts';
import { ensureFolder, makeCertificates, openssl, writeEnvFile } from './tls.ts';

export const SECURE_USERNAME = 'tollgate';

/**
 * PLAIN users with the SASL password and no rights but the ACLs they are given (the broker runs an
 * authorizer; `tollgate` is a super user): one per Tollgate client, so that each can be run with exactly
 * the ACLs `tollgate acls` lists for it.
 */
export const SERVICE_USERS = [
  'tollgate-pricer',
  'tollgate-sink',
  'tollgate-detector',
  'tollgate-ingest',
  'tollgate-agent',
  'tollgate-alerts',
  'tollgate-operator',
] as const;

/** Made once per home, kept in secrets.json: the broker's keystore password and user tollgate's password. */
export interface Secrets {
  keystorePassword: string;
  saslPassword: string;
}

/** The cluster id in the broker's storage: SCRAM credentials live in its metadata, so they go with it. */
function clusterId(settings: InfraSettings): string | undefined {
  try {
    const meta = readFileSync(join(infraPaths(settings).kafkaData, 'meta.properties'), 'utf8');
    return /^cluster\.id=(.+)$/m.exec(meta)?.[1]?.trim();
  } catch {
    return undefined;
  }
}

/**
 * Creates the SCRAM-SHA-256 and SCRAM-SHA-512 credentials of user `tollgate` (the SASL password) in the
 * running broker's metadata, once per cluster: Kafka's own ConfigCommand through the plaintext listener
 * (kafkajs has no AlterUserScramCredentials). PLAIN needs nothing: its user is in server.properties.
 */
export function ensureScramCredentials(
  settings: InfraSettings,
  javaArgs: (main: string, args: string[]) => string[],
): void {
  const paths = infraPaths(settings);
  const marker = join(paths.kafkaSecure, 'scram.cluster');
  const cluster = clusterId(settings);
  if (cluster === undefined) return;
  if (existsSync(marker) && readFileSync(marker, 'utf8').trim() === cluster) return;
  const { saslPassword } = JSON.parse(
    readFileSync(join(paths.kafkaSecure, 'secrets.json'), 'utf8'),
  ) as Secrets;
  settings.progress(`kafka: adding SCRAM credentials for user ${SECURE_USERNAME}`);
  // One mechanism per request: the broker refuses to alter one user's credentials twice in a request.
  for (const mechanism of ['SCRAM-SHA-256', 'SCRAM-SHA-512']) {
    const result = spawnSync(
      'java',
      javaArgs('kafka.admin.ConfigCommand', [
        '--bootstrap-server',
        `127.0.0.1:${settings.kafkaPort}`,
        '--alter',
        '--entity-type',
        'users',
        '--entity-name',
        SECURE_USERNAME,
        '--add-config',
        `${mechanism}=[password=${saslPassword}]`,
      ]),
      { encoding: 'utf8' },
    );
    if (result.status !== 0) {
      const reason = lastOutputLine(result);
      throw new TollgateError(`kafka: adding the ${mechanism} credentials failed: ${reason}`, {
        code: 'TG_INFRA_KAFKA_SCRAM',
      });
    }
  }
  writeFileSync(marker, `${cluster}\n`);
}

/** The listener's CA and certificates in a fresh folder: ca.pem and client.pem/key for clients, broker.p12 for the broker. */
function makeBrokerKeystore(dir: string, password: string): void {
  const purpose = "the SASL_SSL listener's certificate";
  const { caFile, certFile, keyFile } = makeCertificates(dir, 'broker', 'kafka', purpose);
  openssl(
    ['pkcs12', '-export', '-in', certFile, '-inkey', keyFile, '-certfile', caFile, '-name', 'broker'].concat([
      '-out',
      join(dir, 'broker.p12'),
      '-passout',
      `pass:${password}`,
    ]),
    'kafka',
    purpose,
  );
  // The broker reads its key from the PKCS#12 file only.
  rmSync(keyFile);
}

/** client.env of the SASL_SSL listener: the variables a Tollgate client needs to use it. */
export function secureClientEnvFile(settings: InfraSettings): string {
  return join(infraPaths(settings).kafkaSecure, 'client.env');
}

/** Makes the listener's certificates and passwords unless they exist; writes client.env for its port. */
export function ensureSecureListener(settings: InfraSettings): Secrets {
  const dir = infraPaths(settings).kafkaSecure;
  const secretsFile = join(dir, 'secrets.json');
  ensureFolder(dir, ['secrets.json', 'broker.p12', 'ca.pem', 'client.pem', 'client.key'], (staging) => {
    const secrets: Secrets = {
      keystorePassword: randomBytes(18).toString('base64url'),
      saslPassword: randomBytes(18).toString('base64url'),
    };
    settings.progress('kafka: making a local CA and certificate for the SASL_SSL listener (openssl)');
    makeBrokerKeystore(staging, secrets.keystorePassword);
    writeFileSync(join(staging, 'secrets.json'), `${JSON.stringify(secrets)}\n`, { mode: 0o600 });
  });
  const secrets = JSON.parse(readFileSync(secretsFile, 'utf8')) as Secrets;
  const caFile = join(dir, 'ca.pem');
  const clientEnv = {
    KAFKA_BROKERS: `127.0.0.1:${settings.kafkaSecurePort}`,
    KAFKA_SSL: 'true',
    KAFKA_SSL_CA_FILE: caFile,
    KAFKA_SASL_MECHANISM: 'plain',
    KAFKA_SASL_USERNAME: SECURE_USERNAME,
    KAFKA_SASL_PASSWORD: secrets.saslPassword,
  };
  writeEnvFile(secureClientEnvFile(settings), clientEnv);
  return secrets;
}
