/**
 * Which accepted events are settled (acknowledged, or failed for good), for flush() and close().
 *
 * Events settle in the order they were accepted (one FIFO queue, one batch in flight), so sequence
 * numbers are enough: the n-th accepted event has seq n, and "everything accepted before this flush"
 * is "settled seq ≥ the accepted seq at the time of the call". A permanent failure is reported to
 * exactly one waiting flush()/close() whose range covers it.
 */
import { DeliveryError } from './errors.ts';

/** A flush target: a seq, or 'all' (also waits until no record call is waiting for room). */
export type SettleTarget = number | 'all';

interface Failure {
  firstSeq: number;
  error: DeliveryError;
  reported: boolean;
}

interface Watcher {
  target: SettleTarget;
  resolve: () => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout | undefined;
}

/** Failed batches keep their bytes for a flush()/close() caller; bound what a long outage retains. */
const MAX_RETAINED_FAILURES = 16;

export interface Settlement {
  readonly acceptedSeq: number;
  readonly settledSeq: number;
  /** Someone is waiting in flush() or close(): batches should not linger. */
  readonly watched: boolean;
  accepted(): void;
  /** `count` events settled, failed for good when `failure` is given. */
  settled(count: number, failure?: DeliveryError): void;
  /** Re-checks waiters (the room emptied without anything settling). */
  recheck(): void;
  /**
   * Resolves when `target` is settled; rejects with the permanent failure it covers, or with
   * `onDeadline()` after `timeoutMs`.
   */
  wait(target: SettleTarget, timeoutMs: number | undefined, onDeadline: () => Error): Promise<void>;
}

export function createSettlement(isIdle: () => boolean): Settlement {
  let acceptedSeq = 0;
  let settledSeq = 0;
  const failures: Failure[] = [];
  const watchers: Watcher[] = [];

  const isSettled = (target: SettleTarget) =>
    target === 'all' ? isIdle() && settledSeq >= acceptedSeq : settledSeq >= target;

  /** The permanent failures among the first `upTo` events not yet reported to a caller, as one error. */
  function takeFailure(upTo: number): DeliveryError | undefined {
    for (let i = failures.length - 1; i >= 0; i--) if (failures[i]!.reported) failures.splice(i, 1);
    const hit = failures.filter((f) => f.firstSeq <= upTo);
    if (hit.length === 0) return undefined;
    for (const failure of hit) failure.reported = true;
    if (hit.length === 1) return hit[0]!.error;
    const events = hit.reduce((sum, f) => sum + f.error.eventCount, 0);
    return new DeliveryError(`${hit.length} batches (${events} events) failed permanently`, {
      retriable: false,
      cause: hit[0]!.error,
      messages: hit.flatMap((f) => f.error.messages),
      eventCount: events,
    });
  }

  function recheck(): void {
    for (let i = watchers.length - 1; i >= 0; i--) {
      const watcher = watchers[i]!;
      if (!isSettled(watcher.target)) continue;
      watchers.splice(i, 1);
      if (watcher.timer !== undefined) clearTimeout(watcher.timer);
      const failure = takeFailure(watcher.target === 'all' ? acceptedSeq : watcher.target);
      if (failure) watcher.reject(failure);
      else watcher.resolve();
    }
  }

  return {
    get acceptedSeq() {
      return acceptedSeq;
    },
    get settledSeq() {
      return settledSeq;
    },
    get watched() {
      return watchers.length > 0;
    },
    accepted() {
      acceptedSeq += 1;
    },
    settled(count, failure) {
      if (failure !== undefined) {
        failures.push({ firstSeq: settledSeq + 1, error: failure, reported: false });
        if (failures.length > MAX_RETAINED_FAILURES) failures.shift();
      }
      settledSeq += count;
      recheck();
    },
    recheck,
    wait(target, timeoutMs, onDeadline) {
      if (isSettled(target)) {
        const failure = takeFailure(acceptedSeq);
        return failure ? Promise.reject(failure) : Promise.resolve();
      }
      return new Promise<void>((resolve, reject) => {
        const watcher: Watcher = { target, resolve, reject, timer: undefined };
        if (timeoutMs !== undefined && Number.isFinite(timeoutMs)) {
          watcher.timer = setTimeout(() => {
            const index = watchers.indexOf(watcher);
            if (index >= 0) watchers.splice(index, 1);
            reject(onDeadline());
          }, timeoutMs);
        }
        watchers.push(watcher);
      });
    },
  };
}
