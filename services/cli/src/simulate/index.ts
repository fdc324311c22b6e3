/**
 * `tollgate simulate`: a fleet of agents driving the real SDK into the real pipeline.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type CompiledRateCard,
  createRandom,
  errorMessage,
  type KafkaSasl,
  type KafkaSsl,
  price,
  type TollgateError,
} from '@tollgate/core';
import { createMeter, type Meter } from '@tollgate/sdk';
import { executePlans } from './execute.ts';
import type { RunLedger, RunPlan } from './plan.ts';
import { fanoutFleet, hiddenCostsFleet, normalFleet, type PresetName, sharedKeyFleet } from './presets.ts';

export { type Action, costlyEvents, type RunLedger, type RunPlan } from './plan.ts';
export { PRESETS, type PresetName } from './presets.ts';

export interface SimulateOptions {
  brokers: string[];
  ssl?: KafkaSsl;
  sasl?: KafkaSasl;
  topic?: string;
  preset: PresetName | 'scenarios';
  runs: number;
  seed: number;
  orgs: string[];
  features: string[];
  /** Events per second at most; 0 for as fast as the SDK delivers. */
  ratePerSecond: number;
  /** For `normal`: keep starting runs until this many seconds passed (0: just `runs` runs). */
  durationSeconds: number;
  /** The default rate card, for the SDK's cost ceilings. */
  card: CompiledRateCard;
  /** Also enforce the ceilings policies on this policy topic (the SDK's `policies` option). */
  policiesTopic?: string;
  concurrency?: number;
  progress?: (status: SimulationProgress) => void;
}

export interface SimulationProgress {
  /** Events recorded through the SDK so far. */
  events: number;
  /** Of those, acknowledged by the broker. */
  delivered: number;
  /** The latest delivery failure while events wait to be delivered (the SDK retries it), if any. */
  deliveryProblem?: string;
  /** Runs ended so far. */
  runs: number;
  /** Runs planned so far (a `--duration` fleet plans a round at a time). */
  planned: number;
  elapsedMs: number;
  /** How much of the simulation is done, 0 to 1: of the duration when there is one, else of the runs. */
  fraction: number;
}

export interface SimulationResult {
  ledgers: RunLedger[];
  events: number;
  elapsedMs: number;
}

/** The plans of a preset. `scenarios` is all three field scenarios in one fleet (the demo). */
export function planFleet(
  options: Pick<SimulateOptions, 'preset' | 'runs' | 'seed' | 'orgs' | 'features'>,
  nonce: string,
): RunPlan[] {
  const random = createRandom(options.seed);
  const base = { random, nonce, orgs: options.orgs, features: options.features, runs: options.runs };
  switch (options.preset) {
    case 'normal':
      return normalFleet(base);
    case 'untagged':
      return [...sharedKeyFleet(base, { tagged: false }), ...sharedKeyFleet(base, { tagged: true })];
    case 'fanout':
      return fanoutFleet(base);
    case 'hidden-costs':
      return hiddenCostsFleet(base);
    case 'scenarios':
      return [
        ...sharedKeyFleet(base, { tagged: false }),
        ...sharedKeyFleet(base, { tagged: true }),
        ...fanoutFleet(base),
        ...hiddenCostsFleet(base),
      ];
  }
}

export function createSimulationMeter(
  options: Pick<SimulateOptions, 'brokers' | 'ssl' | 'sasl' | 'topic' | 'card' | 'policiesTopic'>,
  onError?: (err: TollgateError) => void,
): Meter {
  const { card } = options;
  return createMeter({
    ...(onError === undefined ? {} : { onError }),
    brokers: options.brokers,
    ...(options.ssl === undefined ? {} : { ssl: options.ssl }),
    ...(options.sasl === undefined ? {} : { sasl: options.sasl }),
    clientId: 'tollgate-simulator',
    ...(options.topic ? { topic: options.topic } : {}),
    ...(options.policiesTopic ? { policies: { topic: options.policiesTopic } } : {}),
    defaults: { org_id: 'acme', environment: 'production' },
    // The SDK estimates a call's cost for the cost ceiling with the default card's list prices.
    estimateCost: (event) => {
      const outcome = price(event, card);
      return outcome.ok && !outcome.value.has_unpriced ? outcome.value.total_nanos : null;
    },
  });
}

export async function simulate(options: SimulateOptions): Promise<SimulationResult> {
  const nonce = randomBytes(4).toString('hex');
  // The latest delivery failure, until a delivery succeeds after it.
  let deliveryProblem: { message: string; delivered: number } | undefined;
  const meter = createSimulationMeter(options, (err) => {
    deliveryProblem = { message: errorMessage(err.cause ?? err), delivered: meter.stats().deliveredEvents };
  });
  const started = Date.now();
  let events = 0;
  let runs = 0;
  let planned = 0;
  let finished = false;
  const report = () => {
    const elapsedMs = Date.now() - started;
    const timed = options.preset === 'normal' && options.durationSeconds > 0;
    const fraction = finished
      ? 1
      : Math.min(0.99, timed ? elapsedMs / (options.durationSeconds * 1000) : runs / Math.max(1, planned));
    const stats = meter.stats();
    if (deliveryProblem && stats.deliveredEvents > deliveryProblem.delivered) deliveryProblem = undefined;
    options.progress?.({
      events,
      delivered: stats.deliveredEvents,
      ...(deliveryProblem === undefined ? {} : { deliveryProblem: deliveryProblem.message }),
      runs,
      planned,
      elapsedMs,
      fraction,
    });
  };
  const timer = setInterval(report, 500);
  const onEvents = async (count: number) => {
    events += count;
    if (options.ratePerSecond > 0) {
      // Token bucket: never ahead of rate × elapsed.
      const dueMs = (events / options.ratePerSecond) * 1000 - (Date.now() - started);
      if (dueMs > 1) await sleep(dueMs);
    }
  };
  try {
    const ledgers: RunLedger[] = [];
    let round = 0;
    do {
      const plans = planFleet({ ...options, seed: options.seed + round }, `${nonce}-${round}`);
      planned += plans.length;
      const onRunDone = () => {
        runs += 1;
      };
      ledgers.push(
        ...(await executePlans({
          meter,
          plans,
          concurrency: options.concurrency ?? 16,
          onEvents,
          onRunDone,
        })),
      );
      round += 1;
    } while (options.preset === 'normal' && Date.now() - started < options.durationSeconds * 1000);
    await meter.flush();
    finished = true;
    report();
    return { ledgers, events, elapsedMs: Date.now() - started };
  } finally {
    clearInterval(timer);
    await meter.close();
  }
}
