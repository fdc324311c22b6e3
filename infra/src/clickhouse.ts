/**
 * The local ClickHouse server: Debian's package (installed with apt when missing), run as a plain
 * process with its config and data under the state folder, never as the system service.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { TollgateError } from '@tollgate/core';
import { findClickHouse, installClickHouse } from './prerequisites.ts';
import { requirePortFree, runningPid, spawnDetached, waitFor } from './processes.ts';
import { clickhouseUrl, type InfraSettings, infraPaths } from './settings.ts';

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
  const values: Record<string, string> = {
    LOG_DIR: paths.clickhouseLogDir,
    DATA_DIR: paths.clickhouseData,
    HTTP_PORT: String(settings.clickhouseHttpPort),
    TCP_PORT: String(settings.clickhouseTcpPort),
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
