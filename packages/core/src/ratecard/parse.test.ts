import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parseRateCard, parseRateCardOrThrow, RateCardError, type RateCardIssue } from './parse.ts';

const VALID = `id: small
currency: USD
versions:
  - version: v1
    effective_from: 2026-01-01
    models:
      - provider: openai
        match: gpt-4o
        input: "2.50"
        output: "10.00"
`;

function issues(text: string, file = 'ratecards/bad.yaml'): RateCardIssue[] {
  const result = parseRateCard(text, file);
  assert.equal(result.ok, false, 'the card should have been rejected');
  return result.ok ? [] : result.issues;
}

/** path → reason, the way an operator reads the error. */
function byPath(list: RateCardIssue[]): Record<string, string> {
  return Object.fromEntries(list.map((i) => [i.path, i.reason]));
}

describe('rate card format errors: file, path, line and reason', () => {
  it('names a malformed price by its path and line', () => {
    const text = VALID.replace('input: "2.50"', 'input: "2,50"');
    const [problem, ...rest] = issues(text);
    assert.deepEqual(rest, []);
    assert.deepEqual(problem, {
      file: 'ratecards/bad.yaml',
      path: 'versions[0].models[0].input',
      line: 9,
      reason: 'must be a non-negative decimal like "2.50" (no exponent, no sign, no thousands separator)',
    });
  });

  it('rejects an exponent and a negative price', () => {
    const found = byPath(
      issues(VALID.replace('input: "2.50"', 'input: 2.5e0').replace('output: "10.00"', 'output: "-1"')),
    );
    assert.match(found['versions[0].models[0].input']!, /non-negative decimal/);
    assert.match(found['versions[0].models[0].output']!, /non-negative decimal/);
  });

  it('rejects a misspelt field instead of silently dropping the price', () => {
    const found = byPath(issues(VALID.replace('output:', 'ouptut:')));
    assert.equal(found['versions[0].models[0].ouptut'], 'is not a field of the rate card format');
  });

  it('names missing required fields', () => {
    const found = byPath(
      issues(VALID.replace('currency: USD\n', '').replace('    effective_from: 2026-01-01\n', '')),
    );
    assert.equal(found.currency, 'is required');
    assert.equal(found['versions[0].effective_from'], 'is required');
  });

  it('says what a field of the wrong shape should be, not that it is missing', () => {
    const found = byPath(issues(`${VALID.slice(0, VALID.indexOf('versions:'))}versions: none\n`));
    assert.equal(found.versions, 'Invalid input: expected array, received string');
  });

  it('rejects dates that are not dates and versions out of order', () => {
    const text = `${VALID}  - version: v2
    effective_from: 2025-13-40
  - version: v1
    effective_from: 2025-01-01
`;
    const found = byPath(issues(text));
    assert.match(found['versions[1].effective_from']!, /not a real calendar date|must be a date/);
    const ordering = byPath(issues(`${VALID}  - version: v1\n    effective_from: 2025-01-01\n`));
    assert.match(ordering['versions[1].effective_from']!, /later than the previous version/);
    assert.match(ordering['versions[1].version']!, /repeats versions\[0\]\.version/);
  });

  it('requires a long-context tier to price every class the model prices', () => {
    const text = VALID.replace(
      '        output: "10.00"\n',
      '        output: "10.00"\n        long_context:\n          - above_input_tokens: 200000\n            input: "5.00"\n',
    );
    const [problem] = issues(text);
    assert.equal(problem!.path, 'versions[0].models[0].long_context[0].output');
    assert.equal(problem!.reason, 'is required: the model prices output below the threshold');
    assert.equal(problem!.line, 12);
  });

  it('rejects two entries that price the same model for the same period', () => {
    const text = `${VALID}      - provider: openai
        match: [gpt-4o-mini, gpt-4o]
        input: "1.00"
`;
    const [problem] = issues(text);
    assert.equal(problem!.path, 'versions[0].models[1].match');
    assert.match(problem!.reason, /"gpt-4o" for provider openai is already priced by entry 0/);
  });

  it('accepts the same model twice when the periods do not overlap', () => {
    const text = `${VALID.replace('        match: gpt-4o\n', '        match: gpt-4o\n        effective_until: 2026-06-01\n')}      - provider: openai
        match: gpt-4o
        effective_from: 2026-06-01
        input: "2.00"
`;
    assert.equal(parseRateCard(text, 'ok.yaml').ok, true);
  });

  it('rejects a pattern that is not a valid regular expression or a prefix', () => {
    const found = byPath(issues(VALID.replace('match: gpt-4o', 'match: ["/gpt-(4o/", "gpt*4o"]')));
    assert.match(found['versions[0].models[0].match[0]']!, /not a valid regular expression/);
    assert.match(found['versions[0].models[0].match[1]']!, /may hold \* only at its end/);
  });

  it('requires an override to be a discount or a custom price, not both', () => {
    const text = `${VALID}overrides:
  - org_id: acme
    discount_percent: "120"
  - org_id: acme
    discount_percent: "10"
    custom_price: { category: tokens, item: input, price: "1.00" }
`;
    const found = byPath(issues(text));
    assert.equal(found['overrides[0].discount_percent'], 'must be at most 100');
    assert.equal(found['overrides[1]'], 'must set exactly one of discount_percent or custom_price');
  });

  it('reports YAML syntax errors with their line', () => {
    const [problem] = issues('id: x\ncurrency: USD\nversions: [\n', 'ratecards/broken.yaml');
    assert.equal(problem!.file, 'ratecards/broken.yaml');
    assert.equal(problem!.path, '');
    assert.match(problem!.reason, /^YAML: /);
    assert.equal(typeof problem!.line, 'number');
  });

  it('throws one error listing every problem for callers that want an exception', () => {
    assert.throws(
      () => parseRateCardOrThrow(VALID.replace('"2.50"', '"x"').replace('USD', 'usd'), 'ratecards/bad.yaml'),
      (err: unknown) =>
        err instanceof RateCardError &&
        err.code === 'TG_RATECARD_INVALID' &&
        err.issues.length === 2 &&
        err.message.includes('ratecards/bad.yaml:2: currency: must be an ISO 4217 code like USD') &&
        err.message.includes('ratecards/bad.yaml:9: versions[0].models[0].input'),
    );
  });
});

describe('content hash', () => {
  it('ignores comments, key order and quoting but not a price', () => {
    const hash = (text: string) => parseRateCardOrThrow(text, 'x.yaml').contentHash;
    const reordered = `# a comment
currency: "USD"
id: small
versions:
  - effective_from: 2026-01-01
    version: v1
    models:
      - { output: "10.00", input: "2.50", match: [gpt-4o], provider: openai }
`;
    assert.equal(hash(reordered), hash(VALID));
    assert.match(hash(VALID), /^[0-9a-f]{64}$/);
    assert.notEqual(hash(VALID.replace('"10.00"', '"10.01"')), hash(VALID));
  });
});

describe('ratecards/default.yaml', () => {
  const text = readFileSync(new URL('../../../../ratecards/default.yaml', import.meta.url), 'utf8');

  it('loads, is dated and names its sources', () => {
    const card = parseRateCardOrThrow(text, 'ratecards/default.yaml');
    assert.equal(card.id, 'default');
    assert.equal(card.currency, 'USD');
    assert.equal(card.spec.checked, '2026-11-28');
    assert.ok((card.spec.sources ?? []).length >= 3);
  });
});
