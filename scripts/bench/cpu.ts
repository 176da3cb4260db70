// Where a timed batch's CPU went, by process, read from /proc around it (Linux
// only; elsewhere nothing is measured). A group is a process and its
// descendants; each counts its own CPU (all its threads) and what its
// children used once it reaped them, so a Postgres backend that came and went
// is in Postgres's figure, and a leaf's command in its worker's (bare
// Temporal's worker forks and reaps them) or its helper's. What no process
// named here reaped (our commands' watchdogs, which outlive their launcher),
// the kernel and anything else running are `rest`: the machine's total less
// the groups.
import { readdirSync, readFileSync } from 'node:fs';

/** The process trees a batch is measured by: its own worker, the API for Reprise, and the services both share. */
export interface TCpuProcesses {
  worker: number;
  api?: number;
  postgres: number;
  temporal: number;
}

export const CPU_GROUPS = ['worker', 'commands', 'temporal', 'postgres', 'api', 'callers', 'rest'] as const;
export type TCpuGroup = (typeof CPU_GROUPS)[number];
/** CPU milliseconds by group and the machine's total, for `requests` requests (throughput: runs) over `windowMs` measured. */
export type TCpuUse = Record<TCpuGroup | 'total', number> & { requests: number; windowMs: number };

interface TProc {
  pid: number;
  ppid: number;
  /** When it started (ticks after boot): with the pid, names one process even when pids are reused. */
  key: string;
  /** Own CPU and reaped children's, ms. */
  ms: number;
}

/** Linux's USER_HZ, the unit of /proc's times, is 100 on every architecture Node runs on. */
const TICK_MS = 10;

/** The machine's busy CPU so far (user, nice, system, irq, softirq), ms. */
export function machineMs(): number {
  const fields = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0] = fields;
  return (user + nice + system + irq + softirq) * TICK_MS;
}

function readProc(pid: number): TProc | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = stat.lastIndexOf(')');
    // After the name: state, ppid, …; utime, stime, cutime, cstime are fields 14-17 of the whole line, starttime 22.
    const rest = stat.slice(close + 2).split(' ');
    const n = (i: number): number => Number(rest[i - 3] ?? 0);
    return { pid, ppid: n(4), key: `${pid}:${rest[19]}`, ms: (n(14) + n(15) + n(16) + n(17)) * TICK_MS };
  } catch {
    return undefined;
  }
}

function allProcs(): TProc[] {
  const out: TProc[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const p = readProc(Number(name));
    if (p) out.push(p);
  }
  return out;
}

interface TSnapshot {
  at: number;
  machine: number;
  callers: number;
  /** Every process of a group by key, and every process's parent key (for those that vanish). */
  counted: Map<string, { group: TCpuGroup; ms: number }>;
  parentOf: Map<string, string>;
  alive: Set<string>;
}

/** Reads every process once and puts each process tree named in `of` in its group. */
function snapshot(of: TCpuProcesses): TSnapshot {
  const procs = allProcs();
  const byPid = new Map(procs.map((p) => [p.pid, p]));
  const children = new Map<number, number[]>();
  for (const p of procs) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p.pid]);
  const groupOf = new Map<number, TCpuGroup>();
  const tree = (pid: number | undefined, root: TCpuGroup, below: TCpuGroup): void => {
    if (pid === undefined || !byPid.has(pid)) return;
    groupOf.set(pid, root);
    const queue = [...(children.get(pid) ?? [])];
    while (queue.length) {
      const child = queue.shift() as number;
      if (groupOf.has(child)) continue;
      groupOf.set(child, below);
      queue.push(...(children.get(child) ?? []));
    }
  };
  tree(of.worker, 'worker', 'commands');
  tree(of.api, 'api', 'api');
  tree(of.postgres, 'postgres', 'postgres');
  tree(of.temporal, 'temporal', 'temporal');
  const counted = new Map<string, { group: TCpuGroup; ms: number }>();
  const parentOf = new Map<string, string>();
  for (const p of procs) {
    const parent = byPid.get(p.ppid);
    if (parent) parentOf.set(p.key, parent.key);
    const group = groupOf.get(p.pid);
    if (group) counted.set(p.key, { group, ms: p.ms });
  }
  const own = process.cpuUsage();
  return { at: performance.now(), machine: machineMs(), callers: (own.user + own.system) / 1000, counted, parentOf, alive: new Set(procs.map((p) => p.key)) };
}

/**
 * Starts measuring: the returned function reads /proc again and gives the
 * CPU each group used since, for the `requests` made meanwhile (undefined off Linux).
 */
export function measureCpu(of: TCpuProcesses): (requests: number) => TCpuUse | undefined {
  let start: TSnapshot;
  try {
    start = snapshot(of);
  } catch {
    return () => undefined;
  }
  return (requests) => {
    const end = snapshot(of);
    const use: TCpuUse = { ...(Object.fromEntries([...CPU_GROUPS, 'total'].map((g) => [g, 0])) as Record<TCpuGroup | 'total', number>), requests, windowMs: end.at - start.at };
    // Processes there at the end: what they used since the start (one that appeared meanwhile, from zero).
    for (const [key, now] of end.counted) use[now.group] += now.ms - (start.counted.get(key)?.ms ?? 0);
    // One gone meanwhile was reaped by its parent (or its parent's parent, gone too): the nearest ancestor
    // still there now holds its whole life among its children's CPU, so what it had used before is taken back
    // there. One reaped by a process outside every group (init) is in `rest`, and nothing is taken back.
    for (const [key, before] of start.counted) {
      if (end.alive.has(key)) continue;
      let ancestor = start.parentOf.get(key);
      while (ancestor !== undefined && !end.alive.has(ancestor)) ancestor = start.parentOf.get(ancestor);
      const holder = ancestor === undefined ? undefined : end.counted.get(ancestor);
      if (holder) use[holder.group] -= before.ms;
    }
    use.callers = end.callers - start.callers;
    use.total = end.machine - start.machine;
    use.rest = use.total - CPU_GROUPS.filter((g) => g !== 'rest').reduce((sum, g) => sum + use[g], 0);
    return use;
  };
}

/** Sums measurements (undefined ones are skipped; undefined when none was taken). */
export function sumCpu(all: (TCpuUse | undefined)[]): TCpuUse | undefined {
  const taken = all.filter((u): u is TCpuUse => u !== undefined);
  if (!taken.length) return undefined;
  const sum = Object.fromEntries([...CPU_GROUPS, 'total', 'requests', 'windowMs'].map((g) => [g, 0])) as TCpuUse;
  for (const u of taken) for (const k of Object.keys(sum) as (keyof TCpuUse)[]) sum[k] += u[k];
  return sum;
}
