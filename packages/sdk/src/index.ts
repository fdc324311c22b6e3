/**
 * @tollgate/sdk: meter what your agents spend, and stop runaway runs where they act.
 * See README.md for the five-minute guide.
 */

export type { AlertContributor, CostAlert } from '@tollgate/core/contract/types';
export { TollgateError, ValidationError } from '@tollgate/core/errors';
export type { KafkaSasl, KafkaSsl } from '@tollgate/core/kafka-connection';
export { type AlertSubscription, type AlertSubscriptionOptions, subscribeAlerts } from './alerts.ts';
export type { CeilingLimits, ResolvedCeilings } from './ceilings.ts';
export { DEFAULT_RATE_CARD_PATH, rateCardEstimator } from './cost.ts';
export type { DeliveryStats, Transport } from './delivery.ts';
export {
  BufferFullError,
  CeilingExceededError,
  DeadlineError,
  DeliveryError,
  MeterClosedError,
  type OutboundMessage,
  PoliciesUnavailableError,
} from './errors.ts';
export type {
  CacheStorageInput,
  EgressInput,
  ModelCallInput,
  RecordOptions,
  RetrievalInput,
  SandboxInput,
  ToolCallInput,
} from './events.ts';
export { callSignature } from './events.ts';
export type { Compression } from './kafka-transport.ts';
export {
  type BusinessTags,
  createMeter,
  type Meter,
  type MeterOptions,
  type PolicyOptions,
  type RunOptions,
} from './meter.ts';
export {
  type AnthropicUsage,
  fromAnthropicUsage,
  fromGeminiUsage,
  fromOpenAIUsage,
  type GeminiUsage,
  type OpenAIUsage,
  serviceTierOf,
  type TokenUsage,
} from './normalize.ts';
export type {
  Agent,
  CostEstimator,
  Recorded,
  RequestCheck,
  RequestCheckInput,
  Run,
  SpawnOptions,
} from './run.ts';
