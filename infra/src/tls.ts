/**
 * Certificates for the local stack's TLS listeners (Kafka's SASL_SSL listener, ClickHouse's https
 * port), made with openssl the way a private PKI issues them: a CA of the stack's own and a server
 * certificate for 127.0.0.1/localhost signed by it, both with P-256 keys. The CA's key is deleted once it
 * has signed: a listener that needs a new certificate gets a new CA.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
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

/**
 * Makes `ca.pem` and `<name>.pem` with its key `<name>.key` (mode 0600) in `dir`, an empty folder.
 * Returns the paths.
 */
export function makeServerCertificate(
  dir: string,
  name: string,
  component: string,
  purpose: string,
): { caFile: string; certFile: string; keyFile: string } {
  const file = (suffix: string) => join(dir, suffix);
  const run = (args: string[]) => openssl(args, component, purpose);
  const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  run(
    ['req', '-x509', ...ecKey, '-keyout', file('ca.key'), '-out', file('ca.pem'), '-days', '3650']
      .concat(['-subj', '/CN=Tollgate local CA', '-addext', 'basicConstraints=critical,CA:TRUE'])
      .concat(['-addext', 'keyUsage=critical,keyCertSign,cRLSign']),
  );
  run([
    'req',
    ...ecKey,
    '-keyout',
    file(`${name}.key`),
    '-out',
    file(`${name}.csr`),
    '-subj',
    '/CN=127.0.0.1',
  ]);
  writeFileSync(
    file(`${name}.ext`),
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n',
  );
  run(
    ['x509', '-req', '-in', file(`${name}.csr`), '-CA', file('ca.pem'), '-CAkey', file('ca.key')]
      .concat(['-set_serial', `0x${randomBytes(8).toString('hex')}`, '-days', '3650'])
      .concat(['-extfile', file(`${name}.ext`), '-out', file(`${name}.pem`)]),
  );
  for (const leftover of ['ca.key', `${name}.csr`, `${name}.ext`]) rmSync(file(leftover));
  chmodSync(file(`${name}.key`), 0o600);
  return { caFile: file('ca.pem'), certFile: file(`${name}.pem`), keyFile: file(`${name}.key`) };
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
