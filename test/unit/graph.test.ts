import { LayerGraph, type TChildEnd, type TDecisions, type TGraphChild, type TGraphEdge } from '../../src/domain/graph';
import type { TEdgeContext } from '../../src/domain/expressions';
import type { TEdgeOn } from '../../src/domain/plans';

/**
 * LayerGraph by key, the way the walk drives it: decisions come out once,
 * when they happen; this keeps the ones not yet acted on, so a test can ask
 * `decide()` at any point, mark children started, and report ends.
 */
class PlanGraph {
  readonly graph: LayerGraph;
  private readonly toStart = new Set<number>();
  private readonly toSkip = new Set<number>();

  constructor(children: TGraphChild[], edges: TGraphEdge[]) {
    this.graph = new LayerGraph(children, edges);
    this.take(this.graph.initial());
  }

  decide(): { start: string[]; skip: string[] } {
    const keys = (set: Set<number>) => [...set].sort((a, b) => a - b).map((i) => this.graph.keyOf(i));
    return { start: keys(this.toStart), skip: keys(this.toSkip) };
  }

  started(key: string): void {
    this.toStart.delete(this.graph.indexOf(key));
  }

  ended(key: string, end: TChildEnd): void {
    const index = this.graph.indexOf(key);
    this.toSkip.delete(index);
    this.toStart.delete(index);
    this.take(this.graph.ended(index, end));
  }

  deadReasons(key: string): string[] {
    return this.graph.deadReasons(this.graph.indexOf(key));
  }

  private take(d: TDecisions): void {
    d.start.forEach((i) => this.toStart.add(i));
    d.skip.forEach((i) => this.toSkip.add(i));
  }
}

/** A predecessor's result; defaults look like a shell leaf that succeeded with no output. */
function ctx(status: TEdgeContext['status'], over: Partial<Omit<TEdgeContext, 'status'>> = {}): TEdgeContext {
  return {
    status,
    exit_code: status === 'succeeded' ? 0 : status === 'failed' ? 1 : null,
    stdout: '',
    stderr: '',
    http_status: null,
    output: {},
    ...over,
  };
}

function endedWith(status: TEdgeContext['status'], over: Partial<Omit<TEdgeContext, 'status'>> = {}): TChildEnd {
  return { skipped: false, context: ctx(status, over) };
}

const SKIPPED: TChildEnd = { skipped: true };

function child(key: string, joinCount: number | null = null): TGraphChild {
  return { key, joinCount };
}

function edge(from: string, to: string, on: TEdgeOn = 'succeeded'): TGraphEdge {
  return { from, to, on };
}

/** Asks decide() and marks what it returns (started / ended skipped), like the composite workflow does. */
function step(graph: PlanGraph): { start: string[]; skip: string[] } {
  const decision = graph.decide();
  for (const k of decision.start) graph.started(k);
  for (const k of decision.skip) graph.ended(k, SKIPPED);
  return decision;
}

/** A two-child graph a → b on `on`: starts a, ends it with `end`, returns what the graph decides next. */
function afterA(on: TEdgeOn, end: TChildEnd): { graph: PlanGraph; decision: { start: string[]; skip: string[] } } {
  const graph = new PlanGraph([child('a'), child('b')], [edge('a', 'b', on)]);
  expect(step(graph)).toEqual({ start: ['a'], skip: [] });
  graph.ended('a', end);
  return { graph, decision: graph.decide() };
}

describe('PlanGraph', () => {
  it('starts every child with no incoming edges at once', () => {
    const graph = new PlanGraph([child('a'), child('b'), child('c')], []);
    expect(graph.decide()).toEqual({ start: ['a', 'b', 'c'], skip: [] });
  });

  it('keeps proposing a child until it is marked started, then never again', () => {
    const graph = new PlanGraph([child('a')], []);
    expect(graph.decide().start).toEqual(['a']);
    expect(graph.decide().start).toEqual(['a']);
    graph.started('a');
    expect(graph.decide()).toEqual({ start: [], skip: [] });
    graph.ended('a', endedWith('succeeded'));
    expect(graph.decide()).toEqual({ start: [], skip: [] });
  });

  it('chain a → b on succeeded: b starts only after a ends succeeded', () => {
    const graph = new PlanGraph([child('a'), child('b')], [edge('a', 'b', 'succeeded')]);
    expect(step(graph)).toEqual({ start: ['a'], skip: [] });
    // a is running: b waits.
    expect(graph.decide()).toEqual({ start: [], skip: [] });
    graph.ended('a', endedWith('succeeded'));
    expect(step(graph)).toEqual({ start: ['b'], skip: [] });
  });

  it('on succeeded does not fire when the predecessor failed: the successor is skipped', () => {
    const { graph, decision } = afterA('succeeded', endedWith('failed'));
    expect(decision).toEqual({ start: [], skip: ['b'] });
    expect(graph.deadReasons('b')).toEqual(['a → b: fires on succeeded, but it failed']);
  });

  describe("on 'failed'", () => {
    it('fires when the predecessor failed', () => {
      expect(afterA('failed', endedWith('failed')).decision).toEqual({ start: ['b'], skip: [] });
    });
    it('does not fire when it succeeded', () => {
      const { graph, decision } = afterA('failed', endedWith('succeeded'));
      expect(decision).toEqual({ start: [], skip: ['b'] });
      expect(graph.deadReasons('b')).toEqual(['a → b: fires on failed, but it succeeded']);
    });
    it('does not fire when it timed out', () => {
      expect(afterA('failed', endedWith('timed_out')).decision).toEqual({ start: [], skip: ['b'] });
    });
  });

  describe("on 'timed_out'", () => {
    it('fires when the predecessor timed out', () => {
      expect(afterA('timed_out', endedWith('timed_out')).decision).toEqual({ start: ['b'], skip: [] });
    });
    it('does not fire when it failed or succeeded', () => {
      expect(afterA('timed_out', endedWith('failed')).decision).toEqual({ start: [], skip: ['b'] });
      expect(afterA('timed_out', endedWith('succeeded')).decision).toEqual({ start: [], skip: ['b'] });
    });
  });

  it("on 'always' fires however the predecessor ended", () => {
    for (const status of ['succeeded', 'failed', 'timed_out'] as const) {
      const { graph, decision } = afterA('always', endedWith(status));
      expect(decision).toEqual({ start: ['b'], skip: [] });
      expect(graph.deadReasons('b')).toEqual([]);
    }
  });

  it('a skipped predecessor fires nothing, not even an always edge', () => {
    const { graph, decision } = afterA('always', SKIPPED);
    expect(decision).toEqual({ start: [], skip: ['b'] });
    expect(graph.deadReasons('b')).toEqual(['a → b: "a" was skipped']);
  });

  describe('when expressions over the predecessor result', () => {
    it("{ when: 'exit_code == 0' } fires on exit 0 and not on exit 3", () => {
      expect(afterA({ when: 'exit_code == 0' }, endedWith('succeeded', { exit_code: 0 })).decision.start).toEqual(['b']);
      const { graph, decision } = afterA({ when: 'exit_code == 0' }, endedWith('failed', { exit_code: 3 }));
      expect(decision).toEqual({ start: [], skip: ['b'] });
      expect(graph.deadReasons('b')).toEqual(['a → b: when "exit_code == 0": evaluated to false']);
    });

    it('a when edge is judged on the expression alone, not on the status', () => {
      // A failed predecessor can still fire a when edge that looks at its exit code.
      expect(afterA({ when: 'exit_code == 3' }, endedWith('failed', { exit_code: 3 })).decision.start).toEqual(['b']);
      expect(afterA({ when: 'status == "timed_out"' }, endedWith('timed_out')).decision.start).toEqual(['b']);
    });

    it("{ when: 'output.count > 2' } reads the parsed output", () => {
      expect(afterA({ when: 'output.count > 2' }, endedWith('succeeded', { output: { count: 3 } })).decision.start).toEqual(['b']);
      expect(afterA({ when: 'output.count > 2' }, endedWith('succeeded', { output: { count: 2 } })).decision.skip).toEqual(['b']);
    });

    it('an expression that errors (missing field) does not fire, and deadReasons says why', () => {
      const { graph, decision } = afterA({ when: 'output.count > 2' }, endedWith('succeeded', { output: {} }));
      expect(decision).toEqual({ start: [], skip: ['b'] });
      const reasons = graph.deadReasons('b');
      expect(reasons).toHaveLength(1);
      expect(reasons[0]).toMatch(/^a → b: when "output\.count > 2": /);
      expect(reasons[0]).toContain('count');
    });

    it('an expression with a non-boolean result does not fire', () => {
      const { graph, decision } = afterA({ when: 'exit_code' }, endedWith('succeeded', { exit_code: 0 }));
      expect(decision.skip).toEqual(['b']);
      expect(graph.deadReasons('b')[0]).toContain('not a boolean');
    });
  });

  describe('joins', () => {
    function fanIn(joinCount: number | null, on: TEdgeOn = 'succeeded'): PlanGraph {
      const graph = new PlanGraph(
        [child('a'), child('b'), child('c'), child('d', joinCount)],
        [edge('a', 'd', on), edge('b', 'd', on), edge('c', 'd', on)],
      );
      expect(step(graph)).toEqual({ start: ['a', 'b', 'c'], skip: [] });
      return graph;
    }

    it("join 'all' (null) waits for every incoming edge to fire", () => {
      const graph = fanIn(null);
      graph.ended('a', endedWith('succeeded'));
      expect(graph.decide()).toEqual({ start: [], skip: [] });
      graph.ended('b', endedWith('succeeded'));
      expect(graph.decide()).toEqual({ start: [], skip: [] });
      graph.ended('c', endedWith('succeeded'));
      expect(graph.decide()).toEqual({ start: ['d'], skip: [] });
    });

    it("join 'all' skips the child as soon as one incoming edge is dead", () => {
      const graph = fanIn(null);
      graph.ended('a', endedWith('succeeded'));
      graph.ended('b', endedWith('failed'));
      expect(graph.decide()).toEqual({ start: [], skip: ['d'] });
      expect(graph.deadReasons('d')).toEqual(['b → d: fires on succeeded, but it failed']);
    });

    it('join 1 starts after the first fired edge (first wins), and later ends change nothing', () => {
      const graph = fanIn(1);
      graph.ended('b', endedWith('succeeded'));
      expect(step(graph)).toEqual({ start: ['d'], skip: [] });
      graph.ended('a', endedWith('succeeded'));
      graph.ended('c', endedWith('failed'));
      expect(graph.decide()).toEqual({ start: [], skip: [] });
    });

    it('join 1 waits through dead edges while one can still fire', () => {
      const graph = fanIn(1);
      graph.ended('a', endedWith('failed'));
      graph.ended('b', endedWith('failed'));
      expect(graph.decide()).toEqual({ start: [], skip: [] });
      graph.ended('c', endedWith('succeeded'));
      expect(graph.decide()).toEqual({ start: ['d'], skip: [] });
    });

    it('join 2 of 3 starts on the second fired edge', () => {
      const graph = fanIn(2);
      graph.ended('a', endedWith('succeeded'));
      expect(graph.decide()).toEqual({ start: [], skip: [] });
      graph.ended('c', endedWith('failed'));
      expect(graph.decide()).toEqual({ start: [], skip: [] });
      graph.ended('b', endedWith('succeeded'));
      expect(graph.decide()).toEqual({ start: ['d'], skip: [] });
    });

    it('join N that can no longer be met skips the child before every predecessor ends', () => {
      const graph = fanIn(2);
      graph.ended('a', endedWith('failed'));
      expect(graph.decide()).toEqual({ start: [], skip: [] });
      graph.ended('b', endedWith('timed_out'));
      // Only c is left: 1 possible edge < 2 required.
      expect(graph.decide()).toEqual({ start: [], skip: ['d'] });
      expect(graph.deadReasons('d')).toEqual([
        'a → d: fires on succeeded, but it failed',
        'b → d: fires on succeeded, but it timed_out',
      ]);
    });
  });

  it('skip propagation: a → b on succeeded, b → c; a fails, b is skipped, then c', () => {
    const graph = new PlanGraph([child('a'), child('b'), child('c')], [edge('a', 'b', 'succeeded'), edge('b', 'c')]);
    expect(step(graph)).toEqual({ start: ['a'], skip: [] });
    graph.ended('a', endedWith('failed'));
    expect(graph.decide()).toEqual({ start: [], skip: ['b'] });
    // c still waits: b has not ended yet.
    expect(graph.decide().skip).toEqual(['b']);
    graph.ended('b', SKIPPED);
    expect(graph.decide()).toEqual({ start: [], skip: ['c'] });
    expect(graph.deadReasons('c')).toEqual(['b → c: "b" was skipped']);
    graph.ended('c', SKIPPED);
    expect(graph.decide()).toEqual({ start: [], skip: [] });
  });

  it('a failure branch runs while the success branch is skipped', () => {
    const graph = new PlanGraph(
      [child('build'), child('deploy'), child('alert')],
      [edge('build', 'deploy', 'succeeded'), edge('build', 'alert', 'failed')],
    );
    step(graph);
    graph.ended('build', endedWith('failed'));
    expect(graph.decide()).toEqual({ start: ['alert'], skip: ['deploy'] });
  });

  describe('diamond: a → b, a → c, b → d, c → d', () => {
    function diamond(joinCount: number | null = null): PlanGraph {
      return new PlanGraph(
        [child('a'), child('b'), child('c'), child('d', joinCount)],
        [edge('a', 'b'), edge('a', 'c'), edge('b', 'd'), edge('c', 'd')],
      );
    }

    it('fans out after a and fans in to d once both branches succeed', () => {
      const graph = diamond();
      expect(step(graph)).toEqual({ start: ['a'], skip: [] });
      graph.ended('a', endedWith('succeeded'));
      expect(step(graph)).toEqual({ start: ['b', 'c'], skip: [] });
      graph.ended('c', endedWith('succeeded'));
      expect(graph.decide()).toEqual({ start: [], skip: [] });
      graph.ended('b', endedWith('succeeded'));
      expect(step(graph)).toEqual({ start: ['d'], skip: [] });
      graph.ended('d', endedWith('succeeded'));
      expect(graph.decide()).toEqual({ start: [], skip: [] });
    });

    it('a failure at the top skips the whole diamond', () => {
      const graph = diamond();
      step(graph);
      graph.ended('a', endedWith('failed'));
      expect(step(graph)).toEqual({ start: [], skip: ['b', 'c'] });
      expect(step(graph)).toEqual({ start: [], skip: ['d'] });
      expect(graph.decide()).toEqual({ start: [], skip: [] });
    });

    it('with join 1 at d, one failed branch does not stop d', () => {
      const graph = diamond(1);
      step(graph);
      graph.ended('a', endedWith('succeeded'));
      step(graph);
      graph.ended('b', endedWith('failed'));
      expect(graph.decide()).toEqual({ start: [], skip: [] });
      graph.ended('c', endedWith('succeeded'));
      expect(graph.decide()).toEqual({ start: ['d'], skip: [] });
    });
  });
});

describe('LayerGraph at scale and across continue-as-new', () => {
  it('decides a 2,000-wide fan-in in work linear in the ends (each end touches only its own edges)', () => {
    const n = 2000;
    const children = [...Array.from({ length: n }, (_, i) => child(`c${i}`)), child('join')];
    // Counts the graph's reads of edges: work, measured without a clock (a time bound fails on a busy machine).
    let edgeReads = 0;
    const edges = new Proxy(
      Array.from({ length: n }, (_, i) => edge(`c${i}`, 'join')),
      { get: (target, key, receiver) => (typeof key === 'string' && /^\d+$/.test(key) && edgeReads++, Reflect.get(target, key, receiver)) },
    );
    const graph = new LayerGraph(children, edges);
    expect(graph.initial().start).toHaveLength(n);
    edgeReads = 0;
    for (let i = 0; i < n - 1; i++) expect(graph.ended(i, endedWith('succeeded'))).toEqual({ start: [], skip: [] });
    expect(graph.ended(n - 1, endedWith('succeeded'))).toEqual({ start: [n], skip: [] });
    // Quadratic work would read 2,000 × 2,000 edges; linear work reads each end's one edge once.
    expect(edgeReads).toBe(n);
  });

  it('a snapshot restores the same decisions: settled edges, dead reasons and faults carry over', () => {
    const children = [child('a'), child('b'), child('c', 1), child('d')];
    const edges = [edge('a', 'c'), edge('b', 'c', 'failed'), edge('c', 'd')];
    const graph = new LayerGraph(children, edges);
    expect(graph.initial()).toEqual({ start: [0, 1], skip: [] });
    expect(graph.ended(1, endedWith('succeeded'))).toEqual({ start: [], skip: [] });
    const snapshot = JSON.parse(JSON.stringify(graph.snapshot()));
    const restored = LayerGraph.restore(children, edges, snapshot);
    expect(restored.deadReasons(2)).toEqual(['b → c: fires on failed, but it succeeded']);
    // a has not ended: its edge into c is still open in both.
    expect(restored.ended(0, endedWith('succeeded'))).toEqual({ start: [2], skip: [] });
    expect(graph.ended(0, endedWith('succeeded'))).toEqual({ start: [2], skip: [] });
  });

  it('a snapshot keeps only what the next run needs: phases and the edges into pending children', () => {
    const graph = new LayerGraph([child('a'), child('b'), child('c')], [edge('a', 'b'), edge('b', 'c')]);
    graph.initial();
    graph.ended(0, endedWith('succeeded'));
    // b started (decided); the edge a → b no longer matters.
    expect(graph.snapshot()).toEqual({ phases: '210', edges: [], faults: [] });
  });

  it('a when edge over its evaluation budget does not fire and is recorded as a fault', () => {
    const graph = new LayerGraph([child('a'), child('b')], [edge('a', 'b', { when: 'output.items.all(i, i in output.items)' })]);
    graph.initial();
    const items = Array.from({ length: 3000 }, (_, i) => i);
    expect(graph.ended(0, endedWith('succeeded', { output: { items } }))).toEqual({ start: [], skip: [1] });
    expect(graph.faults).toEqual([expect.stringMatching(/^edge a → b: when ".*" was not evaluated: it would exceed its evaluation budget/)]);
  });

  it('a stored expression that breaks a newer rule is not evaluated, and is a fault', () => {
    const graph = new LayerGraph([child('a'), child('b')], [edge('a', 'b', { when: 'stdout.matches("^(a+)+$")' })]);
    graph.initial();
    expect(graph.ended(0, endedWith('succeeded', { stdout: 'a'.repeat(40) }))).toEqual({ start: [], skip: [1] });
    expect(graph.faults[0]).toContain('`matches` is not allowed');
  });
});
