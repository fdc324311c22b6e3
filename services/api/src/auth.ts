/**
 * API keys: each is scoped to one org with a role. Only the SHA-256 of a key is configured (file or
 * environment), never the key itself; a presented key is hashed and looked up. Every query the API runs
 * is confined to the org of the key that asked (routes take the org from here, never from the request).
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError, fieldName, fieldProblems, z } from '@tollgate/core';
import { ApiError } from './errors.ts';

export const ROLES = ['reader', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export interface Principal {
  keyId: string;
  orgId: string;
  role: Role;
}

const keyRecord = z.object({
  id: z.string().min(1),
  org_id: z.string().min(1),
  role: z.enum(ROLES),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be the lowercase hex SHA-256 of the key'),
});
const keyFile = z.object({ keys: z.array(keyRecord) });
export type KeyRecord = z.infer<typeof keyRecord>;

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** A new random key and the record to configure for it (the key is shown once, then only its hash). */
export function generateApiKey(id: string, orgId: string, role: Role): { key: string; record: KeyRecord } {
  const key = `tg_${randomBytes(32).toString('base64url')}`;
  return { key, record: { id, org_id: orgId, role, sha256: hashApiKey(key) } };
}

export interface KeyStore {
  authenticate(headers: Record<string, string | string[] | undefined>): Principal;
  size: number;
}

export function createKeyStore(records: readonly KeyRecord[]): KeyStore {
  const byHash = new Map<string, Principal>();
  for (const record of records) {
    if (byHash.has(record.sha256))
      throw new ConfigError(`api keys: ${record.id} has the same hash as another key`);
    byHash.set(record.sha256, { keyId: record.id, orgId: record.org_id, role: record.role });
  }
  return {
    size: byHash.size,
    authenticate(headers) {
      const key = presentedKey(headers);
      if (key === undefined)
        throw new ApiError('TG_AUTH_MISSING', 'an API key is required: Authorization: Bearer <key>');
      const principal = byHash.get(hashApiKey(key));
      if (!principal) throw new ApiError('TG_AUTH_INVALID', 'the API key is not valid');
      return principal;
    },
  };
}

function presentedKey(headers: Record<string, string | string[] | undefined>): string | undefined {
  const authorization = headers.authorization;
  if (typeof authorization === 'string') {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (match) return match[1];
  }
  const apiKey = headers['x-api-key'];
  return typeof apiKey === 'string' && apiKey.length > 0 ? apiKey : undefined;
}

/** Parses `{ "keys": [{ id, org_id, role, sha256 }] }` from JSON text; `source` names where it came from. */
export function parseKeyFile(text: string, source: string): KeyRecord[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`${source}: not JSON (${(err as Error).message})`);
  }
  const parsed = keyFile.safeParse(json);
  if (!parsed.success) {
    const problems = fieldProblems(parsed.error, json).map(
      (problem) => `${fieldName(problem)}: ${problem.reason}`,
    );
    throw new ConfigError(`${source}: ${problems.join('; ')}`);
  }
  return parsed.data.keys;
}

/** Keys from API_KEYS_FILE and/or API_KEYS (JSON text); main.ts passes what the environment holds. */
export function loadKeyRecords({ file, json }: { file?: string; json?: string }): KeyRecord[] {
  const records: KeyRecord[] = [];
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError(`API_KEYS_FILE: cannot read ${file} (${(err as Error).message})`);
    }
    records.push(...parseKeyFile(text, `API_KEYS_FILE ${file}`));
  }
  if (json) records.push(...parseKeyFile(json, 'API_KEYS'));
  return records;
}
