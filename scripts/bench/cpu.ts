// Where a timed batch's CPU went, by process, read from /proc around it (Linux
// only; elsewhere nothing is measured). Each process counts its own CPU (all
// its threads) and what its children used once it reaped them, so a
// Postgres backend that came and went is in Postgres's figure, a leaf's
// command in its worker's (bare Temporal's worker forks and reaps them) or in
// the helper's, which the worker forked. What no process named here reaped
// (our commands' watchdogs, whatever else ran) is the machine's total less
// theirs: `rest`.
import { readdirSync, readFileSync } from 'node:fs';

/** The processes a batch is measured by: its own worker's pid, and the API's for Reprise. */
export interface TCpuProcesses {
  worker: number;
  api?: number;
}

export const CPU_GROUPS = ['worker', 'commands', 'temporal', 'postgres', 'api', 'callers', 'rest'] as const;
export type TCpuGroup = (typeof CPU_GROUPS)[number];
/** CPU milliseconds by group, and the machine's total (the groups sum to it). */
export type TCpuUse = Record<TCpuGroup | 'total', number>;

interface TProc {
  pid: number;
  ppid: number;
  comm: string;
  /** Own CPU and reaped children's, ms. */
  ms: number;
}

const TICK_MS = 10;

/** The machine's busy CPU so far (user, nice, system, irq, softirq), ms. */
function machineMs(): number {
  const fields = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0] = fields;
  return (user + nice + system + irq + softirq) * TICK_MS;
}

function readProc(pid: number): TProc | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    // After the name: state, ppid, …; utime, stime, cutime, cstime are fields 14-17 of the whole line.
    const rest = stat.slice(close + 2).split(' ');
    const n = (i: number): number => Number(rest[i - 3] ?? 0);
    return { pid, ppid: n(4), comm, ms: (n(14) + n(15) + n(16) + n(17)) * TICK_MS };
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

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '';
  }
}

interface TSnapshot {
  at: number;
  machine: number;
  callers: number;
  byGroup: Map<TCpuGroup, number>;
  /** Every process counted in a group, so one that appears later starts from zero. */
  seen: Map<number, { group: TCpuGroup; ms: number }>;
}

/** Reads every process once and adds each to its group. */
function snapshot(of: TCpuProcesses): TSnapshot {
  const procs = allProcs();
  const children = new Map<number, number[]>();
  for (const p of procs) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p.pid]);
  const groupOf = new Map<number, TCpuGroup>();
  groupOf.set(of.worker, 'worker');
  if (of.api !== undefined) groupOf.set(of.api, 'api');
  // The worker's children (Reprise's spawner helper, bare Temporal's commands in flight) and theirs.
  const queue = [...(children.get(of.worker) ?? [])];
  while (queue.length) {
    const pid = queue.shift() as number;
    groupOf.set(pid, 'commands');
    queue.push(...(children.get(pid) ?? []));
  }
  for (const p of procs) {
    if (groupOf.has(p.pid)) continue;
    if (p.comm === 'postgres') groupOf.set(p.pid, 'postgres');
    else if (/\bstart-dev\b/.test(cmdline(p.pid)) && /temporal/.test(cmdline(p.pid))) groupOf.set(p.pid, 'temporal');
  }
  const seen = new Map<number, { group: TCpuGroup; ms: number }>();
  const byGroup = new Map<TCpuGroup, number>();
  for (const p of procs) {
    const group = groupOf.get(p.pid);
    if (!group) continue;
    seen.set(p.pid, { group, ms: p.ms });
    byGroup.set(group, (byGroup.get(group) ?? 0) + p.ms);
  }
  const own = process.cpuUsage();
  return { at: performance.now(), machine: machineMs(), callers: (own.user + own.system) / 1000, byGroup, seen };
}

/**
 * Starts measuring: the returned function reads /proc again and gives the
 * CPU each group used since (undefined off Linux).
 */
export function measureCpu(of: TCpuProcesses): () => TCpuUse | undefined {
  let start: TSnapshot;
  try {
    start = snapshot(of);
  } catch {
    return () => undefined;
  }
  return () => {
    const end = snapshot(of);
    const use = Object.fromEntries(CPU_GROUPS.map((g) => [g, 0])) as TCpuUse;
    // One gone meanwhile was reaped by its parent (a Postgres backend by the postmaster, a command by its worker or
    // helper), whose children's CPU now holds its whole life: take back what it had used before.
    for (const [pid, before] of start.seen) if (!end.seen.has(pid)) use[before.group] -= before.ms;
    for (const [pid, now] of end.seen) {
      const before = start.seen.get(pid);
      // A pid reused by another process, or one that appeared meanwhile, counts from zero.
      const from = before && before.group === now.group && before.ms <= now.ms ? before.ms : 0;
      use[now.group] += now.ms - from;
    }
    for (const g of CPU_GROUPS) use[g] = Math.max(0, use[g]);
    use.callers = end.callers - start.callers;
    use.total = end.machine - start.machine;
    use.rest = Math.max(0, use.total - CPU_GROUPS.filter((g) => g !== 'rest').reduce((sum, g) => sum + use[g], 0));
    return use;
  };
}

/** Sums measurements (undefined ones are skipped; undefined when none was taken). */
export function sumCpu(all: (TCpuUse | undefined)[]): TCpuUse | undefined {
  const taken = all.filter((u): u is TCpuUse => u !== undefined);
  if (!taken.length) return undefined;
  const sum = Object.fromEntries([...CPU_GROUPS, 'total'].map((g) => [g, 0])) as TCpuUse;
  for (const u of taken) for (const k of Object.keys(sum) as (keyof TCpuUse)[]) sum[k] += u[k];
  return sum;
}
