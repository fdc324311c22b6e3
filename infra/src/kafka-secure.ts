/**
 * The local broker's second listener, SASL_SSL, set up the way managed and self-run production clusters
 * are: TLS with a certificate signed by a CA of this stack's own, and SASL/PLAIN as user `tollgate`.
 * Development and CI use it to check that every Tollgate client (services, CLI, SDK) connects with the
 * KAFKA_SSL* and KAFKA_SASL_* settings it is given. Everything is made once per TOLLGATE_HOME with
 * keytool (Java 17 is already required), under .tollgate/kafka/secure/:
 *   ca.pem        the CA certificate clients trust (KAFKA_SSL_CA_FILE)
 *   broker.p12    the broker's key and certificate chain (PKCS#12)
 *   secrets.json  the keystore password and the SASL password (mode 0600)
 *   client.env    KAFKA_BROKERS, KAFKA_SSL, KAFKA_SSL_CA_FILE and KAFKA_SASL_* for this listener,
 *                 rewritten at every start: `env $(cat .tollgate/kafka/secure/client.env) ./tollgate report`
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TollgateError } from '@tollgate/core';
import { type InfraSettings, infraPaths } from './settings.ts';

export const SECURE_USERNAME = 'tollgate';

export interface SecureListener {
  brokers: string[];
  caFile: string;
  keystoreFile: string;
  keystorePassword: string;
  username: string;
  password: string;
  /** The client variables of this listener, as written to client.env. */
  clientEnv: Record<string, string>;
}

interface Secrets {
  keystorePassword: string;
  saslPassword: string;
}

function keytool(args: string[]): void {
  const result = spawnSync('keytool', args, { encoding: 'utf8' });
  if (result.status !== 0) {
    const reason = `${result.stderr}${result.stdout}`.trim().split('\n').slice(-1)[0];
    throw new TollgateError(
      `kafka: keytool ${args[0]} failed making the SASL_SSL listener's certificate: ${reason}`,
      {
        code: 'TG_INFRA_KAFKA_TLS',
      },
    );
  }
}

/** A CA and a broker certificate for 127.0.0.1/localhost signed by it, in a fresh folder. */
function makeCertificates(dir: string, password: string): void {
  const caStore = join(dir, 'ca.p12');
  const brokerStore = join(dir, 'broker.p12');
  const request = join(dir, 'broker.csr');
  const brokerCert = join(dir, 'broker.pem');
  const store = (file: string) => ['-keystore', file, '-storetype', 'PKCS12', '-storepass', password];
  const key = ['-keyalg', 'RSA', '-keysize', '2048', '-validity', '3650'];
  keytool([
    '-genkeypair',
    '-alias',
    'ca',
    '-dname',
    'CN=Tollgate local CA',
    '-ext',
    'bc:c=ca:true',
    ...key,
    ...store(caStore),
  ]);
  keytool(['-exportcert', '-rfc', '-alias', 'ca', '-file', join(dir, 'ca.pem'), ...store(caStore)]);
  keytool(['-genkeypair', '-alias', 'broker', '-dname', 'CN=127.0.0.1', ...key, ...store(brokerStore)]);
  keytool(['-certreq', '-alias', 'broker', '-file', request, ...store(brokerStore)]);
  keytool([
    '-gencert',
    '-alias',
    'ca',
    '-infile',
    request,
    '-outfile',
    brokerCert,
    '-rfc',
    '-ext',
    'SAN=ip:127.0.0.1,dns:localhost',
    '-ext',
    'EKU=serverAuth',
    '-validity',
    '3650',
    ...store(caStore),
  ]);
  keytool(['-importcert', '-noprompt', '-alias', 'ca', '-file', join(dir, 'ca.pem'), ...store(brokerStore)]);
  keytool(['-importcert', '-noprompt', '-alias', 'broker', '-file', brokerCert, ...store(brokerStore)]);
  rmSync(request);
  // The CA's key signs nothing after this; a stack that needs a new certificate makes a new CA.
  rmSync(caStore);
}

/** client.env of the SASL_SSL listener: the variables a Tollgate client needs to use it. */
export function secureClientEnvFile(settings: InfraSettings): string {
  return join(infraPaths(settings).kafkaSecure, 'client.env');
}

/** Makes the listener's certificates and passwords unless they exist; writes client.env for its port. */
export function ensureSecureListener(settings: InfraSettings): SecureListener {
  const paths = infraPaths(settings);
  const dir = paths.kafkaSecure;
  const secretsFile = join(dir, 'secrets.json');
  if (!existsSync(secretsFile) || !existsSync(join(dir, 'broker.p12')) || !existsSync(join(dir, 'ca.pem'))) {
    const staging = `${dir}.new`;
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(staging, { recursive: true, mode: 0o700 });
    const secrets: Secrets = {
      keystorePassword: randomBytes(18).toString('base64url'),
      saslPassword: randomBytes(18).toString('base64url'),
    };
    settings.progress('kafka: making a local CA and certificate for the SASL_SSL listener (keytool)');
    makeCertificates(staging, secrets.keystorePassword);
    writeFileSync(join(staging, 'secrets.json'), `${JSON.stringify(secrets)}\n`, { mode: 0o600 });
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(paths.kafkaHome, { recursive: true });
    renameSync(staging, dir);
  }
  const secrets = JSON.parse(readFileSync(secretsFile, 'utf8')) as Secrets;
  const caFile = join(dir, 'ca.pem');
  const brokers = [`127.0.0.1:${settings.kafkaSecurePort}`];
  const clientEnv = {
    KAFKA_BROKERS: brokers.join(','),
    KAFKA_SSL: 'true',
    KAFKA_SSL_CA_FILE: caFile,
    KAFKA_SASL_MECHANISM: 'plain',
    KAFKA_SASL_USERNAME: SECURE_USERNAME,
    KAFKA_SASL_PASSWORD: secrets.saslPassword,
  };
  const clientEnvFile = secureClientEnvFile(settings);
  writeFileSync(
    clientEnvFile,
    `${Object.entries(clientEnv)
      .map(([name, value]) => `${name}=${value}`)
      .join('\n')}\n`,
    { mode: 0o600 },
  );
  chmodSync(clientEnvFile, 0o600);
  return {
    brokers,
    caFile,
    keystoreFile: join(dir, 'broker.p12'),
    keystorePassword: secrets.keystorePassword,
    username: SECURE_USERNAME,
    password: secrets.saslPassword,
    clientEnv,
  };
}
