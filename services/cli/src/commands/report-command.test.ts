import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { parseBy, parseDuration, reportRange } from './report-command.ts';

const main = resolve(dirname(new URL(import.meta.url).pathname), '..', 'main.ts');

/** Runs the CLI as a user would; resolves with its exit code and output whatever the code. */
async function tollgate(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [main, ...args]);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const failed = err as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe('tollgate report options', () => {
  it('--by takes one dimension or one tag key', () => {
    assert.equal(parseBy('model'), 'model');
    assert.equal(parseBy(' tag:team '), 'tag:team');
    assert.equal(parseBy('category'), 'category');
    assert.throws(
      () => parseBy('feature,model'),
      /--by takes one dimension \(org, .* or tag:<key>\), got "feature,model"/,
    );
    assert.throws(() => parseBy('team'), /--by must be .*feature.* or tag:<key>, got "team"/);
    assert.throws(() => parseBy('tag:'), /--by must be/);
  });

  it('--since is a count of minutes, hours or days', () => {
    assert.equal(parseDuration('30m'), 30 * 60_000);
    assert.equal(parseDuration('7d'), 7 * 86_400_000);
    assert.throws(() => parseDuration('5x'), /--since must look like 30m, 6h or 7d, got "5x"/);
  });

  it('the default range is whole hours ending at the next hour', () => {
    const now = Date.parse('2026-12-03T10:20:00Z');
    const { from, to } = reportRange({ since: '24h' }, now);
    assert.equal(to.toISOString(), '2026-12-03T11:00:00.000Z');
    assert.equal(from.toISOString(), '2026-12-02T11:00:00.000Z');
    assert.throws(
      () => reportRange({ since: '24h', from: '2026-12-03T00:00:00Z', to: '2026-12-02T00:00:00Z' }, now),
      /the range is empty: --from must be before --to/,
    );
    assert.throws(
      () => reportRange({ since: '24h', from: 'yesterday' }, now),
      /--from must be an ISO-8601 time/,
    );
  });

  it('a bad option is one line on stderr and exit code 1, before anything connects', async () => {
    const result = await tollgate('report', '--by', 'feature,model');
    assert.equal(result.code, 1);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /^tollgate: --by takes one dimension .*\n$/);
  });
});
