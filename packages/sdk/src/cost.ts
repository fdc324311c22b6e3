/**
 * Cost estimates for the cost_per_run ceiling: the rate card's pure price() on the event, in nano-units
 * of the card's currency. The default is Tollgate's default card (ratecards/default.yaml, public list
 * prices), loaded once, when the first run with a cost ceiling starts. Estimates are what the card
 * says, not what the provider will bill (negotiated discounts live in per-org overrides downstream).
 */
import { assetPath } from '@tollgate/core/assets';
import { TollgateError } from '@tollgate/core/errors';
import { type CompiledRateCard, loadRateCardFile, price } from '@tollgate/core/ratecard/index';
import type { CostEstimator } from './run.ts';

export const DEFAULT_RATE_CARD_PATH = assetPath('ratecards', 'default.yaml');

/**
 * Prices an event with `card`. A partly priced event counts its priced lines (a lower bound); an
 * event with nothing priced (a model the card does not know) is null: it cannot be estimated.
 */
export function rateCardEstimator(card: CompiledRateCard): CostEstimator {
  return (event) => {
    const outcome = price(event, card);
    if (!outcome.ok) return null;
    const { total_nanos: total, has_unpriced: unpriced } = outcome.value;
    return unpriced && total === 0 ? null : total;
  };
}

/** An estimator and the currency of its nanos (the rate card's). */
export interface LoadedEstimator {
  estimate: CostEstimator;
  currency: string;
}

/** Loads a rate card file as an estimator; a missing or invalid card is a configuration error. */
export async function loadEstimator(path: string): Promise<LoadedEstimator> {
  try {
    const card = await loadRateCardFile(path);
    return { estimate: rateCardEstimator(card), currency: card.currency };
  } catch (err) {
    throw new TollgateError(
      `ceilings.costPerRun needs a rate card to estimate costs, and ${path} could not be loaded: pass rateCard, rateCardPath or estimateCost to createMeter`,
      { code: 'TG_CONFIG', cause: err, details: { field: 'rateCardPath', path } },
    );
  }
}
