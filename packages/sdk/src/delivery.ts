/**
 * The bounded buffer between record calls and Kafka, and the one sender that drains it.
 *
 * Invariants:
 * - An event is encoded once, before it is buffered; every retry sends the same bytes, so the same
 *   event_id (downstream stages deduplicate on it).
 * - At most one batch is in flight. kafkajs' idempotent producer takes a per-broker lock around each
 *   produce request anyway, and one batch at a time is what keeps a retried batch on the sequence
 *   numbers it had: the broker then drops a batch it already wrote instead of appending it twice.
 * - Nothing is dropped silently. The buffer is bounded (events and bytes); when full, `offer` returns
 *   a promise that resolves once the event fits, or rejects with BufferFullError after
 *   `bufferTimeoutMs`. A transient failure is retried forever (with backoff) and reported to
 *   `onError`; a permanent one is reported to `onError` and to one flush()/close() caller, with the
 *   undelivered bytes attached.
 * - Order: events of a run are sent in the order they were accepted (FIFO queue, FIFO waiters).
 */

import { TollgateError } from '@tollgate/core/errors';
import type { Logger } from '@tollgate/core/logger';
import {
  BufferFullError,
  DeadlineError,
  DeliveryError,
  MeterClosedError,
  type OutboundMessage,
} from './errors.ts';
import { createSettlement } from './settlement.ts';
import { createWaitingRoom } from './waiting-room.ts';

/** Where batches go: Kafka in production. `send` resolves once the broker acknowledged the batch. */
export interface Transport {
  send(messages: OutboundMessage[]): Promise<void>;
  /** Whether a failure of `send` is worth retrying (broker down, leader moving, timeout). */
  isRetriable(err: unknown): boolean;
  close(): Promise<void>;
}

export interface DeliveryOptions {
  transport: Transport;
  lingerMs: number;
  batchMaxBytes: number;
  maxBufferedEvents: number;
  maxBufferedBytes: number;
  bufferTimeoutMs: number;
  retryBackoffMs: number;
  retryBackoffMaxMs: number;
  logger: Logger;
  onError: (err: TollgateError) => void;
}

export interface DeliveryStats {
  /** Accepted and not yet acknowledged (queued plus in flight). */
  bufferedEvents: number;
  bufferedBytes: number;
  /** Record calls waiting for room. */
  waitingEvents: number;
  deliveredEvents: number;
  /** Events reported undeliverable (permanent failures, or abandoned at a close deadline). */
  failedEvents: number;
  deliveredBatches: number;
  /** Failed send attempts, transient ones included. */
  failedAttempts: number;
}

export interface Delivery {
  /**
   * Buffers one encoded event. Returns undefined when it was buffered (the fast path: no promise is
   * allocated), or a promise when the buffer is full: it resolves once the event is buffered, or
   * rejects with BufferFullError after bufferTimeoutMs. Throws MeterClosedError after close().
   */
  offer(message: OutboundMessage): Promise<void> | undefined;
  /** Resolves when every event accepted before the call is acknowledged by the broker. */
  flush(timeoutMs?: number): Promise<void>;
  /** Refuses new events, delivers everything accepted (within the deadline), closes the transport. */
  close(timeoutMs?: number): Promise<void>;
  stats(): DeliveryStats;
}

/** Bytes a record adds to a produce request beyond its key and value (lengths, deltas, attributes). */
export const RECORD_OVERHEAD_BYTES = 16;

function sizeOf(message: OutboundMessage): number {
  return message.key.length + message.value.length + RECORD_OVERHEAD_BYTES;
}

export function createDelivery(options: DeliveryOptions): Delivery {
  const { transport, lingerMs, batchMaxBytes, maxBufferedEvents, maxBufferedBytes, bufferTimeoutMs, logger } =
    options;
  const log = logger.child({ component: 'sdk-delivery' });

  // FIFO queue of accepted, unsent events; `head` avoids O(n) shifts, compaction keeps it bounded.
  let queue: OutboundMessage[] = [];
  let head = 0;
  let queuedBytes = 0;
  let oldestQueuedAt = 0;
  let bufferedEvents = 0;
  let bufferedBytes = 0;
  const room = createWaitingRoom({
    timeoutMs: bufferTimeoutMs,
    refusal: () => {
      log.warn({ bufferedEvents, bufferedBytes, bufferTimeoutMs }, 'buffer full, event refused');
      return new BufferFullError(bufferTimeoutMs, bufferedEvents, bufferedBytes);
    },
    onTimeout: () => settlement.recheck(),
  });

  let inFlight: OutboundMessage[] | undefined;
  let inFlightBytes = 0;
  let attempt = 0;
  let retryTimer: NodeJS.Timeout | undefined;
  let lingerTimer: NodeJS.Timeout | undefined;
  let pumpScheduled = false;

  const settlement = createSettlement(() => room.pending === 0);
  let closing: Promise<void> | undefined;
  let abandoned = false;

  const stats = {
    deliveredEvents: 0,
    failedEvents: 0,
    deliveredBatches: 0,
    failedAttempts: 0,
  };

  function report(err: TollgateError): void {
    try {
      options.onError(err);
    } catch (hookErr) {
      log.error({ err: hookErr }, 'onError hook threw');
    }
  }

  function enqueue(message: OutboundMessage, size: number): void {
    if (head === queue.length) oldestQueuedAt = Date.now();
    queue.push(message);
    queuedBytes += size;
    bufferedEvents += 1;
    bufferedBytes += size;
    settlement.accepted();
    if (queuedBytes >= batchMaxBytes) schedulePump();
    else if (lingerTimer === undefined) lingerTimer = setTimeout(onLinger, lingerMs);
  }

  function hasRoom(size: number): boolean {
    return bufferedEvents < maxBufferedEvents && bufferedBytes + size <= maxBufferedBytes;
  }

  function onLinger(): void {
    lingerTimer = undefined;
    pump();
  }

  function schedulePump(): void {
    if (pumpScheduled || inFlight !== undefined) return;
    pumpScheduled = true;
    setImmediate(() => {
      pumpScheduled = false;
      pump();
    });
  }

  /** Sends the next batch when none is in flight and one is ready (full, lingered, or flushing). */
  function pump(): void {
    if (inFlight !== undefined || abandoned || head === queue.length) return;
    const waited = Date.now() - oldestQueuedAt;
    const ready =
      queuedBytes >= batchMaxBytes || waited >= lingerMs || settlement.watched || closing !== undefined;
    if (!ready) {
      if (lingerTimer === undefined) lingerTimer = setTimeout(onLinger, lingerMs - waited);
      return;
    }
    if (lingerTimer !== undefined) {
      clearTimeout(lingerTimer);
      lingerTimer = undefined;
    }
    let end = head;
    let bytes = 0;
    while (end < queue.length) {
      const size = sizeOf(queue[end]!);
      if (end > head && bytes + size > batchMaxBytes) break;
      bytes += size;
      end += 1;
    }
    inFlight = queue.slice(head, end);
    inFlightBytes = bytes;
    head = end;
    queuedBytes -= bytes;
    if (head === queue.length) {
      queue = [];
      head = 0;
    } else {
      oldestQueuedAt = Date.now();
      if (head > 65_536 && head * 2 > queue.length) {
        queue = queue.slice(head);
        head = 0;
      }
    }
    attempt = 0;
    send();
  }

  function send(): void {
    const batch = inFlight!;
    transport.send(batch).then(
      () => settle(batch, undefined),
      (err: unknown) => onSendFailed(batch, err),
    );
  }

  function onSendFailed(batch: OutboundMessage[], err: unknown): void {
    stats.failedAttempts += 1;
    if (abandoned) return;
    if (transport.isRetriable(err)) {
      attempt += 1;
      const delayMs = Math.min(
        options.retryBackoffMaxMs,
        options.retryBackoffMs * 2 ** Math.min(attempt - 1, 16),
      );
      const error = new DeliveryError(
        `delivery of ${batch.length} events failed, retrying in ${delayMs} ms`,
        {
          retriable: true,
          cause: err,
          messages: [],
          eventCount: batch.length,
        },
      );
      log.warn({ err, events: batch.length, attempt, delayMs }, 'delivery failed, will retry');
      report(error);
      retryTimer = setTimeout(() => {
        retryTimer = undefined;
        send();
      }, delayMs);
      return;
    }
    const error = new DeliveryError(`delivery of ${batch.length} events failed permanently`, {
      retriable: false,
      cause: err,
      messages: batch,
      eventCount: batch.length,
    });
    log.error({ err, events: batch.length }, 'delivery failed permanently');
    report(error);
    settle(batch, error);
  }

  function settle(batch: OutboundMessage[], error: DeliveryError | undefined): void {
    if (error === undefined) {
      if (attempt > 0) log.info({ events: batch.length, attempts: attempt + 1 }, 'delivery recovered');
      stats.deliveredEvents += batch.length;
      stats.deliveredBatches += 1;
    } else {
      stats.failedEvents += batch.length;
    }
    bufferedEvents -= batch.length;
    bufferedBytes -= inFlightBytes;
    inFlight = undefined;
    inFlightBytes = 0;
    settlement.settled(batch.length, error);
    room.admit(hasRoom, enqueue);
    pump();
  }

  function undelivered(): OutboundMessage[] {
    return [...(inFlight ?? []), ...queue.slice(head), ...room.messages()];
  }

  function waitSettled(timeoutMs: number | undefined, operation: 'flush' | 'close'): Promise<void> {
    const target = operation === 'close' ? 'all' : settlement.acceptedSeq;
    const waiting = settlement.wait(target, timeoutMs, () => {
      const pending = operation === 'close' ? undelivered() : [];
      const count = target === 'all' ? pending.length : target - settlement.settledSeq;
      return new DeadlineError(operation, timeoutMs!, pending, count);
    });
    schedulePump();
    return waiting;
  }

  return {
    offer(message) {
      if (closing !== undefined) throw new MeterClosedError('record');
      const size = sizeOf(message);
      if (room.pending === 0 && hasRoom(size)) {
        enqueue(message, size);
        return undefined;
      }
      if (size > maxBufferedBytes) {
        throw new TollgateError(`event of ${size} bytes can never fit maxBufferedBytes ${maxBufferedBytes}`, {
          code: 'TG_VALIDATION',
          details: { field: 'event', rule: 'encoded size must fit maxBufferedBytes', size },
        });
      }
      return room.wait(message, size);
    },

    flush(timeoutMs) {
      return waitSettled(timeoutMs, 'flush');
    },

    close(timeoutMs) {
      closing ??= (async () => {
        try {
          // Record calls that were waiting for room before close still get in as room frees up.
          await waitSettled(timeoutMs, 'close');
        } catch (err) {
          abandon();
          if (err instanceof DeadlineError) {
            stats.failedEvents += err.undeliveredEvents;
            log.error({ undeliveredEvents: err.undeliveredEvents, timeoutMs }, 'close deadline passed');
            report(err);
          }
          throw err;
        } finally {
          if (lingerTimer !== undefined) clearTimeout(lingerTimer);
          await transport.close().catch((err: unknown) => log.warn({ err }, 'transport close failed'));
        }
      })();
      return closing;
    },

    stats() {
      return {
        bufferedEvents,
        bufferedBytes,
        waitingEvents: room.pending,
        ...stats,
      };
    },
  };

  /** Gives up on what is still undelivered (close deadline): stops retries and refuses waiters. */
  function abandon(): void {
    abandoned = true;
    if (retryTimer !== undefined) clearTimeout(retryTimer);
    room.refuseAll(() => new MeterClosedError('record'));
  }
}
