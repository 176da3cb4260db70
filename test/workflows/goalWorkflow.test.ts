import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { FAILURE_TYPES } from '../../src/domain/errors';
import type { TEngineTuning } from '../../src/domain/execution';
import { pursueGoalStart } from '../../src/temporal/starts';
import * as workflows from '../../src/workflows';
import { completeGoalUpdate, planInstalledSignal } from '../../src/workflows/messages';
import { quietTemporalRuntime, testEnv, uniqueTaskQueue, waitFor } from '../support/env';
import { createFakeGoals, manualLeaf, shellLeaf, type TFakeGoal } from './fakeActivities';

/**
 * The goal workflow's own logic (timeouts, plan waits, continue-as-new), on
 * the Temporal dev server with in-memory activities: no Postgres. Temporal's
 * time-skipping test server cannot be had on this machine (it is a download),
 * so time is made short instead: the engine's tuning knobs (plan recheck
 * seconds, history limit) and a leaf's own timeout of a second make each
 * path happen within a few seconds, with no sleep in the test itself.
 */

/** The goal workflow, and the builder of its start options: the one place that names them. */
const goalWorkflow = workflows.pursueGoal;
const goalStart = pursueGoalStart;

const fakes = createFakeGoals();
const taskQueue = uniqueTaskQueue('workflows');
let client: Client;
let worker: Worker;
let running: Promise<void>;
let nativeConnection: NativeConnection;

beforeAll(async () => {
  quietTemporalRuntime();
  nativeConnection = await NativeConnection.connect({ address: testEnv.temporalAddress });
  worker = await Worker.create({
    connection: nativeConnection,
    taskQueue,
    workflowBundle: { codePath: testEnv.workflowBundle },
    activities: fakes.activities,
  });
  running = worker.run();
  client = new Client({ connection: await Connection.connect({ address: testEnv.temporalAddress }) });
});

afterAll(async () => {
  worker?.shutdown();
  await running;
  await client?.connection.close();
  await nativeConnection?.close();
});

/** A composite root over `children` (keys → goals), with `parallelism` and `edges`. */
function composite(children: TFakeGoal[], layer: Partial<NonNullable<TFakeGoal['layer']>> = {}): TFakeGoal {
  return fakes.add('root', { layer: { parallelism: 10, edges: [], ...layer, children: children.map((c) => c.id) } });
}

function start(goal: TFakeGoal, tuning: TEngineTuning = { planRecheckS: 600, historyLimit: 4000 }) {
  return client.workflow.start(goalWorkflow, { taskQueue, ...goalStart({ id: goal.id, rootId: goal.id, title: goal.key, temporalWorkflowId: `wf-${goal.id}` }, tuning) });
}

/** The runs of one workflow execution chain, first to last, by following each run's continue-as-new. */
async function runsOf(handle: { workflowId: string; firstExecutionRunId: string }): Promise<number> {
  let runId: string | undefined = handle.firstExecutionRunId;
  let runs = 0;
  while (runId) {
    runs += 1;
    const history = await client.workflow.getHandle(handle.workflowId, runId).fetchHistory();
    runId = history.events?.at(-1)?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined;
  }
  return runs;
}

const states = (goals: TFakeGoal[]) => Object.fromEntries(goals.map((g) => [g.key, g.outcome?.lifecycle === 'done' ? `done/${g.outcome.doneReason}` : g.lifecycle]));

describe('a manual leaf with a timeout', () => {
  it('nobody completes it: it times out, recorded failed with its reason, its timed_out edge fires, its succeeded edge is skipped', async () => {
    const signOff = fakes.add('sign-off', manualLeaf(1));
    const escalate = fakes.add('escalate', shellLeaf());
    const celebrate = fakes.add('celebrate', shellLeaf());
    const root = composite([signOff, escalate, celebrate], {
      edges: [
        { from: 'sign-off', to: 'escalate', on: 'timed_out' },
        { from: 'sign-off', to: 'celebrate', on: 'succeeded' },
      ],
    });
    const handle = await start(root);
    await expect(handle.result()).rejects.toMatchObject({
      name: 'WorkflowFailedError',
      cause: { type: FAILURE_TYPES.GoalFailed, message: `goal ${root.id} failed: child "sign-off" failed: not completed within 1s` },
    });
    expect(states([signOff, escalate, celebrate, root])).toEqual({ 'sign-off': 'failed', escalate: 'done/accepted', celebrate: 'done/skipped', root: 'failed' });
    expect(signOff.outcome).toEqual({ lifecycle: 'failed', failureReason: 'not completed within 1s' });
    expect(celebrate.skippedBecause).toEqual(['sign-off → celebrate: fires on succeeded, but it timed_out']);
    expect(fakes.count('enterWait', signOff.id)).toBe(1);
    expect([fakes.count('runLeaf', escalate.id), fakes.count('runLeaf', celebrate.id)]).toEqual([1, 0]);
  });
  it('completed in time instead: recorded with its output, its succeeded edge fires; a second completion is refused', async () => {
    const signOff = fakes.add('sign-off', manualLeaf(600));
    const celebrate = fakes.add('celebrate', shellLeaf());
    const root = composite([signOff, celebrate], { edges: [{ from: 'sign-off', to: 'celebrate', on: 'succeeded' }] });
    const handle = await start(root);
    // The update's validator accepts it from the moment the leaf waits: the wait is recorded first.
    await waitFor(async () => (signOff.waitingFor === 'completion' ? true : undefined), 'the leaf to wait for its completion');
    await handle.executeUpdate(completeGoalUpdate, { args: [{ goalId: signOff.id, outcome: 'succeeded', output: { signed: 'ada' } }] });
    await expect(handle.executeUpdate(completeGoalUpdate, { args: [{ goalId: signOff.id, outcome: 'failed' }] })).rejects.toMatchObject({
      name: 'WorkflowUpdateFailedError',
      cause: { message: `goal ${signOff.id} is not waiting to be completed` },
    });
    expect(await handle.result()).toEqual({ goalId: root.id, status: 'succeeded', lifecycle: 'done' });
    expect(signOff.outcome).toEqual({ lifecycle: 'done', doneReason: 'accepted', output: { signed: 'ada' } });
    expect(states([celebrate, root])).toEqual({ celebrate: 'done/accepted', root: 'done/accepted' });
  });
});

describe('continue-as-new', () => {
  it('a plan wait past its history limit continues as new, still waiting, then runs the plan once it is installed', async () => {
    const late = fakes.add('late', shellLeaf());
    const root = fakes.add('root', { layer: null });
    // A look at the plan every second, and a history limit the first look passes.
    const handle = await start(root, { planRecheckS: 1, historyLimit: 10 });
    await waitFor(
      async () => ((await client.workflow.getHandle(handle.workflowId, handle.firstExecutionRunId).describe()).status.name === 'CONTINUED_AS_NEW' ? true : undefined),
      'the plan wait to continue as new',
    );
    expect([root.lifecycle, root.waitingFor]).toEqual(['active', 'plan']);

    root.layer = { parallelism: 1, children: [late.id], edges: [] };
    await handle.signal(planInstalledSignal, { goalId: root.id });
    expect(await handle.result()).toEqual({ goalId: root.id, status: 'succeeded', lifecycle: 'done' });
    expect(states([late, root])).toEqual({ late: 'done/accepted', root: 'done/accepted' });
    expect(await runsOf(handle)).toBeGreaterThanOrEqual(2);
    // Blocked once, when the wait began (a continued wait does not block again); unblocked once, with the plan.
    expect(fakes.calls.filter((c) => c.startsWith(`setWaiting ${root.id}`))).toEqual([`setWaiting ${root.id} plan`, `setWaiting ${root.id} null`]);
    expect(fakes.count('runLeaf', late.id)).toBe(1);
  });

  it('a walk past its history limit continues as new, carrying joins and skips: every child once, the same end as one walk', async () => {
    const workers = Array.from({ length: 12 }, (_, i) => fakes.add(`w${i}`, shellLeaf()));
    const fails = fakes.add('fails', shellLeaf({ status: 'failed', reason: 'the command exited with code 3' }));
    const afterAll = fakes.add('after-all', shellLeaf());
    const onFailure = fakes.add('on-failure', shellLeaf());
    const skipped = fakes.add('skipped', shellLeaf());
    const children = [...workers, fails, afterAll, onFailure, skipped];
    const root = composite(children, {
      parallelism: 2,
      edges: [
        ...workers.map((w) => ({ from: w.key, to: 'after-all', on: 'succeeded' as const })),
        { from: 'fails', to: 'on-failure', on: 'failed' },
        { from: 'fails', to: 'skipped', on: 'succeeded' },
      ],
    });
    const handle = await start(root, { planRecheckS: 600, historyLimit: 30 });
    await expect(handle.result()).rejects.toMatchObject({
      cause: { type: FAILURE_TYPES.GoalFailed, message: `goal ${root.id} failed: child "fails" failed: the command exited with code 3` },
    });
    expect(await runsOf(handle)).toBeGreaterThanOrEqual(2);
    for (const child of children.filter((c) => c !== skipped)) expect([child.key, fakes.count('runLeaf', child.id)]).toEqual([child.key, 1]);
    expect(fakes.count('runLeaf', skipped.id)).toBe(0);
    expect(states([afterAll, onFailure, skipped, fails, root])).toEqual({ 'after-all': 'done/accepted', 'on-failure': 'done/accepted', skipped: 'done/skipped', fails: 'failed', root: 'failed' });
    expect(skipped.skippedBecause).toEqual(['fails → skipped: fires on succeeded, but it failed']);
  });
});

describe('when edges and the evaluation budget of one step', () => {
  // Near its own budget: a body that rescans the output per element (some 20 ms of cel-js work each).
  const NEAR_BUDGET = 'output.items.all(i, i in output.items)';
  const output = { items: Array.from({ length: 760 }, (_, i) => i) };

  it('a hundred near-budget edges out of one goal: the composite fails with the reason, its activation never nearing the deadline', async () => {
    const source = fakes.add('a', shellLeaf({ status: 'succeeded', output }));
    const targets = Array.from({ length: 100 }, (_, i) => fakes.add(`b${i}`, shellLeaf()));
    const root = composite([source, ...targets], { parallelism: 100, edges: targets.map((t) => ({ from: 'a', to: t.key, on: { when: NEAR_BUDGET } })) });
    const handle = await start(root);
    // Before the step budget all hundred were evaluated in one activation: some five seconds here, the
    // SDK's limit for one (isolateExecutionTimeout); past it the workflow task fails on every retry.
    await expect(handle.result()).rejects.toMatchObject({
      cause: { type: FAILURE_TYPES.GoalFailed, message: expect.stringMatching(/: when ".*" was not evaluated: the when edges out of one goal would together exceed their evaluation budget \(and \d+ more\)$/) },
    });
    const ran = targets.filter((t) => fakes.count('runLeaf', t.id) === 1).length;
    expect(ran).toBeGreaterThan(0);
    expect(ran).toBeLessThanOrEqual(10);
    expect((await handle.fetchHistory()).events?.filter((e) => e.workflowTaskFailedEventAttributes)).toEqual([]);
  });

  it('many near-budget ends at once are settled over several activations, every edge evaluated', async () => {
    const sources = Array.from({ length: 40 }, (_, i) => fakes.add(`a${i}`, shellLeaf({ status: 'succeeded', output })));
    const targets = Array.from({ length: 40 }, (_, i) => fakes.add(`b${i}`, shellLeaf()));
    const root = composite([...sources, ...targets], { parallelism: 80, edges: sources.map((s, i) => ({ from: s.key, to: `b${i}`, on: { when: NEAR_BUDGET } })) });
    expect(await (await start(root)).result()).toEqual({ goalId: root.id, status: 'succeeded', lifecycle: 'done' });
    for (const t of targets) expect([t.key, fakes.count('runLeaf', t.id)]).toEqual([t.key, 1]);
  });
});
