/**
 * API keys of the local stack. On first `up`, one reader key per demo org is generated; the API is
 * configured with their hashes (api-keys.json) and the keys themselves are kept, readable by the
 * owner only, in api-keys.txt for the person who ran `up`. Nothing here is for production: there,
 * keys are made with services/api/src/keygen.ts and handed out.
 */
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateApiKey } from '@tollgate/api';

export const DEMO_ORGS = ['acme', 'initech', 'globex'] as const;

export interface LocalKeys {
  /** The API_KEYS_FILE the local API reads. */
  recordsFile: string;
  /** org → plaintext key. */
  keys: Map<string, string>;
}

export function ensureLocalKeys(home: string): LocalKeys {
  const recordsFile = join(home, 'api-keys.json');
  const keysFile = join(home, 'api-keys.txt');
  if (!existsSync(recordsFile) || !existsSync(keysFile)) {
    const generated = DEMO_ORGS.map((org) => ({ org, ...generateApiKey(`local-${org}`, org, 'reader') }));
    writeFileSync(recordsFile, `${JSON.stringify({ keys: generated.map((g) => g.record) }, null, 2)}\n`);
    writeFileSync(keysFile, generated.map((g) => `${g.org} ${g.key}`).join('\n') + '\n');
    chmodSync(keysFile, 0o600);
  }
  const keys = new Map<string, string>();
  for (const line of readFileSync(keysFile, 'utf8').split('\n')) {
    const [org, key] = line.trim().split(' ');
    if (org && key) keys.set(org, key);
  }
  return { recordsFile, keys };
}
