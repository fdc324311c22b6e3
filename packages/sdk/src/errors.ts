/**
 * The SDK's typed errors. All extend TollgateError (`code`, `retriable`, `cause`); the codes are
 * stable and documented in the README, so callers branch on `code` (or `instanceof`), never on text.
 *
 *   TG_VALIDATION        a record call broke a contract rule (ValidationError from @tollgate/core)
 *   TG_SDK_CEILING       an action would cross a ceiling (CeilingExceededError)
 *   TG_SDK_BUFFER_FULL   the bounded buffer stayed full for bufferTimeoutMs (BufferFullError)
 *   TG_SDK_DELIVERY      a batch could not be delivered (DeliveryError; retriable while the SDK retries)
 *   TG_SDK_TIMEOUT       flush()/close() passed their deadline with events still undelivered
 *   TG_SDK_CLOSED        a call on a meter that is closing or closed
 *   TG_SDK_POLICIES_UNAVAILABLE  startRun could not read the ceilings policies (PoliciesUnavailableError)
 *   TG_SDK_POLICY_REJECTED       a policy on the policy topic is not valid (to onError; it is skipped)
 */

import type { Ceiling } from '@tollgate/core/contract/types';
import { TollgateError } from '@tollgate/core/errors';

/** An encoded event as the SDK hands it to Kafka: the key is the run id, the value the Avro bytes. */
export interface OutboundMessage {
  key: Buffer;
  value: Buffer;
  /** Java-compatible murmur2 of the key, computed once per run: the partitioner reuses it. */
  keyHash: number;
}

export class CeilingExceededError extends TollgateError {
  readonly ceiling: Ceiling;
  /** The configured limit in the ceiling's unit (tokens, nano-units of currency, agents, levels). */
  readonly limit: number;
  /** What the action asked for (tokens of the request, estimated cost, agents, depth). */
  readonly requested: number;
  /** The run's value before the action (cost so far, subagents so far, current depth). */
  readonly observed: number;

  constructor(ceiling: Ceiling, limit: number, requested: number, observed: number, runId: string) {
    super(
      `ceiling ${ceiling} exceeded: requested ${requested} with ${observed} already used, limit ${limit}`,
      { code: 'TG_SDK_CEILING', retriable: false, details: { ceiling, limit, requested, observed, runId } },
    );
    this.name = 'CeilingExceededError';
    this.ceiling = ceiling;
    this.limit = limit;
    this.requested = requested;
    this.observed = observed;
  }
}

export class BufferFullError extends TollgateError {
  constructor(bufferTimeoutMs: number, bufferedEvents: number, bufferedBytes: number) {
    super(
      `event not accepted: the SDK buffer stayed full for ${bufferTimeoutMs} ms (is the broker down or slow?)`,
      {
        code: 'TG_SDK_BUFFER_FULL',
        // The caller may retry the record call later: the event was not buffered.
        retriable: true,
        details: { bufferTimeoutMs, bufferedEvents, bufferedBytes },
      },
    );
    this.name = 'BufferFullError';
  }
}

export class DeliveryError extends TollgateError {
  /** Events in the batch this error is about. */
  readonly eventCount: number;
  /**
   * For a permanent failure (retriable false), the encoded events that were NOT delivered, so a
   * caller can persist them; empty for a transient failure (the SDK keeps and retries those).
   */
  readonly messages: OutboundMessage[];

  constructor(
    message: string,
    options: { retriable: boolean; cause: unknown; messages: OutboundMessage[]; eventCount: number },
  ) {
    super(message, {
      code: 'TG_SDK_DELIVERY',
      retriable: options.retriable,
      cause: options.cause,
      details: { eventCount: options.eventCount },
    });
    this.name = 'DeliveryError';
    this.eventCount = options.eventCount;
    this.messages = options.messages;
  }
}

export class DeadlineError extends TollgateError {
  readonly undeliveredEvents: number;
  readonly messages: OutboundMessage[];

  constructor(
    operation: 'flush' | 'close',
    timeoutMs: number,
    messages: OutboundMessage[],
    undelivered: number,
  ) {
    super(`${operation} did not finish within ${timeoutMs} ms: ${undelivered} events not yet delivered`, {
      code: 'TG_SDK_TIMEOUT',
      retriable: operation === 'flush',
      details: { operation, timeoutMs, undeliveredEvents: undelivered },
    });
    this.name = 'DeadlineError';
    this.undeliveredEvents = undelivered;
    this.messages = messages;
  }
}

export class MeterClosedError extends TollgateError {
  constructor(operation: string) {
    super(`meter is closed: ${operation} refused`, {
      code: 'TG_SDK_CLOSED',
      retriable: false,
      details: { operation },
    });
    this.name = 'MeterClosedError';
  }
}

/** startRun could not learn the ceilings policies in force, so it started no run. */
export class PoliciesUnavailableError extends TollgateError {
  constructor(topic: string, cause: unknown) {
    super(
      `ceilings policies could not be read from ${topic} (${(cause as Error)?.message ?? String(cause)}); no run starts without them: check the brokers and that ${topic} exists (tollgate provision), or leave out the meter's policies option`,
      { code: 'TG_SDK_POLICIES_UNAVAILABLE', retriable: true, cause, details: { topic } },
    );
    this.name = 'PoliciesUnavailableError';
  }
}
