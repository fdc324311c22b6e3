/**
 * Per-org negotiated prices (card `overrides`): which apply to an event and to a line, and the price
 * a line gets from them. Rules (ratecards/README.md): a matching custom price replaces the list price
 * (first in file order) and is final; otherwise the first matching discount scales the list price;
 * discounts never stack.
 */
import type { CostCategory, UsageEvent } from '../contract/types.ts';
import { type Decimal, multiplyDecimal } from '../money.ts';
import type { CompiledOverride, CompiledRateCard } from './compile.ts';

export interface LineContext {
  category: CostCategory;
  item: string;
  provider: string | null;
  /** The event's model, or the embedding model for embedding tokens. */
  model: string | null;
}

function overrideApplies(override: CompiledOverride, line: LineContext): boolean {
  const custom = override.custom;
  if (custom) {
    return (
      custom.category === line.category &&
      custom.item.test(line.item) &&
      (custom.provider === undefined || custom.provider === line.provider) &&
      (custom.model === undefined || (line.model !== null && custom.model.test(line.model)))
    );
  }
  return (
    (override.categories === undefined || override.categories.has(line.category)) &&
    (override.providers === undefined ||
      (line.provider !== null && override.providers.includes(line.provider)))
  );
}

/**
 * The org's price for a line: a matching custom price replaces the list price (first in file order);
 * otherwise the first matching discount scales it. Discounts never stack.
 */
export function applyOverrides(
  listPrice: Decimal | undefined,
  line: LineContext,
  overrides: readonly CompiledOverride[] | undefined,
): { price: Decimal | undefined; custom: boolean } {
  if (overrides === undefined) return { price: listPrice, custom: false };
  let discount: Decimal | undefined;
  for (const override of overrides) {
    if (!overrideApplies(override, line)) continue;
    if (override.custom) return { price: override.custom.perUnit, custom: true };
    discount ??= override.discountFactor;
  }
  return { price: listPrice && discount ? multiplyDecimal(listPrice, discount) : listPrice, custom: false };
}

export function activeOverrides(
  card: CompiledRateCard,
  event: UsageEvent,
): readonly CompiledOverride[] | undefined {
  const all = card.overridesByOrg.get(event.org_id);
  if (all === undefined) return undefined;
  const active = all.filter((o) => o.fromMs <= event.event_time && event.event_time < o.untilMs);
  return active.length > 0 ? active : undefined;
}
