/**
 * Record calls waiting for room in a full buffer, first come first served. A waiter is admitted when
 * the buffer has room for it and every earlier waiter is in (so a run's events keep their order), or
 * refused when its timeout passes first.
 */
import type { OutboundMessage } from './errors.ts';

interface Waiter {
  message: OutboundMessage;
  size: number;
  resolve: () => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
  done: boolean;
}

export interface WaitingRoom {
  /** Waiters neither admitted nor refused. */
  readonly pending: number;
  /** Resolves once admitted; rejects with `refusal()` after `timeoutMs`. */
  wait(message: OutboundMessage, size: number): Promise<void>;
  /** Admits waiters in order while the next one `fits`, handing each to `accept`. */
  admit(fits: (size: number) => boolean, accept: (message: OutboundMessage, size: number) => void): void;
  /** The messages still waiting, in order. */
  messages(): OutboundMessage[];
  /** Refuses every waiter with `err` (the meter gave up at its close deadline). */
  refuseAll(err: () => Error): void;
}

export function createWaitingRoom(options: {
  timeoutMs: number;
  /** The error a timed-out waiter gets. */
  refusal: () => Error;
  /** Called after a waiter timed out (someone may be waiting for the room to empty). */
  onTimeout: () => void;
}): WaitingRoom {
  let waiters: Waiter[] = [];
  let head = 0;
  let pending = 0;

  return {
    get pending() {
      return pending;
    },

    wait(message, size) {
      return new Promise<void>((resolve, reject) => {
        const waiter: Waiter = {
          message,
          size,
          resolve,
          reject,
          done: false,
          timer: setTimeout(() => {
            if (waiter.done) return;
            waiter.done = true;
            pending -= 1;
            reject(options.refusal());
            options.onTimeout();
          }, options.timeoutMs),
        };
        waiters.push(waiter);
        pending += 1;
      });
    },

    admit(fits, accept) {
      while (head < waiters.length) {
        const waiter = waiters[head]!;
        if (!waiter.done) {
          if (!fits(waiter.size)) return;
          waiter.done = true;
          pending -= 1;
          clearTimeout(waiter.timer);
          accept(waiter.message, waiter.size);
          waiter.resolve();
        }
        head += 1;
      }
      waiters = [];
      head = 0;
    },

    messages() {
      return waiters.slice(head).flatMap((w) => (w.done ? [] : [w.message]));
    },

    refuseAll(err) {
      for (let i = head; i < waiters.length; i++) {
        const waiter = waiters[i]!;
        if (waiter.done) continue;
        waiter.done = true;
        clearTimeout(waiter.timer);
        waiter.reject(err());
      }
      waiters = [];
      head = 0;
      pending = 0;
    },
  };
}
