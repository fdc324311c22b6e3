/**
 * createMeter: the SDK's entry point. One meter per process (it owns one Kafka producer); runs are
 * started from it and record through it. Every event is validated (validateUsageEvent plus the SDK's
 * own checks), encoded once as Avro (single-object encoding), keyed by run id and buffered; a single
 * sender delivers batches (see delivery.ts for the buffer policy).
 */
import { randomUUID } from 'node:crypto';
import { type Codec, createUsageCodec } from '@tollgate/core/avro/codec';
import type { UsageEvent } from '@tollgate/core/contract/types';
import { validateUsageEvent } from '@tollgate/core/contract/validate';
import { ConfigError, TollgateError, ValidationError } from '@tollgate/core/errors';
import { createKafka } from '@tollgate/core/kafka';
import { type KafkaSasl, type KafkaSsl, SASL_MECHANISMS } from '@tollgate/core/kafka-connection';
import { type Logger, silentLogger } from '@tollgate/core/logger';
import type { Ceilings } from '@tollgate/core/policy/resolve';
import type { CompiledRateCard } from '@tollgate/core/ratecard/index';
import { TOPIC_NAMES } from '@tollgate/core/topics';
import {
  type CeilingLimits,
  NO_CEILINGS,
  type ResolvedCeilings,
  resolveCeilings,
  stricterCeilings,
} from './ceilings.ts';
import { DEFAULT_RATE_CARD_PATH, type LoadedEstimator, loadEstimator, rateCardEstimator } from './cost.ts';
import { createDelivery, type DeliveryStats, type Transport } from './delivery.ts';
import { MeterClosedError } from './errors.ts';
import { type Compression, createKafkaTransport } from './kafka-transport.ts';
import { createPolicyFollower, DEFAULT_POLICIES_GROUP_ID_PREFIX, type PolicyFollower } from './policies.ts';
import { type CostEstimator, type Run, type RunSink, type RunState, startRun } from './run.ts';
import { createWorkerTransport } from './worker-transport.ts';

/** Business attribution, spelled as the contract spells it. */
export interface BusinessTags {
  org_id: string;
  feature?: string | null;
  customer_id?: string | null;
  environment?: string | null;
  tags?: Record<string, string>;
}

export interface MeterOptions {
  brokers: string[];
  /** TLS to the brokers: `true` for the system's CAs, or PEM text of a private `ca` (and `cert`/`key` for mTLS). */
  ssl?: KafkaSsl;
  /** SASL/PLAIN or SCRAM credentials, as managed Kafka services issue them. */
  sasl?: KafkaSasl;
  clientId: string;
  /** Business tags every run carries unless it overrides them. */
  defaults: BusinessTags;
  /** Defaults to tollgate.usage.v1. */
  topic?: string;
  /** Default ceilings of every run (none unless set); startRun can override each. */
  ceilings?: CeilingLimits;
  /**
   * Also enforce the ceilings policies a platform team publishes with `tollgate policy set`: every new
   * run gets, field by field, the stricter of its code ceilings and the policies' for its org, feature
   * and customer. `true` follows tollgate.policies.v1; or give `topic`, `groupIdPrefix` (the throwaway
   * consumer groups' prefix, default tollgate-sdk-policies) and `timeoutMs` (how long startRun waits
   * for the first full read, default 15 s; past it startRun rejects with PoliciesUnavailableError).
   * Off by default.
   */
  policies?: boolean | PolicyOptions;
  /**
   * How the cost_per_run ceiling prices usage: `estimateCost` (nano-units of the ceiling's currency,
   * null when it cannot price), else `rateCard`, else the rate card file at `rateCardPath` (default:
   * Tollgate's ratecards/default.yaml, shipped in the package), loaded when the first run with a cost
   * ceiling starts.
   */
  estimateCost?: CostEstimator;
  rateCard?: CompiledRateCard;
  rateCardPath?: string;
  /** pino logger; the SDK logs nothing unless given one. */
  logger?: Logger;
  /** Every delivery problem (transient ones while retrying, permanent ones with their bytes). */
  onError?: (err: TollgateError) => void;
  /** How long a batch waits for more events before it is sent. Default 5 ms. */
  lingerMs?: number;
  /**
   * Upper bound of one produce request (keys + values + record overhead). Default 500,000: kafkajs
   * groups a request's messages by partition in time quadratic in their number, so larger batches
   * cost more CPU per event, not less.
   */
  batchMaxBytes?: number;
  /** Events accepted and not yet acknowledged, at most. Default 50,000. */
  maxBufferedEvents?: number;
  /** Bytes accepted and not yet acknowledged, at most. Default 32 MiB. */
  maxBufferedBytes?: number;
  /** How long a record call waits for room in a full buffer before it rejects. Default 30 s. */
  bufferTimeoutMs?: number;
  /** Backoff between attempts at a failed batch: doubles from retryBackoffMs to retryBackoffMaxMs. */
  retryBackoffMs?: number;
  retryBackoffMaxMs?: number;
  /** Default deadline of close(). Default 30 s. */
  closeTimeoutMs?: number;
  compression?: Compression;
  /**
   * Where the kafkajs producer runs: 'worker' (default) builds produce requests on a worker thread,
   * so a large batch never stalls the agent's event loop; 'main' keeps everything on this thread.
   */
  producerThread?: 'worker' | 'main';
  connectionTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** Replaces Kafka (tests of the buffer policy); production code leaves it out. */
  transport?: Transport;
  /** Replaces the usage codec (defaults to the newest UsageEvent schema). */
  codec?: Codec<UsageEvent>;
}

export interface PolicyOptions {
  topic?: string;
  groupIdPrefix?: string;
  timeoutMs?: number;
}

export interface RunOptions extends Partial<BusinessTags> {
  /** Defaults to a random UUID. Events of the run are keyed (and ordered) by it. */
  runId?: string;
  /** Name of the run's root agent. */
  agentName?: string;
  /** What started the run (schedule, user, webhook…). */
  trigger?: string;
  /** Overrides of the meter's ceilings for this run (null switches one off). */
  ceilings?: CeilingLimits;
}

export interface Meter {
  /** Starts a run and records run_start. */
  startRun(options?: RunOptions): Promise<Run>;
  /** Resolves once every event accepted so far is acknowledged; rejects with a permanent DeliveryError. */
  flush(options?: { timeoutMs?: number }): Promise<void>;
  /** Refuses new events, delivers everything accepted, then disconnects (default deadline closeTimeoutMs). */
  close(options?: { timeoutMs?: number }): Promise<void>;
  stats(): DeliveryStats;
}

function positive(value: number | undefined, fallback: number, field: string, min = 1): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < min)
    throw new ConfigError(`createMeter: ${field} must be a number ≥ ${min}, got ${String(value)}`, { field });
  return value;
}

function text(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length === 0)
    throw new ConfigError(`createMeter: ${field} must be a non-empty string`, { field });
  return value;
}

function checkTags(tags: unknown, field: string): Record<string, string> {
  if (tags === undefined) return {};
  if (tags === null || typeof tags !== 'object' || Array.isArray(tags))
    throw new ValidationError(field, 'must be an object of string values');
  for (const [key, value] of Object.entries(tags))
    if (typeof value !== 'string') throw new ValidationError(`${field}.${key}`, 'must be a string');
  return tags as Record<string, string>;
}

export function createMeter(options: MeterOptions): Meter {
  if (options === null || typeof options !== 'object')
    throw new ConfigError('createMeter: options are required');
  if (!Array.isArray(options.brokers) || options.brokers.length === 0)
    throw new ConfigError('createMeter: brokers must list at least one host:port', { field: 'brokers' });
  const clientId = text(options.clientId, 'clientId');
  const defaults = options.defaults;
  if (defaults === null || typeof defaults !== 'object')
    throw new ConfigError('createMeter: defaults must carry at least org_id', { field: 'defaults' });
  text(defaults.org_id, 'defaults.org_id');
  checkTags(defaults.tags, 'defaults.tags');
  const baseCeilings = resolveCeilings(NO_CEILINGS, options.ceilings, 'ceilings');
  const rateCardPath = options.rateCardPath ?? DEFAULT_RATE_CARD_PATH;
  let loadingEstimator: Promise<LoadedEstimator> | undefined;
  /** The currency of the estimates (null: the caller's own estimateCost, whose currency is not known). */
  let estimateCurrency: string | null = options.rateCard?.currency ?? null;

  const maxBufferedBytes = positive(options.maxBufferedBytes, 32 * 1024 * 1024, 'maxBufferedBytes', 1024);
  const batchMaxBytes = positive(options.batchMaxBytes, 500_000, 'batchMaxBytes', 1024);
  if (batchMaxBytes > maxBufferedBytes)
    throw new ConfigError('createMeter: batchMaxBytes must not exceed maxBufferedBytes', {
      field: 'batchMaxBytes',
    });
  const closeTimeoutMs = positive(options.closeTimeoutMs, 30_000, 'closeTimeoutMs', 0);
  const logger = (options.logger ?? silentLogger()).child({ component: 'sdk', clientId });
  const onError = options.onError ?? (() => {});
  const topic = options.topic ?? TOPIC_NAMES.usage;
  const codec = options.codec ?? createUsageCodec();
  const producerThread = options.producerThread ?? 'worker';
  if (producerThread !== 'worker' && producerThread !== 'main')
    throw new ConfigError("createMeter: producerThread must be 'worker' or 'main'", {
      field: 'producerThread',
    });
  const kafkaOptions = {
    brokers: options.brokers,
    ssl: checkSsl(options.ssl),
    sasl: checkSasl(options.sasl),
    clientId,
    topic,
    logger,
    compression: options.compression ?? 'none',
    connectionTimeoutMs: positive(options.connectionTimeoutMs, 3_000, 'connectionTimeoutMs'),
    requestTimeoutMs: positive(options.requestTimeoutMs, 30_000, 'requestTimeoutMs'),
  };
  const transport =
    options.transport ??
    (producerThread === 'worker' ? createWorkerTransport(kafkaOptions) : createKafkaTransport(kafkaOptions));
  const delivery = createDelivery({
    transport,
    lingerMs: positive(options.lingerMs, 5, 'lingerMs', 0),
    batchMaxBytes,
    maxBufferedEvents: positive(options.maxBufferedEvents, 50_000, 'maxBufferedEvents'),
    maxBufferedBytes,
    bufferTimeoutMs: positive(options.bufferTimeoutMs, 30_000, 'bufferTimeoutMs', 0),
    retryBackoffMs: positive(options.retryBackoffMs, 100, 'retryBackoffMs'),
    retryBackoffMaxMs: positive(options.retryBackoffMaxMs, 5_000, 'retryBackoffMaxMs'),
    logger,
    onError,
  });
  let closed = false;

  const sink: RunSink = {
    emit(event: UsageEvent, run: RunState) {
      if (closed) throw new MeterClosedError(`record ${event.kind}`);
      const result = validateUsageEvent(event);
      if (!result.ok) throw new ValidationError(result.field, result.rule);
      const value = codec.encode(event);
      // An event that cannot fit a produce request would be refused by the broker: refuse it here.
      if (value.length + run.key.length > batchMaxBytes)
        throw new ValidationError(
          'event',
          `encodes to ${value.length} bytes, more than batchMaxBytes (${batchMaxBytes})`,
        );
      return delivery.offer({ key: run.key, value, keyHash: run.keyHash });
    },
    report(err) {
      logger.error({ err }, 'event could not be recorded');
      try {
        onError(err);
      } catch (hookErr) {
        logger.error({ err: hookErr }, 'onError hook threw');
      }
    },
    estimateCost:
      options.estimateCost ?? (options.rateCard ? rateCardEstimator(options.rateCard) : undefined),
  };

  const policies = options.policies
    ? policyFollower(options.policies, kafkaOptions, (err) => sink.report(err))
    : undefined;

  /** A policy's ceilings in the SDK's units; a cost ceiling in another currency than the estimates' cannot apply. */
  function policyCeilings(central: Ceilings): ResolvedCeilings {
    let costPerRunNanos: number | null = null;
    if (central.costPerRun !== null) {
      if (estimateCurrency === null || estimateCurrency === central.costPerRun.currency)
        costPerRunNanos = central.costPerRun.nanos;
      else
        sink.report(
          new TollgateError(
            `ceilings policy ${central.policyIds.join(', ')}: cost_per_run is in ${central.costPerRun.currency} but cost estimates are in ${estimateCurrency}; that ceiling is not applied (publish it in ${estimateCurrency}, or give createMeter a rate card in ${central.costPerRun.currency})`,
            { code: 'TG_SDK_POLICY_CURRENCY', details: { policyIds: central.policyIds } },
          ),
        );
    }
    return {
      tokensPerRequest: central.tokensPerRequest,
      costPerRunNanos,
      subagentsPerRun: central.subagentsPerRun,
      spawnDepth: central.spawnDepth,
    };
  }

  /** The estimator a cost ceiling needs, loading the rate card file once (a failed load is retried). */
  async function ensureEstimator(): Promise<void> {
    if (sink.estimateCost !== undefined) return;
    loadingEstimator ??= loadEstimator(rateCardPath);
    try {
      const loaded = await loadingEstimator;
      sink.estimateCost = loaded.estimate;
      estimateCurrency = loaded.currency;
    } catch (err) {
      loadingEstimator = undefined;
      throw err;
    }
  }

  return {
    async startRun(runOptions: RunOptions = {}) {
      if (closed) throw new MeterClosedError('startRun');
      const runId = runOptions.runId ?? randomUUID();
      if (typeof runId !== 'string' || runId.length === 0)
        throw new ValidationError('runId', 'must be a non-empty string');
      const agentName = runOptions.agentName ?? null;
      if (agentName !== null && (typeof agentName !== 'string' || agentName.length === 0))
        throw new ValidationError('agentName', 'must be a non-empty string');
      const runTags = checkTags(runOptions.tags, 'tags');
      const pick = <K extends 'feature' | 'customer_id' | 'environment'>(key: K) =>
        runOptions[key] !== undefined ? (runOptions[key] ?? null) : (defaults[key] ?? null);
      const org_id = runOptions.org_id ?? defaults.org_id;
      let ceilings = resolveCeilings(baseCeilings, runOptions.ceilings, 'ceilings');
      if (policies) {
        await policies.loaded();
        const central = policies.ceilings({
          org_id,
          feature: pick('feature'),
          customer_id: pick('customer_id'),
        });
        if (central.costPerRun !== null) await ensureEstimator();
        ceilings = stricterCeilings(ceilings, policyCeilings(central));
      }
      if (ceilings.costPerRunNanos !== null) await ensureEstimator();
      return startRun(sink, {
        runId,
        ceilings,
        trigger: runOptions.trigger ?? null,
        root: {
          run_id: runId,
          agent_id: randomUUID(),
          parent_agent_id: null,
          agent_name: agentName,
          agent_depth: 0,
          org_id,
          feature: pick('feature'),
          customer_id: pick('customer_id'),
          environment: pick('environment'),
          // One merged object per run, shared by its events (never mutated afterwards).
          tags: Object.freeze({ ...defaults.tags, ...runTags }),
        },
      });
    },

    flush(flushOptions) {
      return delivery.flush(flushOptions?.timeoutMs);
    },

    async close(closeOptions) {
      closed = true;
      try {
        await delivery.close(closeOptions?.timeoutMs ?? closeTimeoutMs);
      } finally {
        await policies?.close();
      }
    },

    stats() {
      return delivery.stats();
    },
  };
}

/** The follower of the `policies` option, on a Kafka client of its own (the producer may run on a worker). */
function policyFollower(
  option: true | PolicyOptions,
  kafka: {
    brokers: string[];
    ssl: KafkaSsl | undefined;
    sasl: KafkaSasl | undefined;
    clientId: string;
    logger: Logger;
    connectionTimeoutMs: number;
    requestTimeoutMs: number;
  },
  onRejected: (err: TollgateError) => void,
): PolicyFollower {
  const settings: PolicyOptions = option === true ? {} : option;
  if (settings === null || typeof settings !== 'object')
    throw new ConfigError('createMeter: policies must be true or { topic, groupIdPrefix, timeoutMs }', {
      field: 'policies',
    });
  const topic = settings.topic === undefined ? TOPIC_NAMES.policies : text(settings.topic, 'policies.topic');
  const groupIdPrefix =
    settings.groupIdPrefix === undefined
      ? DEFAULT_POLICIES_GROUP_ID_PREFIX
      : text(settings.groupIdPrefix, 'policies.groupIdPrefix');
  return createPolicyFollower({
    kafka: createKafka({ ...kafka, clientId: `${kafka.clientId}-policies` }),
    topic,
    groupIdPrefix,
    timeoutMs: positive(settings.timeoutMs, 15_000, 'policies.timeoutMs'),
    logger: kafka.logger,
    onRejected,
  });
}

function checkSsl(ssl: MeterOptions['ssl']): KafkaSsl | undefined {
  if (ssl === undefined || typeof ssl === 'boolean') return ssl;
  if (ssl === null || typeof ssl !== 'object')
    throw new ConfigError('createMeter: ssl must be true, false or { ca, cert, key }', { field: 'ssl' });
  for (const key of ['ca', 'cert', 'key'] as const) {
    if (ssl[key] !== undefined && typeof ssl[key] !== 'string')
      throw new ConfigError(`createMeter: ssl.${key} must be PEM text (read the file first)`, {
        field: `ssl.${key}`,
      });
  }
  if ((ssl.cert === undefined) !== (ssl.key === undefined))
    throw new ConfigError('createMeter: ssl.cert and ssl.key go together', { field: 'ssl.cert' });
  return ssl;
}

function checkSasl(sasl: MeterOptions['sasl']): KafkaSasl | undefined {
  if (sasl === undefined) return undefined;
  if (sasl === null || typeof sasl !== 'object' || !SASL_MECHANISMS.includes(sasl.mechanism))
    throw new ConfigError(`createMeter: sasl.mechanism must be one of ${SASL_MECHANISMS.join(', ')}`, {
      field: 'sasl.mechanism',
    });
  text(sasl.username, 'sasl.username');
  text(sasl.password, 'sasl.password');
  return { mechanism: sasl.mechanism, username: sasl.username, password: sasl.password };
}
