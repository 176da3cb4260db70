import { evaluateWhen, STEP_EVALUATION_BUDGET, whenCost, type TEdgeContext, type TStepBudget } from './expressions';
import type { TEdgeOn } from './plans';

/**
 * The execution graph of one composite's plan layer (SPEC §2): which children
 * start and which are skipped. Pure and deterministic, so the composite's
 * Temporal workflow drives it directly. Work is linear in what changed: a
 * child's end settles only its own outgoing edges and looks only at their
 * targets, never at the whole layer (a 2,000-child layer must not cost
 * 2,000² steps per activation).
 *
 * - An edge fires when its predecessor ends in a way `on` accepts; otherwise
 *   it is dead. A skipped or cancelled predecessor fires nothing, `always`
 *   included: it did not run to an end, and a cancel is not a failure.
 * - A child with no incoming edges starts at once; otherwise when its join
 *   is met (`all`: every incoming edge fired; N: N fired).
 * - A child whose join can no longer be met is skipped; the caller reports
 *   the skip back with `ended(…, { skipped: true })`, which may skip more.
 * - A `when` expression that breaks a limit or its evaluation budget does not
 *   fire and is recorded in `faults`: the composite then fails with that reason.
 *   One child's `when` edges share a step's budget (STEP_EVALUATION_BUDGET):
 *   those past it, in plan order, are faults too.
 */

export interface TGraphChild {
  key: string;
  /** null: all incoming edges. */
  joinCount: number | null;
}

export interface TGraphEdge {
  from: string;
  to: string;
  on: TEdgeOn;
}

/** How a child ended; a skipped or cancelled child fires none of its edges. */
export type TChildEnd = { skipped: true; cancelled?: boolean } | { skipped: false; context: TEdgeContext };

/** What became decided: children to start now, children to skip now (indices in plan order). */
export interface TDecisions {
  start: number[];
  skip: number[];
}

const PENDING = 0;
const DECIDED = 1;
const ENDED = 2;

const OPEN = 0;
const FIRED = 1;
const DEAD = 2;

/** The graph's state, to carry across continue-as-new: everything else is rebuilt from the plan. */
export interface TGraphSnapshot {
  /** One character per child: 0 pending, 1 started or skipping, 2 ended. */
  phases: string;
  /** Settled edges into children still pending: [edge index, 1 fired | 2 dead, reason of a dead edge]. */
  edges: [number, number, string?][];
  faults: string[];
}

export class LayerGraph {
  private readonly indexOfKey = new Map<string, number>();
  private readonly incoming: number[][];
  private readonly outgoing: number[][];
  private readonly phase: Uint8Array;
  private readonly edgeState: Uint8Array;
  private readonly fired: Uint32Array;
  private readonly dead: Uint32Array;
  private readonly deadReason = new Map<number, string>();
  /** `when` expressions that could not be evaluated within their limits. */
  readonly faults: string[] = [];

  constructor(
    private readonly children: readonly TGraphChild[],
    private readonly edges: readonly TGraphEdge[],
  ) {
    children.forEach((c, i) => this.indexOfKey.set(c.key, i));
    this.incoming = children.map(() => []);
    this.outgoing = children.map(() => []);
    edges.forEach((e, i) => {
      const from = this.indexOfKey.get(e.from);
      const to = this.indexOfKey.get(e.to);
      if (from === undefined || to === undefined) throw new Error(`edge ${e.from} → ${e.to} names a child that is not in this plan`);
      this.outgoing[from]?.push(i);
      this.incoming[to]?.push(i);
    });
    this.phase = new Uint8Array(children.length);
    this.edgeState = new Uint8Array(edges.length);
    this.fired = new Uint32Array(children.length);
    this.dead = new Uint32Array(children.length);
  }

  get size(): number {
    return this.children.length;
  }

  keyOf(index: number): string {
    return (this.children[index] as TGraphChild).key;
  }

  indexOf(key: string): number {
    const index = this.indexOfKey.get(key);
    if (index === undefined) throw new Error(`no child "${key}" in this plan`);
    return index;
  }

  /** What is decided before anything ran: children without incoming edges start (call once, on a fresh graph). */
  initial(): TDecisions {
    const out: TDecisions = { start: [], skip: [] };
    for (let i = 0; i < this.children.length; i++) this.consider(i, out);
    return out;
  }

  /**
   * What settling this end would charge a step's evaluation budget (its
   * `when` edges' estimates, at most the budget: edges past it are not
   * evaluated), so the walk can leave an end to the next activation.
   */
  cost(index: number, end: TChildEnd): number {
    if (end.skipped) return 0;
    let total = 0;
    for (const e of this.outgoing[index] ?? []) {
      const on = (this.edges[e] as TGraphEdge).on;
      if (typeof on === 'object') total += whenCost(on.when, end.context);
    }
    return Math.min(total, STEP_EVALUATION_BUDGET);
  }

  /**
   * Records how a child ended and settles its outgoing edges; returns what
   * that decided. Its `when` edges share one step's budget; `enforceStepBudget`
   * is asked before an edge past it is refused (the walk's patch).
   */
  ended(index: number, end: TChildEnd, enforceStepBudget: () => boolean = () => true): TDecisions {
    this.phase[index] = ENDED;
    const out: TDecisions = { start: [], skip: [] };
    const step: TStepBudget = { left: STEP_EVALUATION_BUDGET, enforce: enforceStepBudget };
    for (const e of this.outgoing[index] ?? []) {
      const edge = this.edges[e] as TGraphEdge;
      const to = this.indexOfKey.get(edge.to) as number;
      if (end.skipped) this.settle(e, to, false, `"${edge.from}" was ${end.cancelled ? 'cancelled' : 'skipped'}`);
      else {
        const verdict = settle(edge.on, end.context, step);
        if (verdict.fault) this.faults.push(`edge ${edge.from} → ${edge.to}: when "${(edge.on as { when: string }).when}" ${verdict.fault}`);
        this.settle(e, to, verdict.fired, verdict.reason);
      }
      this.consider(to, out);
    }
    return out;
  }

  /** Why each dead edge into a child did not fire (for skip reasons). */
  deadReasons(index: number): string[] {
    return (this.incoming[index] ?? []).flatMap((e) => {
      const edge = this.edges[e] as TGraphEdge;
      return this.edgeState[e] === DEAD ? [`${edge.from} → ${edge.to}: ${this.deadReason.get(e) ?? 'did not fire'}`] : [];
    });
  }

  snapshot(): TGraphSnapshot {
    const edges: [number, number, string?][] = [];
    this.edgeState.forEach((state, e) => {
      if (state === OPEN) return;
      const to = this.indexOfKey.get((this.edges[e] as TGraphEdge).to) as number;
      if (this.phase[to] !== PENDING) return;
      edges.push(state === DEAD ? [e, state, this.deadReason.get(e) ?? ''] : [e, state]);
    });
    return { phases: Array.from(this.phase).join(''), edges, faults: [...this.faults] };
  }

  /** A graph in the state a snapshot recorded (same plan). */
  static restore(children: readonly TGraphChild[], edges: readonly TGraphEdge[], snapshot: TGraphSnapshot): LayerGraph {
    const graph = new LayerGraph(children, edges);
    if (snapshot.phases.length !== children.length) throw new Error('the snapshot is of another plan');
    for (let i = 0; i < children.length; i++) graph.phase[i] = Number(snapshot.phases[i]);
    for (const [e, state, reason] of snapshot.edges) {
      const to = graph.indexOfKey.get((edges[e] as TGraphEdge).to) as number;
      graph.settle(e, to, state === FIRED, reason ?? '');
    }
    graph.faults.push(...snapshot.faults);
    return graph;
  }

  private settle(edge: number, to: number, fired: boolean, reason: string | undefined): void {
    if (this.edgeState[edge] !== OPEN) return;
    if (fired) {
      this.edgeState[edge] = FIRED;
      (this.fired[to] as number)++;
    } else {
      this.edgeState[edge] = DEAD;
      (this.dead[to] as number)++;
      this.deadReason.set(edge, reason ?? 'did not fire');
    }
  }

  /** Decides a pending child if its join is now met (start) or can no longer be met (skip). */
  private consider(index: number, out: TDecisions): void {
    if (this.phase[index] !== PENDING) return;
    const incoming = this.incoming[index]?.length ?? 0;
    const required = (this.children[index] as TGraphChild).joinCount ?? incoming;
    if ((this.fired[index] as number) >= required) {
      this.phase[index] = DECIDED;
      out.start.push(index);
    } else if (incoming - (this.dead[index] as number) < required) {
      this.phase[index] = DECIDED;
      out.skip.push(index);
    }
  }
}

function settle(on: TEdgeOn, context: TEdgeContext, step: TStepBudget): { fired: boolean; reason?: string; fault?: string } {
  if (on === 'always') return { fired: true };
  if (typeof on === 'string') return on === context.status ? { fired: true } : { fired: false, reason: `fires on ${on}, but it ${context.status}` };
  const result = evaluateWhen(on.when, context, step);
  const reason = `when "${on.when}": ${result.reason ?? 'false'}`;
  return result.fired ? { fired: true } : { fired: false, reason, ...(result.overBudget ? { fault: `was ${result.reason}` } : {}) };
}
