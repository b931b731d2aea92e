import { describe, expect, it } from 'vitest';
import { NODE_WIDTH, assignLayers, fitText, layoutDependencyGraph, nodeStatus } from './dependencyGraph.ts';
import type { GraphTask } from './dependencyGraph.ts';

const task = (id: number, name: string, dependsOnTaskIds: number[] = [], extra: Partial<GraphTask> = {}) => ({
  id,
  name,
  enabled: true,
  lastStatus: 'idle' as const,
  dependsOnTaskIds,
  ...extra,
});

describe('assignLayers', () => {
  it('places each task one column right of its deepest upstream task (longest path)', () => {
    const upstream = new Map<number, number[]>([
      [1, []],
      [2, [1]],
      [3, [2]],
      [4, [1, 3]],
    ]);
    const { layers, backEdges } = assignLayers([4, 3, 2, 1], upstream);
    expect(Object.fromEntries(layers)).toEqual({ 1: 0, 2: 1, 3: 2, 4: 3 });
    expect(backEdges.size).toBe(0);
  });

  it('terminates on a cycle and reports the edge that closes it', () => {
    const upstream = new Map<number, number[]>([
      [1, [3]],
      [2, [1]],
      [3, [2]],
    ]);
    const { layers, backEdges } = assignLayers([1, 2, 3], upstream);
    expect([...layers.keys()].sort()).toEqual([1, 2, 3]);
    expect([...layers.values()].every((layer) => Number.isFinite(layer))).toBe(true);
    expect(backEdges.size).toBe(1);
  });
});

describe('layoutDependencyGraph', () => {
  it('draws only the tasks with an edge, upstream left of downstream', () => {
    const layout = layoutDependencyGraph([
      task(1, 'Database'),
      task(2, 'Files', [1]),
      task(3, 'Archive', [2]),
      task(4, 'Lonely'),
      task(5, 'Gone upstream', [99]),
    ]);
    expect(layout.nodes.map((node) => node.task.id).sort()).toEqual([1, 2, 3]);
    expect(layout.isolated.map((item) => item.name)).toEqual(['Gone upstream', 'Lonely']);
    const x = new Map(layout.nodes.map((node) => [node.task.id, node.x]));
    expect(x.get(1)).toBeLessThan(x.get(2) ?? 0);
    expect(x.get(2)).toBeLessThan(x.get(3) ?? 0);
    expect(layout.edges.map((edge) => [edge.from, edge.to])).toEqual([
      [1, 2],
      [2, 3],
    ]);
    expect(layout.edges.every((edge) => !edge.isBack && edge.path.startsWith('M '))).toBe(true);
    expect(layout.hasCycle).toBe(false);
    expect(layout.width).toBeGreaterThanOrEqual(3 * NODE_WIDTH);
  });

  it('orders a column by its upstream tasks so edges cross little', () => {
    // A → D, B → C: the column of C and D follows the order of A and B, not the names.
    const layout = layoutDependencyGraph([task(1, 'A'), task(2, 'B'), task(3, 'C', [2]), task(4, 'D', [1])]);
    const row = new Map(layout.nodes.map((node) => [node.task.id, node.row]));
    expect(row.get(1)).toBe(0);
    expect(row.get(2)).toBe(1);
    expect(row.get(4)).toBe(0);
    expect(row.get(3)).toBe(1);
  });

  it('still lays out every task of a cycle and flags it', () => {
    const layout = layoutDependencyGraph([task(1, 'A', [2]), task(2, 'B', [1]), task(3, 'C', [2])]);
    expect(layout.nodes).toHaveLength(3);
    expect(layout.hasCycle).toBe(true);
    expect(layout.edges.filter((edge) => edge.isBack)).toHaveLength(1);
  });

  it('ignores self-dependencies and duplicate ids for the drawing', () => {
    const layout = layoutDependencyGraph([task(1, 'A', [1]), task(2, 'B', [1, 1])]);
    expect(layout.edges).toHaveLength(1);
    expect(layout.hasCycle).toBe(true);
  });

  it('is empty without dependencies', () => {
    const layout = layoutDependencyGraph([task(1, 'A'), task(2, 'B')]);
    expect(layout.nodes).toEqual([]);
    expect(layout.width).toBe(0);
    expect(layout.height).toBe(0);
    expect(layout.isolated).toHaveLength(2);
  });
});

describe('nodeStatus', () => {
  it('says none before the first run', () => {
    expect(nodeStatus({ lastStatus: 'idle' })).toBe('none');
    expect(nodeStatus({ lastStatus: 'success' })).toBe('success');
  });
});

describe('fitText', () => {
  it('keeps short names and cuts long ones with an ellipsis, wide characters counting double', () => {
    expect(fitText('Database', 10)).toBe('Database');
    expect(fitText('Nightly database dump', 10)).toBe('Nightly d…');
    expect(fitText('数据库每日备份任务', 10)).toBe('数据库每…');
    expect(Array.from(fitText('数据库每日备份任务', 10))).toHaveLength(5);
  });
});
