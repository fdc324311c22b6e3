import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { toCsv } from './csv.ts';

describe('toCsv', () => {
  it('quotes what needs quoting and defuses spreadsheet formulas, keeping negative numbers', () => {
    assert.equal(
      toCsv(
        ['a', 'b', 'c'],
        [
          { a: 'x,y', b: 'say "hi"', c: '=HYPERLINK("x")' },
          { a: '-12.5', b: null, c: 3 },
        ],
      ),
      'a,b,c\r\n"x,y","say ""hi""","\'=HYPERLINK(""x"")"\r\n-12.5,,3\r\n',
    );
  });
});
