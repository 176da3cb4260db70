import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/**
 * The workflow sandbox boundary (STYLE rule 1), enforced rather than
 * remembered: everything src/workflows reaches as a value, transitively, is
 * deterministic code. The lint rule in eslint.config.mjs checks each
 * workflow file's direct imports; this test follows the whole graph, with
 * TypeScript's own parser, so `import 'x'`, `export … from`, `require()` and
 * `import()` are all seen. Type-only imports are free (they vanish at compile time).
 */

const root = path.resolve(__dirname, '../..');
/** Packages workflow code may reach as values. */
const ALLOWED_PACKAGES = ['@temporalio/workflow', '@temporalio/common', '@marcbachmann/cel-js'];
/** Our own modules that may be reached as values (then checked in turn). */
const ALLOWED = [/^src\/workflows\//, /^src\/domain\//, /^src\/temporal\/starts\.ts$/];
/** Domain modules that do I/O or pull in heavy dependencies: never in the sandbox. */
const FORBIDDEN = ['src/domain/ids.ts', 'src/domain/zod.ts', 'src/domain/plans.ts', 'src/domain/actions.ts', 'src/domain/cursor.ts'];

/** Module specifiers a file loads at run time: every import/export/require that is not type-only. */
export function valueImports(fileName: string, source: string): string[] {
  const file = ts.createSourceFile(fileName, source, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const out: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.importClause;
      const typeOnly =
        clause !== undefined &&
        (clause.isTypeOnly ||
          (clause.name === undefined &&
            clause.namedBindings !== undefined &&
            ts.isNamedImports(clause.namedBindings) &&
            clause.namedBindings.elements.length > 0 &&
            clause.namedBindings.elements.every((e) => e.isTypeOnly)));
      if (!typeOnly) out.push(node.moduleSpecifier.text);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      if (!node.isTypeOnly) out.push(node.moduleSpecifier.text);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference) && ts.isStringLiteral(node.moduleReference.expression)) {
      if (!node.isTypeOnly) out.push(node.moduleReference.expression.text);
    } else if (
      ts.isCallExpression(node) &&
      (node.expression.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(node.expression) && node.expression.text === 'require')) &&
      node.arguments[0] !== undefined
    ) {
      const arg = node.arguments[0];
      out.push(ts.isStringLiteral(arg) ? arg.text : '<computed module name>');
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return out;
}

function resolveLocal(from: string, spec: string): string {
  const base = path.resolve(path.dirname(from), spec);
  const found = [`${base}.ts`, path.join(base, 'index.ts')].find((candidate) => existsSync(candidate));
  if (!found) throw new Error(`cannot resolve ${spec} from ${from}`);
  return found;
}

function boundaryProblems(entry: string): { problems: string[]; reached: string[] } {
  const problems: string[] = [];
  const seen = new Set<string>();
  const queue = [entry];
  while (queue.length) {
    const file = queue.pop() as string;
    if (seen.has(file)) continue;
    seen.add(file);
    const rel = path.relative(root, file);
    for (const spec of valueImports(file, readFileSync(file, 'utf8'))) {
      if (!spec.startsWith('.')) {
        if (!ALLOWED_PACKAGES.some((p) => spec === p || spec.startsWith(`${p}/`))) problems.push(`${rel} imports ${spec}`);
        continue;
      }
      const target = path.relative(root, resolveLocal(file, spec));
      if (!ALLOWED.some((pattern) => pattern.test(target)) || FORBIDDEN.includes(target)) {
        problems.push(`${rel} imports ${target} as a value`);
        continue;
      }
      queue.push(path.join(root, target));
    }
  }
  return { problems, reached: [...seen].map((f) => path.relative(root, f)) };
}

describe('workflow sandbox boundary', () => {
  it('src/workflows reaches only deterministic modules as values', () => {
    const { problems, reached } = boundaryProblems(path.join(root, 'src/workflows/index.ts'));
    expect(problems).toEqual([]);
    expect(reached).toEqual(expect.arrayContaining(['src/domain/graph.ts', 'src/temporal/starts.ts', 'src/workflows/pursueGoal.ts', 'src/workflows/performRun.ts', 'src/workflows/fireSchedule.ts']));
  });

  it('sees every form of value import, and lets type-only ones through', () => {
    const source = [
      "import 'node:fs';",
      "import type { A } from './typeOnly';",
      "import { type B, type C } from './allTypes';",
      "import { type D, e } from './mixed';",
      "export * from './reexported';",
      "export type { F } from './typeReexport';",
      "const cp = require('node:child_process');",
      "void import('./dynamic');",
      "import x = require('./importEquals');",
    ].join('\n');
    expect(valueImports('probe.ts', source)).toEqual(['node:fs', './mixed', './reexported', 'node:child_process', './dynamic', './importEquals']);
  });
});
