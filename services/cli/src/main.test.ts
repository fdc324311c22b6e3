import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));

describe('tollgate --version', () => {
  it("prints the CLI's version and the Node.js it runs on", async () => {
    const child = spawn(process.execPath, [MAIN, '--version'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    const [code] = await once(child, 'exit');
    assert.equal(code, 0);
    const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    assert.equal(stdout, `tollgate ${version} (Node.js ${process.version})\n`);
  });
});

describe('tollgate in a pipeline', () => {
  it('stops quietly with exit 0 when the reader of its output goes away (`tollgate acls … | head`)', async () => {
    const child = spawn(process.execPath, [MAIN, 'acls', 'pricer', '--principal', 'User:pricer'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.destroy(); // closed before the CLI has started, so its first write meets a closed pipe
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    const [code] = await once(child, 'exit');
    assert.equal(stderr, '');
    assert.equal(code, 0);
  });
});
