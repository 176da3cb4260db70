import { PlanGraph, type TChildEnd, type TGraphChild, type TGraphEdge } from '../../src/domain/graph';
import type { TEdgeContext } from '../../src/domain/expressions';
import type { TEdgeOn } from '../../src/domain/plans';

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
