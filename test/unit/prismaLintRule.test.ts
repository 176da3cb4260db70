/**
 * `reprise/prisma-calls-only-in-db` (eslint.config.mjs) decides by types:
 * every known way around it in a service is reported, and the ordinary
 * code around a Prisma client is not.
 *
 * Type-aware linting needs files the TypeScript project includes, so the
 * probes are written to a temporary folder under src/services (ignored by git,
 * removed afterwards) and linted there with the project's own config, only
 * this rule switched on. ESLint runs in a child node process: its config is
 * an ES module, which jest's module sandbox cannot import.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { ESLint } from 'eslint';

const ROOT = path.resolve(__dirname, '../..');
const RULE = 'reprise/prisma-calls-only-in-db';
/** Per process, so two runs never share a folder; `src/services/__lintprobe__*` is in .gitignore. */
const PROBE_DIR = path.join(ROOT, 'src/services', `__lintprobe__${process.pid}`);

const HEADER = `import { inTransaction, type Prisma, type PrismaClient, type TDb } from '../../db/client';
import { findRun } from '../../db/runs';
import type { Client } from '@temporalio/client';
export type TUsed = [typeof inTransaction, Prisma.GoalDelegate, PrismaClient, TDb, typeof findRun, Client];
`;

/** Each must be reported (at least once). */
const BYPASSES: Record<string, string> = {
  dotted: `export const f = (prisma: PrismaClient) => prisma.goal;`,
  transactionClient: `export const f = (prisma: PrismaClient) => inTransaction(prisma, (tx) => tx.run.findMany());`,
  queryRawUnsafe: `export const f = (prisma: PrismaClient) => prisma.$queryRawUnsafe('SELECT 1');`,
  executeRaw: `export const f = (db: TDb) => db.$executeRaw\`SELECT 1\`;`,
  transaction: `export const f = (prisma: PrismaClient) => prisma.$transaction([]);`,
  extends: `export const f = (prisma: PrismaClient) => prisma.$extends({});`,
  computedLiteral: `export const f = (prisma: PrismaClient) => prisma['goal'];`,
  computedKey: `export const f = (prisma: PrismaClient, key: 'goal' | 'run') => prisma[key];`,
  computedLifecycleByValue: `export const f = (prisma: PrismaClient, key: '$connect' | '$queryRawUnsafe') => prisma[key];`,
  destructure: `export function f(prisma: PrismaClient) { const { goal } = prisma; return goal; }`,
  destructureRenamed: `export function f(prisma: PrismaClient) { const { $queryRawUnsafe: q } = prisma; return q; }`,
  destructureRest: `export function f(prisma: PrismaClient) { const { $connect, ...rest } = prisma; return [$connect, rest]; }`,
  destructureParameter: `export function f({ goal }: PrismaClient) { return goal; }`,
  destructureAssignment: `export function f(prisma: PrismaClient) { let goal; ({ goal } = prisma); return goal; }`,
  destructureNested: `export function f(deps: { prisma: TDb }) { const { prisma: { run } } = deps; return run; }`,
  structuralHelper: `export const f = (p: { goal: Prisma.GoalDelegate }) => p.goal.findMany();`,
  delegateParameter: `export const f = (goals: Prisma.GoalDelegate) => goals.findMany();`,
  delegateComputed: `export const f = (goals: Prisma.GoalDelegate) => goals['count']();`,
  genericHelper: `export const f = <T extends { goal: Prisma.GoalDelegate }>(p: T) => p.goal.findMany();`,
  pickedClient: `export const f = (p: Pick<PrismaClient, 'goal'>) => p.goal;`,
  readonlyClient: `export const f = (p: Readonly<TDb>, key: 'run') => p[key];`,
  extendedClient: `export function f(prisma: PrismaClient) { const x = prisma.$extends({}); return x.goal.findMany(); }`,
  spreadCopy: `export const f = (prisma: PrismaClient) => ({ ...prisma }).$queryRawUnsafe('SELECT 1');`,
  throughDeps: `export const f = (deps: { prisma: PrismaClient }) => deps.prisma.user.count();`,
  optionalChain: `export const f = (deps?: { prisma?: TDb }) => deps?.prisma?.goal;`,
  reflectGet: `export const f = (prisma: PrismaClient) => Reflect.get(prisma, 'goal');`,
  reflectApply: `export const f = (q: PrismaClient['$queryRawUnsafe'], prisma: PrismaClient) => Reflect.apply(q, prisma, ['SELECT 1']);`,
  objectValues: `export const f = (db: TDb) => Object.values(db);`,
  castToAny: `// eslint-disable-next-line @typescript-eslint/no-explicit-any\nexport const f = (prisma: PrismaClient) => (prisma as any).goal;`,
  castToUnknown: `export const f = (prisma: PrismaClient) => prisma as unknown as Record<string, { findMany(): unknown }>;`,
  annotatedAsUnknown: `export function f(prisma: PrismaClient) { const p: unknown = prisma; return p; }`,
};

/** Each must pass untouched. */
const LEGITIMATE: Record<string, string> = {
  lifecycle: `export const f = async (prisma: PrismaClient) => { await prisma.$connect(); await prisma.$disconnect(); };`,
  lifecycleComputed: `export const f = (prisma: PrismaClient) => prisma['$disconnect']();`,
  lifecycleDestructured: `export function f(prisma: PrismaClient) { const { $disconnect }: PrismaClient = prisma; return $disconnect; }`,
  prismaTypedAlias: `export function f(prisma: PrismaClient) { const db: TDb = prisma; const same = prisma as PrismaClient; return [db, same]; }`,
  namedQueries: `export const f = (prisma: PrismaClient) => inTransaction(prisma, (tx) => findRun(tx, 'r1'));`,
  passedAlong: `export function f(deps: { prisma: PrismaClient; temporal: Client }) { const { prisma, temporal } = deps; const db: TDb = prisma; return [db, temporal, deps.prisma]; }`,
  temporalSchedule: `export const f = (temporal: Client) => temporal.schedule.getHandle('s1');`,
  rowRelation: `export const f = (run: Prisma.RunGetPayload<{ include: { savedWorkflow: true } }>) => run.savedWorkflow.name + run.savedWorkflowId;`,
  plainObjectGoal: `export function f() { const o = { goal: 1, run: { findMany: () => 2 } }; const { goal } = o; return goal + o['goal'] + o.run.findMany() + Reflect.get(o, 'goal'); }`,
  maps: `export const f = (m: Map<string, number>, key: string) => [m.get(key), Object.keys({ goal: 1 }), [1, 2].map((n) => n * 2)];`,
};

/**
 * Lints argv's files with the project's config (eslint.config.mjs), only the
 * rule named first switched on. The TypeScript program is the probes' own
 * tsconfig (the project's options, the probes and what they import) rather
 * than the whole project's: seconds instead of a full type-check.
 */
const LINT = `
import { ESLint } from 'eslint';
const [rule, tsconfig, ...files] = process.argv.slice(1);
const eslint = new ESLint({
  cwd: process.cwd(),
  ruleFilter: ({ ruleId }) => ruleId === rule,
  overrideConfig: { files: ['**/*.ts'], languageOptions: { parserOptions: { projectService: false, project: tsconfig } } },
});
process.stdout.write(JSON.stringify(await eslint.lintFiles(files)));
`;

let results: Map<string, ESLint.LintResult>;

beforeAll(async () => {
  rmSync(PROBE_DIR, { recursive: true, force: true });
  mkdirSync(PROBE_DIR, { recursive: true });
  const files = Object.entries({ ...BYPASSES, ...LEGITIMATE }).map(([name, body]) => {
    const file = path.join(PROBE_DIR, `${name}.ts`);
    writeFileSync(file, `${HEADER}${body}\n`);
    return file;
  });
  // Every file is on disk before the first lint, so one program holds them all.
  const tsconfig = path.join(PROBE_DIR, 'tsconfig.probes.json');
  writeFileSync(tsconfig, JSON.stringify({ extends: '../../../tsconfig.json', include: ['*.ts'] }));
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', LINT, RULE, tsconfig, ...files], { cwd: ROOT, maxBuffer: 16 << 20 });
  const linted = JSON.parse(stdout) as ESLint.LintResult[];
  results = new Map(linted.map((r) => [path.basename(r.filePath, '.ts'), r]));
}, 120_000);

afterAll(() => {
  rmSync(PROBE_DIR, { recursive: true, force: true });
});

function messagesOf(name: string): string[] {
  const result = results.get(name);
  if (!result) throw new Error(`probe ${name} was not linted`);
  const fatal = result.messages.filter((m) => m.fatal || !m.ruleId);
  if (fatal.length) throw new Error(`probe ${name} did not lint: ${fatal.map((m) => m.message).join('; ')}`);
  return result.messages.filter((m) => m.ruleId === RULE).map((m) => `${m.line}:${m.column} ${m.message}`);
}

describe(RULE, () => {
  it.each(Object.keys(BYPASSES))('reports the bypass %s', (name) => {
    expect(messagesOf(name).length).toBeGreaterThan(0);
  });

  it.each(Object.keys(LEGITIMATE))('leaves %s alone', (name) => {
    expect(messagesOf(name)).toEqual([]);
  });
});
