/**
 * The local ClickHouse server: Debian's package (installed with apt when missing), run as a plain
 * process with its config and data under the state folder, never as the system service. Beside its http
 * port it serves https with a certificate from a CA of the stack's own, so that every client's
 * CLICKHOUSE_URL=https://… and CLICKHOUSE_CA_FILE path is tested against a real TLS server.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TollgateError } from '@tollgate/core';
import { findClickHouse, installClickHouse } from './prerequisites.ts';
import { requirePortFree, runningPid, spawnDetached, waitFor } from './processes.ts';
import { clickhouseUrl, type InfraSettings, infraPaths } from './settings.ts';
import { ensureFolder, makeCertificates, writeEnvFile } from './tls.ts';

/** client.env of the https port: CLICKHOUSE_URL and CLICKHOUSE_CA_FILE for it. */
export function clickhouseSecureClientEnvFile(settings: InfraSettings): string {
  return join(infraPaths(settings).clickhouseSecure, 'client.env');
}

/**
 * The https port's CA and certificate, made once per TOLLGATE_HOME under .tollgate/clickhouse/secure/
 * (ca.pem for clients; server.pem and server.key for the server; client.pem and client.key, a client
 * certificate the port accepts for mutual TLS), and client.env for the port, rewritten
 * at every start: `env $(cat .tollgate/clickhouse/secure/client.env) ./tollgate report`.
 */
function ensureHttpsCertificate(settings: InfraSettings): {
  caFile: string;
  certFile: string;
  keyFile: string;
} {
  const dir = infraPaths(settings).clickhouseSecure;
  const files = {
    caFile: join(dir, 'ca.pem'),
    certFile: join(dir, 'server.pem'),
    keyFile: join(dir, 'server.key'),
  };
  ensureFolder(dir, ['ca.pem', 'server.pem', 'server.key', 'client.pem', 'client.key'], (staging) => {
    settings.progress('clickhouse: making a local CA and certificate for the https port (openssl)');
    makeCertificates(staging, 'server', 'clickhouse', "the https port's certificate");
  });
  writeEnvFile(clickhouseSecureClientEnvFile(settings), {
    CLICKHOUSE_URL: `https://127.0.0.1:${settings.clickhouseHttpsPort}`,
    CLICKHOUSE_CA_FILE: files.caFile,
  });
  return files;
}

export async function clickhouseAnswers(settings: InfraSettings): Promise<boolean> {
  try {
    const response = await fetch(`${clickhouseUrl(settings)}/ping`, { signal: AbortSignal.timeout(2_000) });
    return response.ok;
  } catch {
    return false;
  }
}

export async function startClickHouse(settings: InfraSettings): Promise<{ pid: number; started: boolean }> {
  const paths = infraPaths(settings);
  const running = runningPid(paths.clickhousePid, paths.clickhouseConfig);
  if (running !== undefined) return { pid: running, started: false };
  await requirePortFree(settings.clickhouseHttpPort, 'ClickHouse HTTP', 'TOLLGATE_CLICKHOUSE_HTTP_PORT');
  await requirePortFree(settings.clickhouseTcpPort, 'ClickHouse native', 'TOLLGATE_CLICKHOUSE_TCP_PORT');
  await requirePortFree(settings.clickhouseHttpsPort, 'ClickHouse https', 'TOLLGATE_CLICKHOUSE_HTTPS_PORT');
  let binary = findClickHouse();
  if (!binary) {
    installClickHouse(settings.progress, settings.allowApt);
    binary = findClickHouse();
  }
  if (!binary)
    throw new TollgateError('ClickHouse server is not installed: apt-get install clickhouse-server', {
      code: 'TG_INFRA_PREREQUISITE',
    });
  for (const dir of [
    paths.clickhouseData,
    `${paths.clickhouseData}/tmp`,
    `${paths.clickhouseData}/user_files`,
    paths.clickhouseLogDir,
  ]) {
    mkdirSync(dir, { recursive: true });
  }
  const tls = ensureHttpsCertificate(settings);
  const values: Record<string, string> = {
    LOG_DIR: paths.clickhouseLogDir,
    DATA_DIR: paths.clickhouseData,
    HTTP_PORT: String(settings.clickhouseHttpPort),
    TCP_PORT: String(settings.clickhouseTcpPort),
    HTTPS_PORT: String(settings.clickhouseHttpsPort),
    CERT_FILE: tls.certFile,
    KEY_FILE: tls.keyFile,
    CA_FILE: tls.caFile,
  };
  const config = readFileSync(paths.clickhouseTemplate, 'utf8').replaceAll(
    /\{\{([A-Z_]+)\}\}/g,
    (_m, key: string) => values[key] ?? '',
  );
  writeFileSync(paths.clickhouseConfig, config);
  writeFileSync(paths.clickhouseUsers, readFileSync(paths.clickhouseUsersTemplate));
  settings.progress(
    `clickhouse: starting server on 127.0.0.1:${settings.clickhouseHttpPort} (logs: ${paths.clickhouseLogDir})`,
  );
  const pid = spawnDetached({
    command: binary.command,
    args: [...binary.prefixArgs, `--config-file=${paths.clickhouseConfig}`],
    cwd: paths.clickhouseHome,
    logFile: `${paths.clickhouseLogDir}/stdout.log`,
    pidFile: paths.clickhousePid,
  });
  const up = await waitFor(() => clickhouseAnswers(settings), 60_000, 250);
  if (!up) {
    throw new TollgateError(
      `clickhouse: server did not answer /ping within 60 s; see ${paths.clickhouseLogDir}`,
      {
        code: 'TG_INFRA_CLICKHOUSE_START',
      },
    );
  }
  return { pid, started: true };
}
