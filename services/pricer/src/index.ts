/** The pricer as a library: for the CLI (`tollgate ratecard publish`, re-pricing) and tests. */
export { type PricerConfig, pricerConfigSchema } from './config.ts';
export { createDedupWindow, type DedupWindow } from './dedup.ts';
export { createPricerMetrics, type PricerMetrics } from './metrics.ts';
export { createPricer, type Pricer, type PricerOptions, type PricerTopics } from './pricer.ts';
export { type BatchResult, processMessages } from './process.ts';
export { type PublishRateCardOptions, publishRateCard } from './publish-ratecard.ts';
export { createRateCardFeed, type RateCardFeed } from './ratecards.ts';
export { readToEnd } from './read-to-end.ts';
export { type RepriceOptions, type RepriceReport, reprice } from './reprice.ts';
export { adjustmentEventId, type Restatement, restate } from './restate.ts';
