import { canonicalJson, type TFrozenPlan } from './frozenPlans';
import type { TEdge, TPlan, TPlanChild } from './plans';

/**
 * Structural diff of two saved versions of one workflow (SPEC: GET
 * /api/workflows/{id}/diff?against={id}): goals added, removed and changed,
 * matched by key path, and edges added and removed. Pure, and linear in the
 * size of the two trees (plans may hold 10,000 goals): every match is a Map
 * lookup, never a scan.
 */

/** A goal whose own fields differ between the two versions, with every field that does. */
export interface TGoalChange {
  /** Key path from the root ("" is the root itself). */
  path: string;
  /** Sorted by field name; a value absent on one side is `null`. */
  fields: { field: string; from: unknown; to: unknown }[];
}

/** A goal present in only one version. */
export interface TGoalRef {
  path: string;
  kind: string;
  title: string;
}

/** An edge present in only one version, in the plan of the composite at `parent_path`. */
export interface TEdgeRef {
  parent_path: string;
  from: string;
  to: string;
  on: unknown;
}

export interface TWorkflowDiff {
  /** Each list sorted by path, in tree order: a parent first, then its subtree. */
  goals: { added: TGoalRef[]; removed: TGoalRef[]; changed: TGoalChange[] };
  /** Sorted by parent path, then from, to and on. */
  edges: { added: TEdgeRef[]; removed: TEdgeRef[] };
  /** True when nothing differs. */
  identical: boolean;
}

/**
 * One goal of either tree, seen the same way whether it is the root or a
 * plan child: its comparable fields and, for a composite, its plan.
 */
interface TNode {
  path: string;
  kind: string;
  title: string;
  /** Own fields compared generically: everything but `key` and `plan`. */
  fields: Record<string, unknown>;
  composite: boolean;
  plan: TPlan | null;
}

/**
 * Fields a plan child carries that are not compared as fields: `key` is the
 * identity (it is in the path), `plan` is compared structurally (children,
 * edges) plus the derived `planned` and `parallelism` fields.
 */
const NOT_FIELDS = new Set(['key', 'plan']);

function rootNode(frozen: TFrozenPlan): TNode {
  const { plan, ...fields } = frozen.root;
  return { path: '', kind: 'composite', title: frozen.root.title, fields, composite: true, plan };
}

function childNode(child: TPlanChild, parentPath: string): TNode {
  const fields: Record<string, unknown> = {};
  // Generic over own fields, so fields the schema gains later are diffed without edits here.
  for (const [name, value] of Object.entries(child)) {
    if (!NOT_FIELDS.has(name)) fields[name] = value;
  }
  const composite = child.kind === 'composite';
  return {
    path: parentPath === '' ? child.key : `${parentPath}/${child.key}`,
    kind: child.kind,
    title: child.title,
    fields,
    composite,
    plan: child.kind === 'composite' ? (child.plan ?? null) : null,
  };
}

/**
 * What is compared for a goal: its own fields, and for a composite whether it
 * is planned and its plan's parallelism. A leaf has neither derived field, so
 * a leaf turned composite reports them from `null`.
 */
function comparable(node: TNode): Map<string, unknown> {
  const out = new Map(Object.entries(node.fields));
  if (node.composite) {
    out.set('planned', node.plan !== null);
    out.set('parallelism', node.plan?.parallelism);
  }
  return out;
}

function changedFields(from: TNode, to: TNode): TGoalChange['fields'] {
  const a = comparable(from);
  const b = comparable(to);
  const names = [...new Set([...a.keys(), ...b.keys()])].sort(compareStrings);
  const fields: TGoalChange['fields'] = [];
  for (const field of names) {
    // Absent and null are one value, so no change is ever reported as null → null.
    const x = a.get(field) ?? null;
    const y = b.get(field) ?? null;
    // canonicalJson, not ===: objects (action, acceptance) compare by content, key order aside.
    if (canonicalJson(x) !== canonicalJson(y)) fields.push({ field, from: x, to: y });
  }
  return fields;
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Sorts into tree order: paths compared segment by segment (the separator
 * mapped below every key character), so a parent comes before its children
 * and each subtree stays together: "a", "a/b", "a-b". Plain string order
 * would put "a-b" between the first two, as "-" sorts before "/".
 */
function sortByPath<T>(items: T[], path: (item: T) => string, then: (a: T, b: T) => number = () => 0): T[] {
  const keyed = items.map((item) => ({ item, sortKey: path(item).replaceAll('/', '\u0000') }));
  keyed.sort((a, b) => compareStrings(a.sortKey, b.sortKey) || then(a.item, b.item));
  return keyed.map((k) => k.item);
}

function edgeRef(parentPath: string, edge: TEdge): TEdgeRef {
  return { parent_path: parentPath, from: edge.from, to: edge.to, on: edge.on };
}

/** Identity of an edge within its plan: endpoints and condition (so a changed `on` is a different edge). */
function edgeId(edge: TEdge): string {
  return JSON.stringify([edge.from, edge.to, canonicalJson(edge.on)]);
}

/**
 * Compares two frozen plans structurally. Goals are matched by key path: one
 * found only in `to` is added, only in `from` removed, and every goal of an
 * added or removed subtree is listed (with its plans' edges), so counts are
 * honest. A goal in both whose fields differ is changed, with each field's
 * old and new value; the root is path "". Edges are matched within their
 * composite's plan by (from, to, on).
 */
export function diffFrozenPlans(from: TFrozenPlan, to: TFrozenPlan): TWorkflowDiff {
  const added: TGoalRef[] = [];
  const removed: TGoalRef[] = [];
  const changed: TGoalChange[] = [];
  const edgesAdded: TEdgeRef[] = [];
  const edgesRemoved: TEdgeRef[] = [];

  /** Lists a goal and its whole subtree (goals and edges) as present on one side only. */
  const listSubtree = (root: TNode, goals: TGoalRef[], edges: TEdgeRef[]): void => {
    // An explicit stack, not recursion: frozen trees can be deep as well as wide.
    const stack = [root];
    for (let node = stack.pop(); node; node = stack.pop()) {
      goals.push({ path: node.path, kind: node.kind, title: node.title });
      if (!node.plan) continue;
      for (const edge of node.plan.edges) edges.push(edgeRef(node.path, edge));
      for (const child of node.plan.children) stack.push(childNode(child, node.path));
    }
  };

  const diffEdges = (parentPath: string, a: TEdge[], b: TEdge[]): void => {
    // Counted, so duplicate edges (invalid, but a diff should not hide them) still balance.
    const remaining = new Map<string, number>();
    for (const edge of a) remaining.set(edgeId(edge), (remaining.get(edgeId(edge)) ?? 0) + 1);
    for (const edge of b) {
      const id = edgeId(edge);
      const n = remaining.get(id) ?? 0;
      if (n > 0) remaining.set(id, n - 1);
      else edgesAdded.push(edgeRef(parentPath, edge));
    }
    for (const edge of a) {
      const id = edgeId(edge);
      const n = remaining.get(id) ?? 0;
      if (n > 0) {
        remaining.set(id, n - 1);
        edgesRemoved.push(edgeRef(parentPath, edge));
      }
    }
  };

  const stack: [TNode, TNode][] = [[rootNode(from), rootNode(to)]];
  for (let pair = stack.pop(); pair; pair = stack.pop()) {
    const [a, b] = pair;
    const fields = changedFields(a, b);
    if (fields.length) changed.push({ path: a.path, fields });

    const aChildren = a.plan?.children ?? [];
    const bChildren = b.plan?.children ?? [];
    const bByKey = new Map(bChildren.map((child) => [child.key, child]));
    const aKeys = new Set<string>();
    for (const child of aChildren) {
      aKeys.add(child.key);
      const match = bByKey.get(child.key);
      if (match) stack.push([childNode(child, a.path), childNode(match, b.path)]);
      else listSubtree(childNode(child, a.path), removed, edgesRemoved);
    }
    for (const child of bChildren) {
      if (!aKeys.has(child.key)) listSubtree(childNode(child, b.path), added, edgesAdded);
    }
    diffEdges(a.path, a.plan?.edges ?? [], b.plan?.edges ?? []);
  }

  const byEdge = (x: TEdgeRef, y: TEdgeRef): number =>
    compareStrings(x.from, y.from) || compareStrings(x.to, y.to) || compareStrings(canonicalJson(x.on), canonicalJson(y.on));
  const diff: TWorkflowDiff = {
    goals: {
      added: sortByPath(added, (g) => g.path),
      removed: sortByPath(removed, (g) => g.path),
      changed: sortByPath(changed, (g) => g.path),
    },
    edges: {
      added: sortByPath(edgesAdded, (e) => e.parent_path, byEdge),
      removed: sortByPath(edgesRemoved, (e) => e.parent_path, byEdge),
    },
    identical: false,
  };
  diff.identical = [diff.goals.added, diff.goals.removed, diff.goals.changed, diff.edges.added, diff.edges.removed].every((list) => list.length === 0);
  return diff;
}
