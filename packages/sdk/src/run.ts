/**
 * Runs: the top-level unit a user or a schedule triggered, and the unit charged back. A run is its own
 * root agent; it records run_start when it starts and run_end with its outcome.
 */
import type { RunOutcome } from '@tollgate/core/contract/types';
import { ValidationError } from '@tollgate/core/errors';
import { type Agent, createAgent, type RunSink, type RunState } from './agent.ts';
import type { ResolvedCeilings } from './ceilings.ts';
import { type Attribution, newEvent } from './events.ts';
import { keyHash } from './partitioner.ts';

export type {
  Agent,
  CostEstimator,
  Recorded,
  RequestCheck,
  RequestCheckInput,
  RunSink,
  RunState,
  SpawnOptions,
} from './agent.ts';

export interface Run extends Agent {
  /** Estimated cost recorded so far (nanos), when a cost estimator is configured; otherwise 0. */
  readonly spentNanos: number;
  /** Subagents spawned in the run so far, at any depth. */
  readonly subagentCount: number;
  readonly ceilings: ResolvedCeilings;
  /** Records run_end with its outcome. Usage recorded after end() is still delivered. */
  end(outcome: RunOutcome, options?: { durationMs?: number }): Promise<void>;
}

export interface RunInit {
  runId: string;
  ceilings: ResolvedCeilings;
  root: Attribution;
  trigger: string | null;
}

/** Creates a run, its root agent and its run_start event (awaited only when the buffer is full). */
export async function startRun(sink: RunSink, init: RunInit): Promise<Run> {
  const key = Buffer.from(init.runId, 'utf8');
  const run: RunState = {
    runId: init.runId,
    key,
    keyHash: keyHash(key),
    ceilings: init.ceilings,
    startedAt: Date.now(),
    spentNanos: 0,
    subagents: 0,
    ended: false,
  };
  const root = createAgent(sink, run, init.root);
  const start = newEvent(init.root, 'run_start', { eventTime: run.startedAt }, null, null, 'default');
  start.run_start = { trigger: init.trigger };
  await sink.emit(start, run);

  return {
    ...root,
    get spentNanos() {
      return run.spentNanos;
    },
    get subagentCount() {
      return run.subagents;
    },
    ceilings: run.ceilings,
    async end(outcome: RunOutcome, options?: { durationMs?: number }) {
      if (run.ended) throw new ValidationError('run', `run ${run.runId} already ended`);
      run.ended = true;
      const event = newEvent(init.root, 'run_end', undefined, null, null, 'default');
      const durationMs = options?.durationMs ?? event.event_time - run.startedAt;
      if (!Number.isFinite(durationMs) || durationMs < 0)
        throw new ValidationError('durationMs', 'must be a finite non-negative number of milliseconds');
      event.run_end = { outcome, duration_ms: Math.round(durationMs) };
      await sink.emit(event, run);
    },
  };
}
