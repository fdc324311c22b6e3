import { join } from 'node:path';
import { loadRateCardFile, TollgateError } from '@tollgate/core';
import { reachKafka } from '../kafka.ts';
import type { ProgramDeps } from '../program.ts';
import {
  PRESETS,
  type PresetName,
  type SimulationProgress,
  type SimulationResult,
  simulate,
} from '../simulate/index.ts';

export interface SimulateFlags {
  preset: string;
  runs: string;
  rate: string;
  duration: string;
  orgs: string;
  features: string;
  seed?: string;
  policies?: boolean;
}

function wholeNumber(option: string, text: string, min: number): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min) {
    throw new TollgateError(`${option} must be a whole number ≥ ${min}, got ${JSON.stringify(text)}`, {
      code: 'TG_CLI_USAGE',
    });
  }
  return value;
}

function list(option: string, text: string): string[] {
  const items = text
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
  if (items.length === 0)
    throw new TollgateError(`${option} needs at least one value`, { code: 'TG_CLI_USAGE' });
  return items;
}

const BAR_WIDTH = 24;

const plural = (n: number, noun: string) => `${n.toLocaleString('en-US')} ${noun}${n === 1 ? '' : 's'}`;

/**
 * "[██████░░░░…]  25 %  1,234 events/s  12,345 events  40/150 runs": the rate is of events the broker
 * acknowledged; events recorded but not yet acknowledged show as "(N waiting)", and while deliveries
 * fail, the failure follows ("Kafka: … retrying").
 */
export function progressLine({
  events,
  delivered,
  deliveryProblem,
  runs,
  planned,
  elapsedMs,
  fraction,
}: SimulationProgress): string {
  const filled = Math.floor(fraction * BAR_WIDTH);
  const bar = `[${'█'.repeat(filled)}${'░'.repeat(BAR_WIDTH - filled)}]`;
  const rate = elapsedMs > 0 ? Math.round((delivered * 1000) / elapsedMs) : 0;
  const percent = `${Math.floor(fraction * 100)} %`.padStart(5);
  const count = (n: number) => n.toLocaleString('en-US');
  const waiting = events - delivered;
  return (
    `${bar} ${percent}  ${count(rate)} events/s  ${count(delivered)} events` +
    `${waiting > 0 ? ` (${count(waiting)} waiting)` : ''}  ${count(runs)}/${count(planned)} runs` +
    `${deliveryProblem === undefined ? '' : `  Kafka: ${deliveryProblem}; retrying`}`
  );
}

/** Parses the flags, runs the simulation with a progress bar, prints a summary. */
export async function runSimulation(
  deps: ProgramDeps,
  flags: SimulateFlags,
  out: NodeJS.WriteStream = process.stdout,
): Promise<SimulationResult> {
  const presets: readonly string[] = [...PRESETS, 'scenarios'];
  if (!presets.includes(flags.preset)) {
    throw new TollgateError(
      `--preset must be one of ${presets.join(', ')}, got ${JSON.stringify(flags.preset)}`,
      {
        code: 'TG_CLI_USAGE',
      },
    );
  }
  const seed =
    flags.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : wholeNumber('--seed', flags.seed, 0);
  const shape = {
    runs: wholeNumber('--runs', flags.runs, 1),
    ratePerSecond: wholeNumber('--rate', flags.rate, 0),
    durationSeconds: wholeNumber('--duration', flags.duration, 0),
    orgs: list('--orgs', flags.orgs),
    features: list('--features', flags.features),
  };
  const card = await loadRateCardFile(join(deps.root, 'ratecards', 'default.yaml'));
  const { usage, policies } = deps.config.topics;
  await reachKafka(deps.config.kafka, flags.policies ? [usage, policies] : [usage]);
  const interactive = out.isTTY === true;
  let lastLine = 0;
  out.write(
    `tollgate: simulating preset ${flags.preset} (seed ${seed})${flags.policies ? `; ceilings policies from ${policies} apply too` : ''}\n`,
  );
  const result = await simulate({
    ...deps.config.kafka,
    topic: usage,
    ...(flags.policies ? { policiesTopic: policies } : {}),
    preset: flags.preset as PresetName | 'scenarios',
    ...shape,
    seed,
    card,
    progress: (status) => {
      const line = `  ${progressLine(status)}`;
      // \r and erase-line: the line can shrink; cut to the terminal so it never wraps
      if (interactive) out.write(`\r\x1b[K${line.slice(0, Math.max(40, (out.columns ?? 120) - 1))}`);
      else if (Date.now() - lastLine >= 2_000) {
        out.write(`${line}\n`);
        lastLine = Date.now();
      }
    },
  });
  if (interactive) out.write('\n');
  const refused = result.ledgers.filter((ledger) =>
    ledger.skipped.some((s) => s.reason.startsWith('refused')),
  ).length;
  const degraded = result.ledgers.filter((ledger) =>
    [...ledger.granted.entries()].some(([index, granted]) => {
      const action = ledger.plan.actions[index];
      return action?.op === 'spawn' && granted < action.count;
    }),
  ).length;
  const rate = Math.round((result.events * 1000) / Math.max(1, result.elapsedMs));
  out.write(
    `  sent ${result.events.toLocaleString('en-US')} events in ${result.ledgers.length} runs (${(result.elapsedMs / 1000).toFixed(1)} s, ${rate.toLocaleString('en-US')} events/s); ` +
      `${plural(refused, 'run')} stopped by a ceiling, ${plural(degraded, 'spawn')} degraded\n`,
  );
  return result;
}
