/**
 * What the simulator's fleet should cost, computed in the test from list prices written out here,
 * independently of the rate card code under test. Prices are USD; costs are exact nano-USD (bigint).
 * Every price used here is a whole number of nano-USD per unit, so no rounding enters.
 */
import type { Action, RunLedger } from '../../services/cli/src/simulate/index.ts';

/** Nano-USD per token: (USD per 1M tokens) × 1,000. */
interface TokenPrices {
  input: bigint;
  cacheRead: bigint;
  cacheWrite5m: bigint;
  cacheWrite1h: bigint;
  output: bigint;
}

// From shared/reference/prices.md (late 2026 list prices).
const MODEL_PRICES: Record<string, TokenPrices> = {
  'anthropic/claude-sonnet-4-5': {
    input: 3000n,
    cacheRead: 300n,
    cacheWrite5m: 3750n,
    cacheWrite1h: 6000n,
    output: 15000n,
  },
  'anthropic/claude-haiku-4-5': {
    input: 1000n,
    cacheRead: 100n,
    cacheWrite5m: 1250n,
    cacheWrite1h: 2000n,
    output: 5000n,
  },
  'anthropic/claude-opus-4-5': {
    input: 5000n,
    cacheRead: 500n,
    cacheWrite5m: 6250n,
    cacheWrite1h: 10000n,
    output: 25000n,
  },
  'openai/gpt-5': { input: 1250n, cacheRead: 125n, cacheWrite5m: 0n, cacheWrite1h: 0n, output: 10000n },
  'openai/gpt-5-mini': { input: 250n, cacheRead: 25n, cacheWrite5m: 0n, cacheWrite1h: 0n, output: 2000n },
  'openai/gpt-4.1-mini': { input: 400n, cacheRead: 100n, cacheWrite5m: 0n, cacheWrite1h: 0n, output: 1600n },
  'gcp.gemini/gemini-2.5-flash': {
    input: 300n,
    cacheRead: 30n,
    cacheWrite5m: 0n,
    cacheWrite1h: 0n,
    output: 2500n,
  },
};

/** Nano-USD per call of paid tools: web search 10 per 1k, file search 2.50 per 1k, code interpreter 0.03. */
const TOOL_PRICES: Record<string, bigint> = {
  'openai/web_search': 10_000_000n,
  'anthropic/web_search': 10_000_000n,
  'openai/file_search': 2_500_000n,
  'openai/code_interpreter': 30_000_000n,
};

/** Nano-USD per vCPU-second and per GiB-second. */
const SANDBOX_PRICES: Record<string, { vcpu: bigint; gib: bigint }> = {
  e2b: { vcpu: 14_000n, gib: 4_500n },
  daytona: { vcpu: 14_000n, gib: 4_500n },
  modal: { vcpu: 39_420n, gib: 6_720n },
};

/** Nano-USD per query (Tavily basic 0.008, Exa 0.005). */
const QUERY_PRICES: Record<string, bigint> = { tavily: 8_000_000n, exa: 5_000_000n };

export type Category = 'tokens' | 'tools' | 'sandbox' | 'retrieval' | 'cache_storage' | 'egress';

function required<T>(table: Record<string, T>, key: string): T {
  const value = table[key];
  if (value === undefined) throw new Error(`expected.ts has no price for ${key}: add it from the reference`);
  return value;
}

/** The cost of one action and its category, or undefined for actions that cost nothing (spawns). */
export function actionCost(action: Action): { category: Category; nanos: bigint } | undefined {
  switch (action.op) {
    case 'model': {
      const p = required(MODEL_PRICES, `${action.provider}/${action.model}`);
      const u = action.usage;
      const uncached = BigInt(u.input - u.cacheRead - u.cacheWrite5m - u.cacheWrite1h);
      const nanos =
        uncached * p.input +
        BigInt(u.cacheRead) * p.cacheRead +
        BigInt(u.cacheWrite5m) * p.cacheWrite5m +
        BigInt(u.cacheWrite1h) * p.cacheWrite1h +
        BigInt(u.output) * p.output;
      return { category: 'tokens', nanos };
    }
    case 'tool':
      return {
        category: 'tools',
        nanos: action.provider ? (TOOL_PRICES[`${action.provider}/${action.tool}`] ?? 0n) : 0n,
      };
    case 'sandbox': {
      const p = required(SANDBOX_PRICES, action.provider);
      return {
        category: 'sandbox',
        nanos: BigInt(action.vcpuSeconds) * p.vcpu + BigInt(action.gibSeconds) * p.gib,
      };
    }
    case 'retrieval':
      return {
        category: 'retrieval',
        nanos: BigInt(action.queries) * required(QUERY_PRICES, action.provider),
      };
    case 'spawn':
      return undefined;
    case 'cache_storage':
    case 'egress':
      throw new Error(`expected.ts does not price ${action.op}: the scenarios do not send it`);
  }
}

/** Total nano-USD of what a ledger sent. */
export function ledgerCost(ledger: RunLedger): bigint {
  return ledger.sent.reduce((sum, action) => sum + (actionCost(action)?.nanos ?? 0n), 0n);
}

/** Sums what the ledgers sent, grouped by a key of the run and the action's category. */
export function costBy(
  ledgers: RunLedger[],
  key: (ledger: RunLedger, category: Category) => string,
): Map<string, bigint> {
  const totals = new Map<string, bigint>();
  for (const ledger of ledgers) {
    for (const action of ledger.sent) {
      const cost = actionCost(action);
      if (!cost) continue;
      const k = key(ledger, cost.category);
      totals.set(k, (totals.get(k) ?? 0n) + cost.nanos);
    }
  }
  return totals;
}

export { costlyEvents } from '../../services/cli/src/simulate/index.ts';
