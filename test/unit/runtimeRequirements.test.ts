import { isDomainError } from '../../src/domain/errors';
import { FROZEN_FORMAT, type TFrozenPlan } from '../../src/domain/frozenPlans';
import type { TPlan } from '../../src/domain/plans';
import { literalInternalHost } from '../../src/lib/internalAddresses';
import { fireRefusal, goalRuntimes, internalAddressRefusal, leafRefusal, literalInternalTargets, mayReachInternalAddresses, missingRuntimes, plannerKey, readPlanners, requiredRuntimes, requireSaverRuntimes, requireWorkflowRuntimes } from '../../src/domain/runtimeRequirements';

/** What a saved workflow needs of the agent that runs it (issue 17, finding 2). */

const frozen = (plan: TPlan | null, acceptance?: { check?: string }): TFrozenPlan => ({ format: FROZEN_FORMAT, root: { title: 'T', intent: null, ...(acceptance ? { acceptance } : {}), plan } });

describe('requiredRuntimes', () => {
  it('collects leaf runtimes at every depth, and shell for every acceptance check (a check is a shell command)', () => {
    const plan: TPlan = {
      children: [
        { key: 'get', kind: 'leaf', title: 'Get', action: { runtime: 'http', method: 'GET', url: 'https://example.com/' } },
        {
          key: 'inner',
          kind: 'composite',
          title: 'Inner',
          acceptance: { check: 'test -s out' },
          plan: { children: [{ key: 'ok', kind: 'leaf', title: 'OK', action: { runtime: 'manual' } }], edges: [] },
        },
      ],
      edges: [],
    };
    expect(requiredRuntimes(frozen(plan))).toEqual(['http', 'manual', 'shell']);
    // Without the check, no shell.
    const noCheck = structuredClone(plan);
    delete (noCheck.children[1] as { acceptance?: unknown }).acceptance;
    expect(requiredRuntimes(frozen(noCheck))).toEqual(['http', 'manual']);
  });

  it("counts the root's own check, even with no plan", () => {
    expect(requiredRuntimes(frozen(null, { check: 'true' }))).toEqual(['shell']);
    expect(requiredRuntimes(frozen(null))).toEqual([]);
  });

  it('adds what the workflows it names record (their sets are already transitive), not their plans', () => {
    const plan: TPlan = { children: [{ key: 'sub', kind: 'composite', title: 'Sub', workflow: 'shell-things@2' }], edges: [] };
    expect(requiredRuntimes(frozen(plan))).toEqual([]);
    expect(requiredRuntimes(frozen(plan), [['shell'], ['agent', 'shell']])).toEqual(['agent', 'shell']);
  });
});

describe('goalRuntimes', () => {
  it("is a goal's action runtime, and shell for its check", () => {
    expect(goalRuntimes({ action: { runtime: 'http' } })).toEqual(['http']);
    expect(goalRuntimes({ action: { runtime: 'manual' }, acceptance: { check: 'true' } })).toEqual(['manual', 'shell']);
    expect(goalRuntimes({ action: null, acceptance: { check: 'true' } })).toEqual(['shell']);
  });
});

describe('requireWorkflowRuntimes', () => {
  const workflow = { name: 'nightly', version: 3, requiredRuntimes: ['http', 'shell'] };

  it('passes an agent allowed every runtime', () => {
    expect(() => requireWorkflowRuntimes({ name: 'ops', allowedRuntimes: ['shell', 'http', 'manual'] }, workflow, 'run')).not.toThrow();
    expect(missingRuntimes(['http', 'shell'], ['http'])).toEqual(['shell']);
  });

  it('refuses with RUNTIME_NOT_ALLOWED, naming the agent, the workflow and what it lacks', () => {
    let caught: unknown;
    try {
      requireWorkflowRuntimes({ name: 'bot', allowedRuntimes: ['http', 'manual'] }, workflow, 'reference', 'plan.children[0].workflow');
    } catch (err) {
      caught = err;
    }
    expect(isDomainError(caught)).toBe(true);
    expect(caught).toMatchObject({
      code: 'RUNTIME_NOT_ALLOWED',
      message: 'plan.children[0].workflow: agent bot may not reference workflow nightly@3: it needs shell commands, which the agent may not run (allowed: http, manual)',
      details: { workflow: 'nightly@3', agent: 'bot', missing_runtimes: ['shell'], path: 'plan.children[0].workflow' },
    });
  });
});

/** Issue 17's review: a run's goals run under the workflow's agent, at another agent's request (the acting agent). */
describe('the acting agent', () => {
  const saver = { name: 'saver', allowedRuntimes: ['shell', 'http', 'manual'] };
  const noShell = { name: 'asker', allowedRuntimes: ['http', 'manual'] };

  const acting = (actingAgent: typeof saver | null, plannedBy: typeof saver | null = null) => ({ actingAgent, plannedBy });

  it('leafRefusal: a leaf needs its runtimes in the goal\'s agent and in its run\'s acting agent (the intersection)', () => {
    expect(leafRefusal(['shell'], saver, acting(null))).toBeUndefined();
    expect(leafRefusal(['shell'], saver, acting(saver))).toBeUndefined();
    expect(leafRefusal(['shell'], saver, acting(noShell))).toBe('agent asker, which requested this run, may no longer run shell commands: nothing was run');
    expect(leafRefusal(['shell'], noShell, acting(saver))).toBe('agent asker may no longer run shell commands: nothing was run');
    expect(leafRefusal(['http'], saver, acting(noShell))).toBeUndefined();
  });

  it('leafRefusal: and in the agent that submitted the goal\'s plan', () => {
    expect(leafRefusal(['shell'], saver, acting(null, saver))).toBeUndefined();
    expect(leafRefusal(['shell'], saver, acting(null, noShell))).toBe("agent asker, which submitted this goal's plan, may no longer run shell commands: nothing was run");
    expect(leafRefusal(['shell'], saver, acting(saver, noShell))).toBe("agent asker, which submitted this goal's plan, may no longer run shell commands: nothing was run");
  });

  it('mayReachInternalAddresses: every agent the leaf acts for must be allowed shell', () => {
    expect(mayReachInternalAddresses(saver, acting(null))).toBe(true);
    expect(mayReachInternalAddresses(saver, acting(saver))).toBe(true);
    expect(mayReachInternalAddresses(saver, acting(noShell))).toBe(false);
    expect(mayReachInternalAddresses(noShell, acting(saver))).toBe(false);
    expect(mayReachInternalAddresses(saver, acting(null, noShell))).toBe(false);
    expect(mayReachInternalAddresses(saver, acting(saver, saver))).toBe(true);
  });

  it('fireRefusal: a fire needs what the version it picked needs, of the schedule\'s creator', () => {
    const v1 = { name: 'nightly', version: 1, requiredRuntimes: ['manual'] };
    const v2 = { name: 'nightly', version: 2, requiredRuntimes: ['manual', 'shell'] };
    expect(fireRefusal(v1, noShell, v1)).toBeUndefined();
    expect(fireRefusal(v2, noShell, v1)).toBe("workflow nightly v2 needs shell commands, which agent asker (the schedule's creator) may not run");
    expect(fireRefusal(v2, saver, v1)).toBeUndefined();
  });

  it('fireRefusal: a schedule with no recorded creator may run only what its pinned version needed', () => {
    const v1 = { name: 'nightly', version: 1, requiredRuntimes: ['manual'] };
    const v2 = { name: 'nightly', version: 2, requiredRuntimes: ['manual', 'shell'] };
    expect(fireRefusal(v1, null, v1)).toBeUndefined();
    expect(fireRefusal({ ...v1, version: 3 }, null, v1)).toBeUndefined();
    expect(fireRefusal(v2, null, v1)).toBe('workflow nightly v2 needs shell commands, which v1 (checked when the schedule was created) did not, and the schedule records no creating agent to check');
  });
});

describe('internal addresses a URL names literally', () => {
  it.each([
    ['http://127.0.0.1:8080/x', '127.0.0.1'],
    ['http://127.1/', '127.0.0.1'],
    ['http://[::1]/', '::1'],
    ['http://[::ffff:10.0.0.1]/', '::ffff:a00:1'],
    ['https://169.254.169.254/latest/meta-data', '169.254.169.254'],
    ['http://localhost:7233/', 'localhost'],
    ['http://LOCALHOST./', 'localhost'],
    ['http://api.localhost/', 'api.localhost'],
    // Review r6: the other spellings a URL parser turns into the same addresses.
    ['http://2130706433/', '127.0.0.1'],
    ['http://0x7f.1/', '127.0.0.1'],
    ['http://0177.0.0.1/', '127.0.0.1'],
    ['http://0xa9fea9fe/latest/meta-data', '169.254.169.254'],
    ['http://%31%32%37.0.0.1/', '127.0.0.1'],
    ['http://\u2460\u2461\u2466.0.0.1/', '127.0.0.1'],
    ['http://127\u30020\u30020\u30021/', '127.0.0.1'],
    ['http://169.254.169.254./', '169.254.169.254'],
    ['http://example.com@127.0.0.1/', '127.0.0.1'],
    ['http://0/', '0.0.0.0'],
    ['http://[::]/', '::'],
    ['http://[0:0:0:0:0:ffff:a9fe:a9fe]/', '::ffff:a9fe:a9fe'],
    ['http://[64:ff9b::a9fe:a9fe]/', '64:ff9b::a9fe:a9fe'],
    ['http://[2002:7f00:1::]/', '2002:7f00:1::'],
    ['http://[fd00::1]/', 'fd00::1'],
  ])('%s is internal (%s)', (url, host) => expect(literalInternalHost(url)).toBe(host));

  it.each(['https://example.com/', 'http://8.8.8.8/', 'http://internal.example/', 'not a url', 'http://user@127.0.0.1@example.com/'])('%s is not known to be', (url) => expect(literalInternalHost(url)).toBeUndefined());

  it('finds them at every depth of a plan, with their paths; a refusal only for an agent without shell', () => {
    const plan: TPlan = {
      children: [
        { key: 'pub', kind: 'leaf', title: 'Pub', action: { runtime: 'http', method: 'GET', url: 'https://example.com/' } },
        {
          key: 'inner',
          kind: 'composite',
          title: 'Inner',
          plan: { children: [{ key: 'meta', kind: 'leaf', title: 'Meta', action: { runtime: 'http', method: 'GET', url: 'http://169.254.169.254/' } }], edges: [] },
        },
      ],
      edges: [],
    };
    expect(literalInternalTargets(plan, literalInternalHost)).toEqual([{ path: 'children[1].plan.children[0].action.url', host: '169.254.169.254' }]);
    expect(internalAddressRefusal({ name: 'a', allowedRuntimes: ['shell', 'http'] }, frozen(plan), literalInternalHost)).toBeUndefined();
    expect(internalAddressRefusal({ name: 'a', allowedRuntimes: ['http'] }, frozen(plan), literalInternalHost)?.path).toBe('children[1].plan.children[0].action.url');
  });
});

describe('planners of a saved version (review r6 #2)', () => {
  it('keys a goal by its keys from the saved goal down; the saved goal is the empty key', () => {
    expect([plannerKey([]), plannerKey(['slot']), plannerKey(['slot', 'get'])]).toEqual(['', 'slot', 'slot/get']);
  });

  it('reads a stored map, and refuses one that does not read rather than drop a planner', () => {
    expect(readPlanners({ 'slot/get': 'agent_p' })).toEqual({ 'slot/get': 'agent_p' });
    expect(readPlanners(null)).toEqual({});
    expect(readPlanners({ 'slot/get': 7 })).toBeUndefined();
    expect(readPlanners(['agent_p'])).toBeUndefined();
  });
});

describe('requireSaverRuntimes (review r6 #4)', () => {
  const shell = { name: 'ops', allowedRuntimes: ['shell', 'http', 'manual'] };
  const planner = { name: 'planner', allowedRuntimes: ['http', 'manual'] };
  const refusal = (fn: () => void) => {
    try {
      fn();
    } catch (err) {
      return isDomainError(err) ? [err.code, err.details] : err;
    }
    return undefined;
  };

  it('lets an agent save what it may run', () => {
    expect(refusal(() => requireSaverRuntimes(planner, 'n', ['manual'], shell))).toBeUndefined();
    expect(refusal(() => requireSaverRuntimes(shell, 'n', ['http', 'shell'], shell))).toBeUndefined();
    // Requests under an agent without shell reach nothing internal: an http-only saver may save them.
    expect(refusal(() => requireSaverRuntimes(planner, 'n', ['http'], planner))).toBeUndefined();
  });

  it('refuses a runtime the saver may not run, and http requests with a shell agent\'s reach', () => {
    expect(refusal(() => requireSaverRuntimes(planner, 'n', ['manual', 'shell'], shell))).toEqual(['RUNTIME_NOT_ALLOWED', { workflow: 'n', agent: 'planner', missing_runtimes: ['shell'] }]);
    expect(refusal(() => requireSaverRuntimes(planner, 'n', ['http'], shell))).toEqual(['RUNTIME_NOT_ALLOWED', { workflow: 'n', agent: 'planner', missing_runtimes: ['shell'] }]);
  });
});
