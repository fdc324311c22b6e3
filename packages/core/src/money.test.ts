import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ValidationError } from './errors.ts';
import {
  costNanos,
  decimalFromNumber,
  divideHalfEven,
  formatDecimal,
  multiplyDecimal,
  nanosToDecimalText,
  nanosToNumber,
  parseDecimal,
  shiftDecimal,
  toNanos,
} from './money.ts';

describe('decimal parsing and formatting', () => {
  it('keeps every digit written', () => {
    assert.deepEqual(parseDecimal('2.50'), { units: 250n, scale: 2 });
    assert.deepEqual(parseDecimal('0.0000045'), { units: 45n, scale: 7 });
    assert.deepEqual(parseDecimal('-3'), { units: -3n, scale: 0 });
    assert.equal(formatDecimal(parseDecimal('2.50')), '2.5');
    assert.equal(formatDecimal(parseDecimal('0.0000045')), '0.0000045');
    assert.equal(formatDecimal(parseDecimal('-0.010')), '-0.01');
    assert.equal(formatDecimal(parseDecimal('0.000')), '0');
  });

  it('rejects what a rate card must not contain, naming the field', () => {
    for (const text of ['1e-6', '.5', '2.', '+1', ' 1', '1,5', '', 'NaN']) {
      assert.throws(
        () => parseDecimal(text, 'models[0].input'),
        (err: unknown) => err instanceof ValidationError && err.field === 'models[0].input',
        text,
      );
    }
  });

  it('reads a producer number by its shortest decimal text, not its binary fraction', () => {
    // 0.1 as a double is 0.1000000000000000055511151231257827…; the producer meant 0.1.
    assert.equal(formatDecimal(decimalFromNumber(0.1)), '0.1');
    assert.equal(formatDecimal(decimalFromNumber(1.5e-7)), '0.00000015');
    assert.equal(formatDecimal(decimalFromNumber(2e21)), '2000000000000000000000');
    assert.equal(formatDecimal(decimalFromNumber(123456)), '123456');
    assert.throws(() => decimalFromNumber(Number.NaN, 'sandbox.vcpu_seconds'), ValidationError);
  });

  it('multiplies and shifts exactly', () => {
    // 3.00 per 1M tokens is 0.000003 per token; times 0.5 (batch) is 0.0000015.
    const perToken = shiftDecimal(parseDecimal('3.00'), -6);
    assert.equal(formatDecimal(perToken), '0.000003');
    assert.equal(formatDecimal(multiplyDecimal(perToken, parseDecimal('0.5'))), '0.0000015');
    assert.equal(formatDecimal(shiftDecimal(parseDecimal('1.25'), 3)), '1250');
  });
});

describe('rounding: once per line, half-even to the nano', () => {
  it('rounds ties to the even neighbour and everything else to the nearest', () => {
    assert.equal(divideHalfEven(25n, 10n), 2n); // 2.5 → 2
    assert.equal(divideHalfEven(35n, 10n), 4n); // 3.5 → 4
    assert.equal(divideHalfEven(26n, 10n), 3n);
    assert.equal(divideHalfEven(24n, 10n), 2n);
    assert.equal(divideHalfEven(-25n, 10n), -2n);
    assert.equal(divideHalfEven(-35n, 10n), -4n);
    assert.equal(divideHalfEven(-26n, 10n), -3n);
  });

  it('prices a line exactly and rounds only the final product', () => {
    // 7 tokens × 0.000000075 (gpt-4o-mini cache read 0.075/1M) = 0.000000525 USD = 525 nanos exactly.
    assert.equal(costNanos(parseDecimal('7'), shiftDecimal(parseDecimal('0.075'), -6)), 525n);
    // 1 token × 0.000000025 (gpt-4.1-nano cache read 0.025/1M) = 25 nanos exactly.
    assert.equal(costNanos(parseDecimal('1'), shiftDecimal(parseDecimal('0.025'), -6)), 25n);
    // 1 unit × 0.0000000025 = 2.5 nanos → tie → 2 (even); 3 units = 7.5 nanos → tie → 8 (even).
    assert.equal(costNanos(parseDecimal('1'), parseDecimal('0.0000000025')), 2n);
    assert.equal(costNanos(parseDecimal('3'), parseDecimal('0.0000000025')), 8n);
    // 0.7 units = 1.75 nanos → 2 (nearest, not a tie).
    assert.equal(costNanos(parseDecimal('0.7'), parseDecimal('0.0000000025')), 2n);
    // 0.5 s × 0.0000045 per GiB-second = 0.00000225 USD = 2250 nanos.
    assert.equal(costNanos(parseDecimal('0.5'), parseDecimal('0.0000045')), 2250n);
    assert.equal(toNanos(parseDecimal('1')), 1_000_000_000n);
  });

  it('formats nanos as an exact decimal of the currency', () => {
    assert.equal(nanosToDecimalText(1_234_567_890n), '1.23456789');
    assert.equal(nanosToDecimalText(-5), '-0.000000005');
    assert.equal(nanosToNumber(2n ** 53n), undefined);
    assert.equal(nanosToNumber(2n ** 53n - 1n), Number.MAX_SAFE_INTEGER);
  });
});
