import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { acmeHeadline, globexHeadline } from './demo.ts';
import type { OrgReport } from './report.ts';

const row = (feature: string, dollars: number, bucket = '2026-12-03T00:00:00Z') => ({
  bucket,
  feature,
  currency: 'USD',
  cost_nanos: String(dollars * 1_000_000_000),
  lines: 1,
});

describe('the demo headlines', () => {
  it('gives the untagged share of all spend and the top feature’s share of tagged spend', () => {
    const report = {
      org: 'acme',
      spend: {
        rows: [
          row('', 40),
          row('support-bot', 30),
          row('support-bot', 12, '2026-12-02T00:00:00Z'),
          row('code-review', 10),
          row('search-assist', 8),
        ],
      },
    } as unknown as OrgReport;
    assert.equal(
      acmeHeadline(report),
      'acme: one shared key, first untagged (40.0 % of spend), then tagged: support-bot drives 70.0 % of tagged spend; a per-run ceiling stopped a looping run',
    );
  });

  it('says nothing it cannot show when there is no tagged spend', () => {
    const report = { org: 'acme', spend: { rows: [row('', 5)] } } as unknown as OrgReport;
    assert.match(
      acmeHeadline(report),
      /^acme: one shared key, first untagged \(100\.0 % of spend\); a per-run/,
    );
  });

  it('gives globex’s spend by category', () => {
    const category = (name: string, dollars: number) => ({ ...row('', dollars), category: name });
    const report = {
      org: 'globex',
      categories: { rows: [category('retrieval', 42), category('sandbox', 35), category('tokens', 23)] },
    } as unknown as OrgReport;
    assert.equal(
      globexHeadline(report),
      'globex: with prompt caching on, sandboxes left running take 35.0 % and per-query search 42.0 % of spend, tokens 23.0 %',
    );
  });
});
