import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { splitJsonArray, splitNdjson } from './split.ts';

const texts = (result: ReturnType<typeof splitJsonArray>) => {
  assert.ok(result.ok, JSON.stringify(result));
  return result.elements.map((e) => e.bytes.toString('utf8'));
};

describe('splitJsonArray', () => {
  test('cuts elements at top-level commas, not inside strings or nested values', () => {
    const body = Buffer.from(
      '\uFEFF [ {"a": "x, ]}", "b": [1, 2, {"c": "\\"]"}]} ,\n 17 , "s,]" , null, {"d": "\\\\"} ]  \n',
    );
    assert.deepEqual(texts(splitJsonArray(body)), [
      '{"a": "x, ]}", "b": [1, 2, {"c": "\\"]"}]}',
      '17',
      '"s,]"',
      'null',
      '{"d": "\\\\"}',
    ]);
  });

  test('keeps multi-byte characters intact', () => {
    assert.deepEqual(texts(splitJsonArray(Buffer.from('[{"agent_name": "chercheur-é-日本"}]'))), [
      '{"agent_name": "chercheur-é-日本"}',
    ]);
  });

  test('an empty array has no elements; holes become empty slices that fail to parse', () => {
    assert.deepEqual(texts(splitJsonArray(Buffer.from(' [ ] '))), []);
    assert.deepEqual(texts(splitJsonArray(Buffer.from('[1,,2]'))), ['1', '', '2']);
    assert.deepEqual(texts(splitJsonArray(Buffer.from('[1,]'))), ['1', '']);
  });

  test('refuses what is not one array', () => {
    const problem = (s: string) => {
      const result = splitJsonArray(Buffer.from(s));
      return result.ok ? 'ok' : result.problem;
    };
    assert.equal(problem('{"a": 1}'), 'not_array');
    assert.equal(problem(''), 'not_array');
    assert.equal(problem('[1, 2'), 'syntax');
    assert.equal(problem('[1] [2]'), 'syntax');
    assert.equal(problem('[1, "unterminated]'), 'syntax');
    assert.equal(problem('[1}]'), 'syntax');
  });
});

describe('splitNdjson', () => {
  test('one element per non-blank line, with its line number, CRLF tolerated', () => {
    const result = splitNdjson(Buffer.from('{"a":1}\r\n\r\n  {"b":2}\n{"c":3}'));
    assert.ok(result.ok);
    assert.deepEqual(
      result.elements.map((e) => [e.line, e.bytes.toString()]),
      [
        [1, '{"a":1}'],
        [3, '{"b":2}'],
        [4, '{"c":3}'],
      ],
    );
  });
});
