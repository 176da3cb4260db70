import { DomainError } from './errors';
import type { TFrozenPlan } from './frozenPlans';
import type { TAcceptance, TPlan } from './plans';
import { RUNTIME_NAMES, type TRuntime } from './runtimes';
import { z } from './zod';

/**
 * What a saved workflow needs of the agent that runs it (SPEC §6: running
 * commands is a privilege). `validatePlan` checks a plan's own leaves when it
 * is submitted; a saved workflow can be run, referenced as a nested child, or
 * scheduled later by another agent, so each version records the runtimes its
 * whole tree needs: its leaves' runtimes, `shell` for every acceptance check
 * (a check is a shell command), and what every workflow it names needs in
 * turn. Each referenced version records its own transitive set, so the union
 * of a plan's direct references is already transitive.
 *
 * The migration 20261215000000_workflow_required_runtimes computes the same
 * set in SQL for rows saved before the column existed; keep the two in step.
 */

/** The runtimes a plan's own leaves and checks use (references not followed: their sets are recorded on their rows). */
export function planRuntimes(plan: TPlan | null | undefined, into = new Set<TRuntime>()): Set<TRuntime> {
  for (const child of plan?.children ?? []) {
    addCheck(child.acceptance, into);
    if (child.kind === 'leaf') into.add(child.action.runtime);
    else planRuntimes(child.plan, into);
  }
  return into;
}

function addCheck(acceptance: TAcceptance | undefined, into: Set<TRuntime>): void {
  if (acceptance?.check !== undefined) into.add('shell');
}

/**
 * A frozen plan's required runtimes: its root's check, its tree's leaves and
 * checks, and `referenced` (the recorded sets of the workflows it names), in
 * one stable order (sorted by name, as the migration sorts them).
 */
export function requiredRuntimes(frozen: TFrozenPlan, referenced: readonly (readonly string[])[] = []): TRuntime[] {
  const found = planRuntimes(frozen.root.plan);
  addCheck(frozen.root.acceptance, found);
  for (const set of referenced) for (const runtime of set) if ((RUNTIME_NAMES as readonly string[]).includes(runtime)) found.add(runtime as TRuntime);
  return [...found].sort();
}

/** The required runtimes an agent lacks. */
export function missingRuntimes(required: readonly string[], allowed: readonly string[]): string[] {
  return required.filter((r) => !allowed.includes(r));
}

/** How a runtime reads in a sentence: "shell commands", "http actions". */
export function runtimePhrase(runtime: string): string {
  return runtime === 'shell' ? 'shell commands' : `"${runtime}" actions`;
}

/**
 * Refuses (RUNTIME_NOT_ALLOWED, 400, as a plan naming a runtime its agent may
 * not use) when `agent` lacks a runtime the workflow needs; `doing` says what
 * the caller tried ("run", "schedule", "reference").
 */
export function requireWorkflowRuntimes(
  agent: { name: string; allowedRuntimes: readonly string[] },
  workflow: { name: string; version: number; requiredRuntimes: readonly string[] },
  doing: string,
  path?: string,
): void {
  const missing = missingRuntimes(workflow.requiredRuntimes, agent.allowedRuntimes);
  if (!missing.length) return;
  const what = `workflow ${workflow.name}@${workflow.version}`;
  throw new DomainError(
    'RUNTIME_NOT_ALLOWED',
    `${path ? `${path}: ` : ''}agent ${agent.name} may not ${doing} ${what}: it needs ${missing.map(runtimePhrase).join(' and ')}, which the agent may not run (allowed: ${agent.allowedRuntimes.join(', ') || 'none'})`,
    { workflow: `${workflow.name}@${workflow.version}`, agent: agent.name, missing_runtimes: missing, ...(path ? { path } : {}) },
  );
}

/**
 * The runtimes one goal's own work uses as it runs: its action's runtime,
 * and `shell` when it has an acceptance check. What a leaf re-checks of its
 * agent just before it runs (a revoked privilege takes effect there).
 */
export function goalRuntimes(goal: { action?: { runtime: TRuntime } | null; acceptance?: TAcceptance | null }): TRuntime[] {
  const found = new Set<TRuntime>();
  if (goal.action) found.add(goal.action.runtime);
  addCheck(goal.acceptance ?? undefined, found);
  return [...found].sort();
}

/** An agent as a leaf's re-check sees it. */
export interface TAgentRuntimes {
  name: string;
  allowedRuntimes: readonly string[];
}

/**
 * The agents a leaf acts for, beside its goal's own: its run's acting agent
 * (whose request made the run: the caller's, a schedule's creator's) and the
 * agent that submitted the plan that wrote the goal (POST /goals/{id}/plan,
 * possibly into another agent's composite). Null where there is none.
 */
export interface TLeafPrincipals {
  actingAgent: TAgentRuntimes | null;
  plannedBy: TAgentRuntimes | null;
}

/**
 * Why a leaf may not run now, or undefined when it may (SPEC §6: a revoked
 * privilege takes effect at the next leaf). A run's goals run under the
 * workflow's agent (SPEC §4), but the run was made at another agent's request
 * and a plan may have been submitted by a third: the leaf needs its runtimes
 * in each, so what it may use is the intersection of them all.
 */
export function leafRefusal(needed: readonly string[], agent: TAgentRuntimes, others: TLeafPrincipals): string | undefined {
  const whom = [
    [agent, ''],
    [others.actingAgent, ', which requested this run,'],
    [others.plannedBy, ', which submitted this goal\'s plan,'],
  ] as const;
  for (const [who, role] of whom) {
    if (!who) continue;
    const missing = missingRuntimes(needed, who.allowedRuntimes);
    if (missing.length) return `agent ${who.name}${role} may no longer run ${missing.map(runtimePhrase).join(' or ')}: nothing was run`;
  }
  return undefined;
}

/**
 * Whether an `http` leaf may reach internal addresses: the privilege of
 * agents that may run shell commands (activities/addressGuard.ts), held by
 * the goal's agent, its run's acting agent and its plan's submitter alike.
 */
export function mayReachInternalAddresses(agent: TAgentRuntimes, others: TLeafPrincipals): boolean {
  return [agent, others.actingAgent, others.plannedBy].every((who) => who === null || who.allowedRuntimes.includes('shell'));
}

/**
 * Refuses (RUNTIME_NOT_ALLOWED, 400) saving a tree as a version of `name`
 * unless the saving agent may run what the version will need (review r6 #4).
 * A saved version runs wherever it is picked next, without its saver being
 * asked: a `follow_latest` schedule runs the newest version of its name with
 * its creator's runtimes. So whoever saves one picks what those fires run, as
 * a schedule's caller picks when they run (`requireScheduleReach`): it needs
 * the version's runtimes, and `shell` when the version makes http requests
 * under an agent that may run shell (they may reach internal addresses).
 */
export function requireSaverRuntimes(
  saver: TAgentRuntimes,
  name: string,
  required: readonly string[],
  agent: TAgentRuntimes,
): void {
  const missing = missingRuntimes(required, saver.allowedRuntimes);
  const reach = !missing.length && required.includes('http') && !saver.allowedRuntimes.includes('shell') && agent.allowedRuntimes.includes('shell');
  if (!missing.length && !reach) return;
  const why = missing.length
    ? `it needs ${missing.map(runtimePhrase).join(' and ')}, which the agent may not run (allowed: ${saver.allowedRuntimes.join(', ') || 'none'})`
    : `its http requests run with the reach of agent ${agent.name}, internal addresses included, which only an agent that may run shell commands may reach`;
  throw new DomainError(
    'RUNTIME_NOT_ALLOWED',
    `agent ${saver.name} may not save this tree as workflow ${name}: ${why}. A saved version runs where it is picked next (a follow_latest schedule of ${name} runs it by itself), so saving one takes what running it does`,
    { workflow: name, agent: saver.name, missing_runtimes: missing.length ? missing : ['shell'] },
  );
}

/**
 * Refuses (RUNTIME_NOT_ALLOWED, 400) a caller without shell asking for a
 * schedule's fires (a trigger, a backfill, a change that may make it fire)
 * when those fires may reach internal addresses: a fire acts for the
 * schedule's creator (its acting agent) under the workflow's agent, so its
 * `http` requests reach internal addresses when both may run shell. The caller
 * picks the timing and the volume of those requests, so it must be allowed
 * whatever reach they will have: shell, whenever the version a fire would
 * run makes http requests (its recorded runtimes name `http`).
 */
export function requireScheduleReach(
  caller: TAgentRuntimes,
  workflow: { name: string; version: number; requiredRuntimes: readonly string[] },
  fire: { agent: TAgentRuntimes; creator: TAgentRuntimes | null },
  doing: string,
): void {
  if (caller.allowedRuntimes.includes('shell') || !workflow.requiredRuntimes.includes('http')) return;
  if (!mayReachInternalAddresses(fire.agent, { actingAgent: fire.creator, plannedBy: null })) return;
  const ref = `${workflow.name}@${workflow.version}`;
  const whose = fire.creator ? `agent ${fire.creator.name} (the schedule's creator)` : `agent ${fire.agent.name} (the workflow's agent)`;
  throw new DomainError(
    'RUNTIME_NOT_ALLOWED',
    `agent ${caller.name} may not ${doing} workflow ${ref}: its fires make http requests with the reach of ${whose}, internal addresses included, which only an agent that may run shell commands may reach`,
    { workflow: ref, agent: caller.name, missing_runtimes: ['shell'] },
  );
}

/**
 * Why a schedule's fire may not run `workflow` (the version it picked: the
 * pinned one, or with follow_latest the newest), or undefined when it may.
 * The fire acts for the agent that created the schedule: it needs the
 * version's runtimes now, not only at creation. A schedule made before its
 * creator was recorded has no agent to ask; it may run what the version it
 * was checked against at creation (`pinned`) needed, and nothing more.
 */
export function fireRefusal(
  workflow: { name: string; version: number; requiredRuntimes: readonly string[] },
  creator: TAgentRuntimes | null,
  pinned: { version: number; requiredRuntimes: readonly string[] },
): string | undefined {
  const what = `workflow ${workflow.name} v${workflow.version}`;
  if (creator) {
    const missing = missingRuntimes(workflow.requiredRuntimes, creator.allowedRuntimes);
    if (missing.length) return `${what} needs ${missing.map(runtimePhrase).join(' and ')}, which agent ${creator.name} (the schedule's creator) may not run`;
    return undefined;
  }
  const missing = missingRuntimes(workflow.requiredRuntimes, pinned.requiredRuntimes);
  if (missing.length) return `${what} needs ${missing.map(runtimePhrase).join(' and ')}, which v${pinned.version} (checked when the schedule was created) did not, and the schedule records no creating agent to check`;
  return undefined;
}

/** The internal host a URL's text alone shows (lib/internalAddresses `literalInternalHost`), or undefined. */
export type TInternalHostOf = (url: string) => string | undefined;

/**
 * The `http` leaves of a plan's own tree (references not followed) whose URL
 * text alone shows an internal address (`internalHost`), with their paths. Reaching one is the `shell`
 * privilege; what a host name resolves to is known only when the request is
 * made, so the worker's address guard (activities/addressGuard.ts) stays the
 * decisive check: this one only refuses early what is certain.
 */
export function literalInternalTargets(plan: TPlan | null | undefined, internalHost: TInternalHostOf, at = ''): { path: string; host: string }[] {
  const found: { path: string; host: string }[] = [];
  (plan?.children ?? []).forEach((child, i) => {
    const path = `${at}children[${i}]`;
    if (child.kind === 'leaf') {
      const host = child.action.runtime === 'http' ? internalHost(child.action.url) : undefined;
      if (host !== undefined) found.push({ path: `${path}.action.url`, host });
    } else {
      found.push(...literalInternalTargets(child.plan, internalHost, `${path}.plan.`));
    }
  });
  return found;
}

/** Why an agent may not have a frozen tree's requests made for it (they reach internal addresses it may not), or undefined. */
export function internalAddressRefusal(agent: TAgentRuntimes, frozen: TFrozenPlan, internalHost: TInternalHostOf): { path: string; host: string; message: string } | undefined {
  if (agent.allowedRuntimes.includes('shell')) return undefined;
  const [first] = literalInternalTargets(frozen.root.plan, internalHost);
  if (!first) return undefined;
  return { ...first, message: `its request at ${first.path} reaches ${first.host}, an internal address, which only an agent that may run shell commands may reach` };
}

/**
 * Refuses (RUNTIME_NOT_ALLOWED, 400) a submitted plan (POST /goals/{id}/plan)
 * whose own tree has an `http` leaf aimed at a literal internal address when
 * the submitting agent may not run shell: its leaves act for it (goals'
 * `planned_by_agent_id`), so the leaf would be refused anyway; this says so
 * up front. Host names are judged only when the request is made.
 */
export function requirePlanInternalAddressPrivilege(agent: TAgentRuntimes, plan: TPlan, internalHost: TInternalHostOf): void {
  if (agent.allowedRuntimes.includes('shell')) return;
  const [first] = literalInternalTargets(plan, internalHost);
  if (!first) return;
  throw new DomainError(
    'RUNTIME_NOT_ALLOWED',
    `${first.path}: agent ${agent.name} may not submit this plan: its request reaches ${first.host}, an internal address, which only an agent that may run shell commands may reach`,
    { agent: agent.name, missing_runtimes: ['shell'], path: first.path },
  );
}

/**
 * Refuses (RUNTIME_NOT_ALLOWED, 400) a workflow whose own tree has an `http`
 * leaf aimed at a literal internal address when `agent` may not run shell.
 */
export function requireInternalAddressPrivilege(
  agent: { name: string; allowedRuntimes: readonly string[] },
  workflow: { name: string; version: number; frozenPlan: TFrozenPlan },
  doing: string,
  internalHost: TInternalHostOf,
): void {
  const refusal = internalAddressRefusal(agent, workflow.frozenPlan, internalHost);
  if (!refusal) return;
  const ref = `${workflow.name}@${workflow.version}`;
  throw new DomainError('RUNTIME_NOT_ALLOWED', `agent ${agent.name} may not ${doing} workflow ${ref}: ${refusal.message}`, {
    workflow: ref,
    agent: agent.name,
    missing_runtimes: ['shell'],
    path: refusal.path,
  });
}

/**
 * Who planned the goals of a saved version where an agent other than the
 * workflow's own did (review r6 #2): key path (`''` for the saved goal,
 * `a/b` below it) → agent id. Taken from the tree at save, written back onto
 * the goals a run makes (goals' `planned_by_agent_id`), so a planted leaf
 * keeps needing its planner's runtimes (`leafRefusal`, `mayReachInternalAddresses`)
 * whoever runs the version: without it, saving a tree would launder a request
 * planted by an agent without shell into a shell agent's reach.
 */
export type TPlanners = Record<string, string>;

/** A goal's key in TPlanners: its keys from the saved goal down (plan keys never hold '/'). */
export function plannerKey(keys: readonly string[]): string {
  return keys.join('/');
}

const ZPlanners = z.record(z.string(), z.string());

/** A stored planners map, read. Undefined when it does not read: the caller refuses to run rather than drop a planner. */
export function readPlanners(stored: unknown): TPlanners | undefined {
  const parsed = ZPlanners.safeParse(stored ?? {});
  return parsed.success ? parsed.data : undefined;
}
