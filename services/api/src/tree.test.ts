import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildCostTree } from './tree.ts';

const row = (agent_id: string, parent_agent_id: string, depth: number, nanos: string, currency = 'USD') => ({
  agent_id,
  parent_agent_id,
  agent_name: agent_id,
  agent_depth: depth,
  currency,
  agent_cost_nanos: nanos,
  agent_lines: '1',
  agent_unpriced_lines: '0',
});

describe('buildCostTree', () => {
  it('adds descendants into inclusive cost, exactly, and counts fan-out and depth', () => {
    const tree = buildCostTree(
      [
        row('root', '', 0, '9007199254740993'),
        row('a', 'root', 1, '7'),
        row('b', 'a', 2, '5'),
        row('', '', 0, '100'),
      ],
      [{ agent_id: 'root', child_agent_id: 'idle', child_name: 'worker', child_depth: 1 }],
    );
    const byId = Object.fromEntries(tree.agents.map((a) => [a.agent_id, a]));
    assert.deepEqual(byId.root?.inclusive_cost_nanos, { USD: '9007199254741005' });
    assert.deepEqual(byId.a?.inclusive_cost_nanos, { USD: '12' });
    assert.deepEqual(byId.root?.children, ['a', 'idle']);
    assert.equal(byId.root?.fan_out, 2);
    assert.equal(byId.idle?.depth, 1);
    assert.deepEqual(byId.idle?.inclusive_cost_nanos, {});
    assert.deepEqual(tree.run_level_cost_nanos, { USD: '100' });
    assert.deepEqual(tree.total_cost_nanos, { USD: '9007199254741105' });
    assert.equal(tree.max_depth, 2);
  });

  it('keeps currencies apart and survives a cycle in bad data', () => {
    const tree = buildCostTree([row('x', 'y', 1, '1', 'EUR'), row('y', 'x', 1, '2', 'USD')], []);
    const byId = Object.fromEntries(tree.agents.map((a) => [a.agent_id, a]));
    assert.deepEqual(byId.x?.inclusive_cost_nanos, { EUR: '1', USD: '2' });
  });
});
