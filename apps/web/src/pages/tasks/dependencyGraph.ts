/**
 * Layout of the task dependency graph: the tasks that have an upstream or a downstream task,
 * placed left to right in layers by their longest upstream path, each layer ordered so edges
 * cross little. Pure, so it is tested without a browser.
 */

/** What the graph needs of a task. */
export interface GraphTask {
  id: number;
  name: string;
  enabled: boolean;
  lastStatus: 'idle' | 'running' | 'success' | 'failed';
  dependsOnTaskIds: readonly number[];
}

export interface GraphNode<T extends GraphTask = GraphTask> {
  task: T;
  /** Column, 0 = no upstream task in the graph. */
  layer: number;
  /** Position inside the column, 0 = top. */
  row: number;
  x: number;
  y: number;
}

export interface GraphEdge {
  /** Upstream task. */
  from: number;
  /** Downstream task (started by a success of `from`). */
  to: number;
  /** SVG path from the right side of `from` to the left side of `to`. */
  path: string;
  /** The edge closes a cycle: it points to the same or an earlier layer. */
  isBack: boolean;
}

export interface GraphLayout<T extends GraphTask = GraphTask> {
  nodes: GraphNode<T>[];
  edges: GraphEdge[];
  /** Tasks without any dependency edge (not drawn). */
  isolated: T[];
  /** Dependencies form at least one cycle (the server refuses them, but old data may hold one). */
  hasCycle: boolean;
  width: number;
  height: number;
}

export const NODE_WIDTH = 208;
export const NODE_HEIGHT = 60;
const COLUMN_GAP = 88;
const ROW_GAP = 24;
const PADDING = 16;

/**
 * Layer of every task by longest path from a task without upstream. A depth-first walk that
 * meets a task it is still inside has found a cycle: that edge is ignored for the layering
 * (and reported), so every task still gets a finite layer.
 */
export function assignLayers(
  ids: readonly number[],
  upstreamOf: ReadonlyMap<number, readonly number[]>,
): { layers: Map<number, number>; backEdges: Set<string> } {
  const layers = new Map<number, number>();
  const visiting = new Set<number>();
  const backEdges = new Set<string>();
  const visit = (id: number): number => {
    const known = layers.get(id);
    if (known !== undefined) return known;
    visiting.add(id);
    let layer = 0;
    for (const upstream of upstreamOf.get(id) ?? []) {
      if (visiting.has(upstream)) {
        backEdges.add(edgeKey(upstream, id));
        continue;
      }
      layer = Math.max(layer, visit(upstream) + 1);
    }
    visiting.delete(id);
    layers.set(id, layer);
    return layer;
  };
  for (const id of ids) visit(id);
  return { layers, backEdges };
}

export const edgeKey = (from: number, to: number) => `${String(from)}->${String(to)}`;

const byName = (a: GraphTask, b: GraphTask) => a.name.localeCompare(b.name) || a.id - b.id;

/** Lays out the graph of `tasks`; dependencies on tasks not in the list are ignored. */
export function layoutDependencyGraph<T extends GraphTask>(tasks: readonly T[]): GraphLayout<T> {
  const byId = new Map(tasks.map((task) => [task.id, task]));
  const upstreamOf = new Map<number, number[]>();
  const linked = new Set<number>();
  const pairs: [number, number][] = [];
  for (const task of tasks) {
    const upstream = [...new Set(task.dependsOnTaskIds)].filter((id) => id !== task.id && byId.has(id));
    upstreamOf.set(task.id, upstream);
    for (const id of upstream) {
      linked.add(id);
      linked.add(task.id);
      pairs.push([id, task.id]);
    }
  }
  // A task depending on itself is a cycle of one; it is drawn only if it has other edges.
  const selfCycle = tasks.some((task) => task.dependsOnTaskIds.includes(task.id));

  const graphTasks = tasks.filter((task) => linked.has(task.id)).sort(byName);
  const isolated = tasks.filter((task) => !linked.has(task.id)).sort(byName);
  const { layers, backEdges } = assignLayers(
    graphTasks.map((task) => task.id),
    upstreamOf,
  );

  // Columns: the first by name, each next one by the mean row of its upstream tasks.
  const columns: T[][] = [];
  for (const task of graphTasks) {
    const layer = layers.get(task.id) ?? 0;
    (columns[layer] ??= []).push(task);
  }
  const rowOf = new Map<number, number>();
  columns.forEach((column, layer) => {
    if (layer > 0) {
      const weight = (task: T) => {
        const rows = (upstreamOf.get(task.id) ?? [])
          .map((id) => rowOf.get(id))
          .filter((row): row is number => row !== undefined);
        return rows.length === 0 ? Number.POSITIVE_INFINITY : rows.reduce((a, b) => a + b, 0) / rows.length;
      };
      column.sort((a, b) => weight(a) - weight(b) || byName(a, b));
    }
    column.forEach((task, row) => rowOf.set(task.id, row));
  });

  const tallest = Math.max(0, ...columns.map((column) => column.length));
  const columnHeight = (count: number) => count * NODE_HEIGHT + Math.max(0, count - 1) * ROW_GAP;
  const height = tallest === 0 ? 0 : columnHeight(tallest) + 2 * PADDING;
  const width =
    columns.length === 0 ? 0 : columns.length * NODE_WIDTH + (columns.length - 1) * COLUMN_GAP + 2 * PADDING;

  const nodes: GraphNode<T>[] = [];
  const position = new Map<number, { x: number; y: number }>();
  columns.forEach((column, layer) => {
    // Shorter columns are centred vertically.
    const offset = (columnHeight(tallest) - columnHeight(column.length)) / 2;
    column.forEach((task, row) => {
      const x = PADDING + layer * (NODE_WIDTH + COLUMN_GAP);
      const y = PADDING + offset + row * (NODE_HEIGHT + ROW_GAP);
      position.set(task.id, { x, y });
      nodes.push({ task, layer, row, x, y });
    });
  });

  const edges: GraphEdge[] = pairs.flatMap(([from, to]) => {
    const start = position.get(from);
    const end = position.get(to);
    if (!start || !end) return [];
    const isBack = backEdges.has(edgeKey(from, to)) || (layers.get(to) ?? 0) <= (layers.get(from) ?? 0);
    return [{ from, to, path: edgePath(start, end, isBack), isBack }];
  });

  return { nodes, edges, isolated, hasCycle: selfCycle || backEdges.size > 0, width, height };
}

/** A smooth curve from the right middle of one node to the left middle of the next. */
function edgePath(start: { x: number; y: number }, end: { x: number; y: number }, isBack: boolean): string {
  const x1 = start.x + NODE_WIDTH;
  const y1 = start.y + NODE_HEIGHT / 2;
  const x2 = end.x;
  const y2 = end.y + NODE_HEIGHT / 2;
  if (isBack) {
    // Loops back above the nodes so it does not hide behind them.
    const top = Math.min(start.y, end.y) - ROW_GAP / 2;
    return `M ${n(x1)} ${n(y1)} C ${n(x1 + 40)} ${n(y1)}, ${n(x1 + 40)} ${n(top)}, ${n((x1 + x2) / 2)} ${n(top)} S ${n(x2 - 40)} ${n(y2)}, ${n(x2)} ${n(y2)}`;
  }
  const bend = Math.max(24, (x2 - x1) / 2);
  return `M ${n(x1)} ${n(y1)} C ${n(x1 + bend)} ${n(y1)}, ${n(x2 - bend)} ${n(y2)}, ${n(x2)} ${n(y2)}`;
}

const n = (value: number) => String(Math.round(value * 10) / 10);

/** `data-status` of a node: the last status, `none` before the first run. */
export const nodeStatus = (task: Pick<GraphTask, 'lastStatus'>): string =>
  task.lastStatus === 'idle' ? 'none' : task.lastStatus;

/** Wide (CJK, full-width) characters take about two units of width, others one. */
const isWide = (char: string) => (char.codePointAt(0) ?? 0) >= 0x2e80;

/**
 * Cuts a name to at most `maxUnits` of width (a wide character counts two) with an ellipsis, so
 * it fits a node; the full name is in the node's tooltip.
 */
export function fitText(text: string, maxUnits: number): string {
  const chars = Array.from(text);
  const width = (list: string[]) => list.reduce((sum, char) => sum + (isWide(char) ? 2 : 1), 0);
  if (width(chars) <= maxUnits) return text;
  const kept: string[] = [];
  let used = 1; // the ellipsis
  for (const char of chars) {
    const next = isWide(char) ? 2 : 1;
    if (used + next > maxUnits) break;
    kept.push(char);
    used += next;
  }
  return `${kept.join('')}…`;
}
