/**
 * Exact money. Prices are decimal strings, costs are integer nano-units of the rate card's currency
 * (1 USD = 1,000,000,000 nanos). Arithmetic runs on bigint; no binary float ever holds a price or a
 * cost.
 *
 * Rounding rule (the only one): a line item's exact cost, quantity × unit price, is rounded ONCE to
 * the nearest nano-unit, ties to even (banker's rounding). Unit prices, multipliers, discounts and
 * quantities are multiplied exactly before that single rounding; totals are sums of rounded lines.
 */
import { ValidationError } from './errors.ts';

/** An exact decimal: `units × 10^-scale`, scale ≥ 0. */
export interface Decimal {
  readonly units: bigint;
  readonly scale: number;
}

export const NANOS_PER_UNIT = 1_000_000_000n;
const NANO_SCALE = 9;

const POW10: bigint[] = [1n];
function pow10(exponent: number): bigint {
  while (POW10.length <= exponent) POW10.push(POW10[POW10.length - 1]! * 10n);
  return POW10[exponent]!;
}

const DECIMAL_TEXT = /^(-)?(\d+)(?:\.(\d+))?$/;
const SCIENTIFIC_TEXT = /^(-)?(\d+)(?:\.(\d+))?e([+-]?\d+)$/i;

/** Parses `"2.50"`, `"-0.125"`, `"3"`. Rejects exponents, spaces, `"."`, `"+1"`: prices are written out. */
export function parseDecimal(text: string, field = 'value'): Decimal {
  const match = DECIMAL_TEXT.exec(text);
  if (!match)
    throw new ValidationError(field, `must be a decimal number like "2.50", got ${JSON.stringify(text)}`);
  const [, sign, whole, fraction = ''] = match;
  const units = BigInt(`${whole}${fraction}`);
  return { units: sign ? -units : units, scale: fraction.length };
}

export function isDecimalText(text: string): boolean {
  return DECIMAL_TEXT.test(text);
}

/**
 * The exact decimal a producer meant by a JSON/Avro number: integers exactly, and other finite
 * numbers by their shortest round-trip representation (what `String(n)` prints, e.g. 0.1 → "0.1"),
 * never by the binary fraction the double happens to hold.
 */
export function decimalFromNumber(value: number, field = 'value'): Decimal {
  if (Number.isSafeInteger(value)) return { units: BigInt(value), scale: 0 };
  if (!Number.isFinite(value)) throw new ValidationError(field, `must be a finite number, got ${value}`);
  const text = String(value);
  const plain = DECIMAL_TEXT.exec(text);
  if (plain) return parseDecimal(text, field);
  const sci = SCIENTIFIC_TEXT.exec(text);
  if (!sci) throw new ValidationError(field, `cannot be read as a decimal: ${text}`);
  const [, sign, whole, fraction = '', exponentText] = sci;
  let units = BigInt(`${whole}${fraction}`);
  if (sign) units = -units;
  const scale = fraction.length - Number(exponentText);
  return scale >= 0 ? { units, scale } : { units: units * pow10(-scale), scale: 0 };
}

export function multiplyDecimal(a: Decimal, b: Decimal): Decimal {
  return { units: a.units * b.units, scale: a.scale + b.scale };
}

/** `value × 10^exponent`, exact (a negative exponent moves the point left). */
export function shiftDecimal(value: Decimal, exponent: number): Decimal {
  if (exponent >= 0) {
    const scale = value.scale - exponent;
    return scale >= 0 ? { units: value.units, scale } : { units: value.units * pow10(-scale), scale: 0 };
  }
  return { units: value.units, scale: value.scale - exponent };
}

export function compareDecimal(a: Decimal, b: Decimal): number {
  const scale = Math.max(a.scale, b.scale);
  const left = a.units * pow10(scale - a.scale);
  const right = b.units * pow10(scale - b.scale);
  return left < right ? -1 : left > right ? 1 : 0;
}

/** Canonical text: no exponent, no trailing fractional zeros, `-` for negatives, `"0"` for zero. */
export function formatDecimal(value: Decimal): string {
  let { units, scale } = value;
  while (scale > 0 && units % 10n === 0n) {
    units /= 10n;
    scale -= 1;
  }
  const negative = units < 0n;
  let digits = (negative ? -units : units).toString();
  if (scale > 0) {
    digits = digits.padStart(scale + 1, '0');
    digits = `${digits.slice(0, digits.length - scale)}.${digits.slice(digits.length - scale)}`;
  }
  return negative ? `-${digits}` : digits;
}

/** `numerator / denominator` rounded to the nearest integer, ties to even. `denominator` > 0. */
export function divideHalfEven(numerator: bigint, denominator: bigint): bigint {
  let quotient = numerator / denominator; // truncates toward zero
  let remainder = numerator % denominator; // same sign as numerator
  if (remainder === 0n) return quotient;
  const negative = remainder < 0n;
  if (negative) remainder = -remainder;
  const twice = remainder * 2n;
  if (twice > denominator || (twice === denominator && quotient % 2n !== 0n)) {
    quotient += negative ? -1n : 1n;
  }
  return quotient;
}

/** The decimal amount in nano-units, rounded half-even: the single rounding of a line item. */
export function toNanos(amount: Decimal): bigint {
  if (amount.scale <= NANO_SCALE) return amount.units * pow10(NANO_SCALE - amount.scale);
  return divideHalfEven(amount.units, pow10(amount.scale - NANO_SCALE));
}

/** Exact cost of `quantity` units at `unitPrice`, in nanos, rounded once (half-even). */
export function costNanos(quantity: Decimal, unitPrice: Decimal): bigint {
  return toNanos(multiplyDecimal(quantity, unitPrice));
}

/** Nano-units as a decimal string of the currency unit, exact: 1234567890n → "1.23456789". */
export function nanosToDecimalText(nanos: bigint | number): string {
  return formatDecimal({ units: BigInt(nanos), scale: NANO_SCALE });
}

/** Nanos as a JS number for the contract types; refuses values a double cannot hold exactly. */
export function nanosToNumber(nanos: bigint): number | undefined {
  return nanos <= BigInt(Number.MAX_SAFE_INTEGER) && nanos >= BigInt(Number.MIN_SAFE_INTEGER)
    ? Number(nanos)
    : undefined;
}

/**
 * Money for people where small amounts matter (alert explanations and lines): rounded half-up to four significant digits but never
 * fewer than two decimals, with thousands separators: "$1.019", "$0.3097", "$36.74", "$1,234.57",
 * "$0.000042"; "12.50 EUR" for other currencies. Display only: keep the nano-units for anything computed.
 */
export function readableMoney(nanos: number | bigint, currency: string): string {
  const value = typeof nanos === 'number' ? BigInt(Math.round(nanos)) : nanos;
  const negative = value < 0n;
  const magnitude = negative ? -value : value;
  const wholeDigits = magnitude >= NANOS_PER_UNIT ? (magnitude / NANOS_PER_UNIT).toString().length : 0;
  // Digits after the point up to the fourth significant one (below one unit: after the leading zeros).
  const significant = wholeDigits > 0 ? 4 - wholeDigits : 13 - magnitude.toString().length;
  const decimals = Math.min(9, Math.max(2, significant));
  const step = 10n ** BigInt(9 - decimals);
  const rounded = (magnitude + step / 2n) / step;
  const scale = 10n ** BigInt(decimals);
  const whole = (rounded / scale).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  const fraction = (rounded % scale)
    .toString()
    .padStart(decimals, '0')
    .replace(/(?<=\d{2})0+$/, '');
  const text = `${negative ? '-' : ''}${currency === 'USD' ? '$' : ''}${whole}.${fraction}`;
  return currency === 'USD' ? text : `${text} ${currency}`;
}
