/**
 * Certificates for the local stack's TLS listeners (Kafka's SASL_SSL listener, ClickHouse's https
 * port), made with openssl the way a private PKI issues them: a CA of the stack's own, a server
 * certificate for 127.0.0.1/localhost and a client certificate signed by it, all with P-256 keys. The
 * listeners ask for a client certificate without requiring one, so mutual TLS is tested beside plain TLS. The CA's key is deleted once it
 * has signed: a listener that needs a new certificate gets a new CA.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { TollgateError } from '@tollgate/core';
import { lastOutputLine } from './processes.ts';

/** Runs openssl; `purpose` says what for in the error ("the SASL_SSL listener's certificate"). */
export function openssl(args: string[], component: string, purpose: string): void {
  const result = spawnSync('openssl', args, { encoding: 'utf8' });
  if (result.error !== undefined) {
    throw new TollgateError(
      `${component}: openssl is needed to make ${purpose}: install it (apt-get install openssl)`,
      { code: 'TG_INFRA_PREREQUISITE' },
    );
  }
  if (result.status !== 0) {
    throw new TollgateError(
      `${component}: openssl ${args[0]} failed making ${purpose}: ${lastOutputLine(result)}`,
      { code: 'TG_INFRA_TLS' },
    );
  }
}

/** Paths of what makeCertificates leaves in its folder. */
export interface LocalCertificates {
  caFile: string;
  certFile: string;
  keyFile: string;
  /** A client certificate (CN tollgate-client, clientAuth) from the same CA, for mutual TLS. */
  clientCertFile: string;
  clientKeyFile: string;
}

/**
 * Makes `ca.pem`, the server's `<name>.pem` with its key `<name>.key`, and `client.pem` with
 * `client.key`, in `dir`, an empty folder. Keys are mode 0600.
 */
export function makeCertificates(
  dir: string,
  name: string,
  component: string,
  purpose: string,
): LocalCertificates {
  const file = (suffix: string) => join(dir, suffix);
  const run = (args: string[]) => openssl(args, component, purpose);
  const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  run(
    ['req', '-x509', ...ecKey, '-keyout', file('ca.key'), '-out', file('ca.pem'), '-days', '3650']
      .concat(['-subj', '/CN=Tollgate local CA', '-addext', 'basicConstraints=critical,CA:TRUE'])
      .concat(['-addext', 'keyUsage=critical,keyCertSign,cRLSign']),
  );
  const issue = (leaf: string, subject: string, extensions: string) => {
    run(['req', ...ecKey, '-keyout', file(`${leaf}.key`), '-out', file(`${leaf}.csr`), '-subj', subject]);
    writeFileSync(file(`${leaf}.ext`), extensions);
    run(
      ['x509', '-req', '-in', file(`${leaf}.csr`), '-CA', file('ca.pem'), '-CAkey', file('ca.key')]
        .concat(['-set_serial', `0x${randomBytes(8).toString('hex')}`, '-days', '3650'])
        .concat(['-extfile', file(`${leaf}.ext`), '-out', file(`${leaf}.pem`)]),
    );
    for (const leftover of [`${leaf}.csr`, `${leaf}.ext`]) rmSync(file(leftover));
    chmodSync(file(`${leaf}.key`), 0o600);
  };
  issue(name, '/CN=127.0.0.1', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  issue('client', '/CN=tollgate-client', 'extendedKeyUsage=clientAuth\n');
  rmSync(file('ca.key'));
  return {
    caFile: file('ca.pem'),
    certFile: file(`${name}.pem`),
    keyFile: file(`${name}.key`),
    clientCertFile: file('client.pem'),
    clientKeyFile: file('client.key'),
  };
}

/**
 * Makes a listener's folder once: unless every one of `files` is in `dir`, `make` fills a fresh staging
 * folder (mode 0700) that then replaces `dir` whole, so a start cut off half-way leaves no mix of old and
 * new certificates.
 */
export function ensureFolder(dir: string, files: readonly string[], make: (staging: string) => void): void {
  if (files.every((name) => existsSync(join(dir, name)))) return;
  const staging = `${dir}.new`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true, mode: 0o700 });
  make(staging);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dirname(dir), { recursive: true });
  renameSync(staging, dir);
}

/** Writes NAME=value lines, mode 0600 (they hold passwords): the client settings of a local listener. */
export function writeEnvFile(path: string, env: Record<string, string>): void {
  writeFileSync(
    path,
    `${Object.entries(env)
      .map(([name, value]) => `${name}=${value}`)
      .join('\n')}\n`,
    { mode: 0o600 },
  );
  chmodSync(path, 0o600);
}
