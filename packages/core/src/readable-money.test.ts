import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readableMoney as money } from './money.ts';

describe('readableMoney', () => {
  it('rounds to four significant digits, never fewer than two decimals', () => {
    assert.equal(money(1_019_425_950n, 'USD'), '$1.019');
    assert.equal(money(516_436_800n, 'USD'), '$0.5164');
    assert.equal(money(309_672_000, 'USD'), '$0.3097');
    assert.equal(money(36_740_000_000n, 'USD'), '$36.74');
    assert.equal(money(5_025_000_000n, 'USD'), '$5.025');
    assert.equal(money(1_000_000_000n, 'USD'), '$1.00');
    assert.equal(money(12_500_000_000n, 'USD'), '$12.50');
  });

  it('keeps small amounts readable down to the nano-unit', () => {
    assert.equal(money(42_000n, 'USD'), '$0.000042');
    assert.equal(money(1n, 'USD'), '$0.000000001');
    assert.equal(money(0n, 'USD'), '$0.00');
  });

  it('rounds half up and carries into the whole part', () => {
    assert.equal(money(9_999_600_000n, 'USD'), '$10.00');
    assert.equal(money(1_234_565_000_000n, 'USD'), '$1,234.57');
    assert.equal(money(999_995_000_000n, 'USD'), '$1,000.00');
  });

  it('writes the sign first and other currencies after the amount', () => {
    assert.equal(money(-2_500_000_000n, 'USD'), '-$2.50');
    assert.equal(money(12_500_000_000n, 'EUR'), '12.50 EUR');
    assert.equal(money(-309_672_000n, 'EUR'), '-0.3097 EUR');
  });
});
