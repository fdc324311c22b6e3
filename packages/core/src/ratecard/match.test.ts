import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createMatcher, parseMatchKey } from './match.ts';

const entry = (value: string, keys: string[], order: number, providers?: string[]) => ({
  providers,
  keys: keys.map(parseMatchKey),
  order,
  value,
});

describe('most specific match wins', () => {
  const matcher = createMatcher([
    entry('catch-all', ['*'], 0),
    entry('regex-late', ['/^gpt-/'], 1),
    entry('regex-early-but-later-in-file', ['/^gpt-4/'], 2),
    entry('prefix-short', ['gpt-4*'], 3),
    entry('prefix-long', ['gpt-4o-mini*'], 4),
    entry('exact', ['gpt-4o-mini'], 5),
    entry('openai-only', ['web_search'], 6, ['openai']),
    entry('any-provider', ['web_search'], 7),
  ]);
  const best = (provider: string | null, name: string) => matcher.candidates(provider, name)[0];

  it('orders exact, then longest prefix, then regex by file order, then the catch-all', () => {
    assert.equal(best('openai', 'gpt-4o-mini'), 'exact');
    assert.equal(best('openai', 'gpt-4o-mini-2024-07-18'), 'prefix-long');
    assert.equal(best('openai', 'gpt-4.1'), 'prefix-short');
    assert.equal(best('openai', 'gpt-5'), 'regex-late');
    assert.equal(best('openai', 'o3'), 'catch-all');
    assert.deepEqual(matcher.candidates('openai', 'gpt-4o-mini'), [
      'exact',
      'prefix-long',
      'prefix-short',
      'regex-late',
      'regex-early-but-later-in-file',
      'catch-all',
    ]);
  });

  it('prefers an entry naming the provider over one naming none', () => {
    assert.equal(best('openai', 'web_search'), 'openai-only');
    assert.equal(best('anthropic', 'web_search'), 'any-provider');
    assert.equal(best(null, 'web_search'), 'any-provider');
  });
});
