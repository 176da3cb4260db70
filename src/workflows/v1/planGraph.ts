// FROZEN: the first engine (runGoal), kept only so executions it started, and
// their recorded histories (test/histories/v1*), still replay. New work goes
// to runGoalV2; change this only to keep it compiling.
import type { TEdgeContext } from '../../domain/expressions';
import { evaluateWhen } from './evaluateWhen';
import type { TEdgeOn } from '../../domain/plans';

/**
 * The execution graph of one composite (SPEC §2): which children start, which
 * are skipped. Pure and deterministic, so the composite's Temporal workflow
 * drives it directly.
 *
 * - An edge fires when its predecessor ends in a way `on` accepts; otherwise it
 *   is dead. A skipped or cancelled predecessor fires nothing, `always`
 *   included: it did not run to an end, and a cancel is not a failure.
 * - A child with no incoming edges starts at once; otherwise when its join is
 *   met (`all`: every incoming edge fired; N: N fired).
 * - A child whose join can no longer be met is skipped, which can make its
 *   successors unreachable in turn: `decide` is called until it is stable.
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

type TEdgeState = { state: 'open' } | { state: 'fired' } | { state: 'dead'; reason: string };

export class PlanGraph {
  private readonly phase = new Map<string, 'pending' | 'started' | 'ended'>();
  private readonly edgeStates: TEdgeState[];

  constructor(
    private readonly children: readonly TGraphChild[],
    private readonly edges: readonly TGraphEdge[],
  ) {
    for (const c of children) this.phase.set(c.key, 'pending');
    this.edgeStates = edges.map(() => ({ state: 'open' }));
  }

  /** Children to start now and children to skip now. Mark them with `started`/`ended` before asking again. */
  decide(): { start: string[]; skip: string[] } {
    const start: string[] = [];
    const skip: string[] = [];
    for (const child of this.children) {
      if (this.phase.get(child.key) !== 'pending') continue;
      const incoming = this.edges.map((e, i) => ({ e, s: this.edgeStates[i] as TEdgeState })).filter(({ e }) => e.to === child.key);
      if (incoming.length === 0) {
        start.push(child.key);
        continue;
      }
      const required = child.joinCount ?? incoming.length;
      const fired = incoming.filter(({ s }) => s.state === 'fired').length;
      const dead = incoming.filter(({ s }) => s.state === 'dead').length;
      if (fired >= required) start.push(child.key);
      else if (incoming.length - dead < required) skip.push(child.key);
    }
    return { start, skip };
  }

  started(key: string): void {
    this.phase.set(key, 'started');
  }

  /** Records how a child ended and settles its outgoing edges. */
  ended(key: string, end: TChildEnd): void {
    this.phase.set(key, 'ended');
    this.edges.forEach((edge, i) => {
      if (edge.from !== key) return;
      this.edgeStates[i] = end.skipped ? { state: 'dead', reason: `"${key}" was ${end.cancelled ? 'cancelled' : 'skipped'}` } : settle(edge.on, end.context);
    });
  }

  /** Why each dead edge into `key` did not fire (for skip reasons). */
  deadReasons(key: string): string[] {
    return this.edges.flatMap((e, i) => {
      const s = this.edgeStates[i] as TEdgeState;
      return e.to === key && s.state === 'dead' ? [`${e.from} → ${e.to}: ${s.reason}`] : [];
    });
  }
}

function settle(on: TEdgeOn, context: TEdgeContext): TEdgeState {
  if (on === 'always') return { state: 'fired' };
  if (typeof on === 'string') {
    return on === context.status ? { state: 'fired' } : { state: 'dead', reason: `fires on ${on}, but it ${context.status}` };
  }
  const result = evaluateWhen(on.when, context);
  return result.fired ? { state: 'fired' } : { state: 'dead', reason: `when "${on.when}": ${result.reason ?? 'false'}` };
}
