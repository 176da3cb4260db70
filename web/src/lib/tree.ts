import type { TGoalTree, TGoalTreeRoot } from './api';
import { isRunning } from './format';

export type TNode = TGoalTree;

export interface TIndexedTree {
  root: TGoalTreeRoot;
  byId: Map<string, TNode>;
  parentOf: Map<string, TNode>;
  /** Goals under each goal in this answer (itself excluded). */
  descendants: Map<string, number>;
  running: boolean;
}

// One index per answer: a poll that changed nothing keeps its answer (the same object), and so its index.
const indexed = new WeakMap<TGoalTreeRoot, TIndexedTree>();

/** The tree's goals by id, parents, subtree sizes and whether any runs; computed once per answer. */
export function indexTree(root: TGoalTreeRoot): TIndexedTree {
  let index = indexed.get(root);
  if (!index) indexed.set(root, (index = buildIndex(root)));
  return index;
}

function buildIndex(root: TGoalTreeRoot): TIndexedTree {
  const byId = new Map<string, TNode>();
  const parentOf = new Map<string, TNode>();
  const descendants = new Map<string, number>();
  let running = false;
  // Iterative: a 10,000-goal tree must not depend on the stack's depth.
  const order: TNode[] = [];
  const stack: TNode[] = [root];
  while (stack.length) {
    const node = stack.pop()!;
    byId.set(node.id, node);
    order.push(node);
    if (isRunning(node.lifecycle)) running = true;
    for (const child of node.children) {
      parentOf.set(child.id, node);
      stack.push(child);
    }
  }
  for (let i = order.length - 1; i >= 0; i--) {
    const node = order[i]!;
    let n = 0;
    for (const child of node.children) n += 1 + (descendants.get(child.id) ?? 0);
    descendants.set(node.id, n);
  }
  return { root, byId, parentOf, descendants, running };
}

export interface TRow {
  node: TNode;
  level: number;
  /** Its position among its siblings (1-based) and how many they are, for assistive technology. */
  pos: number;
  size: number;
}

/** The rows to show: a goal's children appear only when it is expanded. */
export function visibleRows(root: TNode, expanded: ReadonlySet<string>): TRow[] {
  const rows: TRow[] = [];
  const stack: TRow[] = [{ node: root, level: 1, pos: 1, size: 1 }];
  while (stack.length) {
    const row = stack.pop()!;
    rows.push(row);
    if (expanded.has(row.node.id)) {
      const kids = row.node.children;
      for (let i = kids.length - 1; i >= 0; i--) stack.push({ node: kids[i]!, level: row.level + 1, pos: i + 1, size: kids.length });
    }
  }
  return rows;
}

/** What opens expanded: everything for a small tree; for a big one the root and its composite children's first layer only. */
export function initialExpanded(tree: TIndexedTree): Set<string> {
  const open = new Set<string>();
  const total = tree.byId.size;
  for (const node of tree.byId.values()) {
    if (node.children.length === 0) continue;
    if (total <= 400 || node.id === tree.root.id) open.add(node.id);
  }
  return open;
}

/**
 * Goals that would open at first (initialExpanded) and were not considered yet:
 * a goal that gained children after the tree was first shown (a run's tree is
 * written level by level). Marks them considered, so a goal the user closed
 * is never opened again by a later answer.
 */
export function newlyExpandable(tree: TIndexedTree, considered: Set<string>): string[] {
  const fresh = [...initialExpanded(tree)].filter((id) => !considered.has(id));
  for (const id of fresh) considered.add(id);
  return fresh;
}
