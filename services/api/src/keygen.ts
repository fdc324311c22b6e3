/**
 * Creates an API key: `node services/api/src/keygen.ts <key-id> <org-id> [reader|admin]`. Prints the
 * key once (hand it to its user) and the record to add to API_KEYS_FILE, which holds only its hash.
 */
import { generateApiKey, ROLES, type Role } from './auth.ts';

const [id, orgId, role = 'reader'] = process.argv.slice(2);
if (!id || !orgId || !(ROLES as readonly string[]).includes(role)) {
  process.stderr.write('usage: keygen.ts <key-id> <org-id> [reader|admin]\n');
  process.exit(1);
}
const { key, record } = generateApiKey(id, orgId, role as Role);
process.stdout.write(`key (shown once): ${key}\nrecord for API_KEYS_FILE: ${JSON.stringify(record)}\n`);
