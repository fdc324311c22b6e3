/**
 * A run's cost tree from its per-agent costs and its spawns. Exclusive cost is an agent's own lines;
 * inclusive adds every descendant's. Fan-out is the number of direct children; depth is the agent's
 * depth in the spawn tree (the root agent is 0). Costs stay per currency and exact (bigint).
 *
 * The run's own lines without an agent (agent_id '') are reported as `run_level` cost, outside the tree.
 */
export interface AgentCostRow {
  agent_id: string;
  parent_agent_id: string;
  agent_name: string;
  agent_depth: number | string;
  currency: string;
  agent_cost_nanos: string;
  agent_lines: string;
  agent_unpriced_lines: string;
}

export interface SpawnRow {
  agent_id: string;
  child_agent_id: string;
  child_name: string;
  child_depth: number | string;
}

export type Costs = Record<string, string>;

export interface TreeNode {
  agent_id: string;
  agent_name: string | null;
  parent_agent_id: string | null;
  depth: number;
  fan_out: number;
  children: string[];
  lines: number;
  unpriced_lines: number;
  exclusive_cost_nanos: Costs;
  inclusive_cost_nanos: Costs;
}

export interface CostTree {
  agents: TreeNode[];
  run_level_cost_nanos: Costs;
  total_cost_nanos: Costs;
  agent_count: number;
  max_depth: number;
  max_fan_out: number;
}

interface Node {
  id: string;
  name: string | null;
  parent: string | null;
  depth: number;
  children: Set<string>;
  lines: number;
  unpriced: number;
  exclusive: Map<string, bigint>;
}

function add(into: Map<string, bigint>, currency: string, nanos: bigint): void {
  into.set(currency, (into.get(currency) ?? 0n) + nanos);
}

function asCosts(map: Map<string, bigint>): Costs {
  return Object.fromEntries([...map].sort(([a], [b]) => (a < b ? -1 : 1)).map(([c, n]) => [c, n.toString()]));
}

export function buildCostTree(costRows: readonly AgentCostRow[], spawns: readonly SpawnRow[]): CostTree {
  const nodes = new Map<string, Node>();
  const runLevel = new Map<string, bigint>();
  const total = new Map<string, bigint>();
  const node = (id: string): Node => {
    let found = nodes.get(id);
    if (!found) {
      found = {
        id,
        name: null,
        parent: null,
        depth: 0,
        children: new Set(),
        lines: 0,
        unpriced: 0,
        exclusive: new Map(),
      };
      nodes.set(id, found);
    }
    return found;
  };
  for (const row of costRows) {
    const cost = BigInt(row.agent_cost_nanos);
    add(total, row.currency, cost);
    if (row.agent_id === '') {
      add(runLevel, row.currency, cost);
      continue;
    }
    const n = node(row.agent_id);
    n.name = row.agent_name || n.name;
    n.depth = Math.max(n.depth, Number(row.agent_depth));
    if (row.parent_agent_id) n.parent = row.parent_agent_id;
    n.lines += Number(row.agent_lines);
    n.unpriced += Number(row.agent_unpriced_lines);
    add(n.exclusive, row.currency, cost);
  }
  for (const spawn of spawns) {
    if (!spawn.child_agent_id) continue;
    const child = node(spawn.child_agent_id);
    child.name ??= spawn.child_name || null;
    child.depth = Math.max(child.depth, Number(spawn.child_depth));
    if (spawn.agent_id) {
      child.parent ??= spawn.agent_id;
      node(spawn.agent_id);
    }
  }
  for (const n of nodes.values()) {
    if (n.parent !== null && n.parent !== n.id) node(n.parent).children.add(n.id);
  }
  const inclusive = new Map<string, Map<string, bigint>>();
  // Iterative post-order; `visiting` breaks a cycle in bad data instead of recursing forever.
  const visiting = new Set<string>();
  const inclusiveOf = (id: string): Map<string, bigint> => {
    const done = inclusive.get(id);
    if (done) return done;
    const sum = new Map<string, bigint>();
    const n = nodes.get(id);
    if (!n || visiting.has(id)) return sum;
    visiting.add(id);
    for (const [c, v] of n.exclusive) add(sum, c, v);
    for (const child of n.children) for (const [c, v] of inclusiveOf(child)) add(sum, c, v);
    visiting.delete(id);
    inclusive.set(id, sum);
    return sum;
  };
  const agents = [...nodes.values()]
    .sort((a, b) => a.depth - b.depth || (a.id < b.id ? -1 : 1))
    .map((n) => ({
      agent_id: n.id,
      agent_name: n.name,
      parent_agent_id: n.parent,
      depth: n.depth,
      fan_out: n.children.size,
      children: [...n.children].sort(),
      lines: n.lines,
      unpriced_lines: n.unpriced,
      exclusive_cost_nanos: asCosts(n.exclusive),
      inclusive_cost_nanos: asCosts(inclusiveOf(n.id)),
    }));
  return {
    agents,
    run_level_cost_nanos: asCosts(runLevel),
    total_cost_nanos: asCosts(total),
    agent_count: agents.length,
    max_depth: agents.reduce((max, a) => Math.max(max, a.depth), 0),
    max_fan_out: agents.reduce((max, a) => Math.max(max, a.fan_out), 0),
  };
}
