/**
 * Versioned ClickHouse migrations: `schemas/clickhouse/NNNN_snake_name.sql`, applied in order, each
 * recorded once in `schema_migrations`. A file may hold several statements separated by `;` at the
 * end of a line. An applied migration whose file changed is reported, never re-applied: fix forward
 * with a new file.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ClickHouse } from './clickhouse.ts';
import { TollgateError } from './errors.ts';
import { sql } from './sql.ts';

export interface Migration {
  version: number;
  name: string;
  checksum: string;
  statements: string[];
}

export interface MigrationResult {
  applied: string[];
  alreadyApplied: string[];
  /** Applied migrations whose file no longer matches the recorded checksum. */
  changed: string[];
}

const FILE_NAME = /^(\d{4})_([a-z0-9_]+)\.sql$/;

export async function loadMigrations(dir: string): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((file) => file.endsWith('.sql')).sort();
  const migrations: Migration[] = [];
  for (const file of files) {
    const match = FILE_NAME.exec(file);
    if (!match) {
      throw new TollgateError(`migration ${file}: name must look like 0001_snake_case.sql`, {
        code: 'TG_MIGRATION_NAME',
      });
    }
    const body = await readFile(join(dir, file), 'utf8');
    const version = Number(match[1]);
    if (migrations.some((m) => m.version === version)) {
      throw new TollgateError(`migration ${file}: version ${version} is used twice`, {
        code: 'TG_MIGRATION_NAME',
      });
    }
    migrations.push({
      version,
      name: file,
      checksum: createHash('sha256').update(body).digest('hex'),
      statements: splitStatements(body),
    });
  }
  return migrations;
}

/** Splits on `;` at line end, after removing `--` comment lines. Our DDL has no `;` inside strings. */
export function splitStatements(body: string): string[] {
  const withoutComments = body
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('--'))
    .join('\n');
  return withoutComments
    .split(/;\s*(?:\n|$)/)
    .map((statement) => statement.trim())
    .filter((statement) => statement.length > 0);
}

/**
 * Applies the migrations not recorded in schema_migrations, in order. With `dryRun`, runs and records
 * nothing (and creates no schema_migrations table): `applied` is what would be applied.
 */
export async function applyMigrations(
  ch: ClickHouse,
  migrations: Migration[],
  onApplied: (name: string) => void = () => {},
  { dryRun = false }: { dryRun?: boolean } = {},
): Promise<MigrationResult> {
  if (!dryRun) {
    await ch.exec(
      `CREATE TABLE IF NOT EXISTS schema_migrations (
      version UInt32, name String, checksum String, applied_at DateTime
    ) ENGINE = MergeTree ORDER BY version`,
    );
  }
  const [table] = await ch.rows<{ n: string }>(
    "SELECT count() AS n FROM system.tables WHERE database = currentDatabase() AND name = 'schema_migrations'",
  );
  const recorded =
    Number(table?.n) === 0
      ? []
      : await ch.rows<{ version: number; name: string; checksum: string }>(
          'SELECT version, name, checksum FROM schema_migrations ORDER BY version',
        );
  const byVersion = new Map(recorded.map((row) => [Number(row.version), row]));
  const result: MigrationResult = { applied: [], alreadyApplied: [], changed: [] };
  for (const migration of migrations) {
    const previous = byVersion.get(migration.version);
    if (previous) {
      result.alreadyApplied.push(migration.name);
      if (previous.checksum !== migration.checksum) result.changed.push(migration.name);
      continue;
    }
    if (dryRun) {
      result.applied.push(migration.name);
      onApplied(migration.name);
      continue;
    }
    for (const statement of migration.statements) await ch.exec(statement);
    // Recorded after every statement succeeded: a failed migration is retried whole next time, so
    // each statement must be idempotent (IF NOT EXISTS), which the folder's README requires.
    await ch.exec(
      sql`INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (${migration.version}, ${migration.name}, ${migration.checksum}, now())`,
    );
    result.applied.push(migration.name);
    onApplied(migration.name);
  }
  return result;
}
