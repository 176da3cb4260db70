import { readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * The workflow sandbox boundary (STYLE rule 1), enforced rather than
 * remembered: everything src/workflows imports as a value, transitively, is
 * deterministic code. Type-only imports are free (they vanish at compile time).
 */

const root = path.resolve(__dirname, '../..');
/** Packages workflow code may import as values. */
const ALLOWED_PACKAGES = new Set(['@temporalio/workflow', '@temporalio/common', '@marcbachmann/cel-js']);
/** Our own directories whose modules may be imported as values (then checked in turn). */
const ALLOWED_DIRS = ['src/workflows/', 'src/domain/'];
/** Domain modules that do I/O or pull in heavy dependencies: never in the sandbox. */
const FORBIDDEN_FILES = ['src/domain/ids.ts', 'src/domain/planRows.ts', 'src/domain/zod.ts', 'src/domain/plans.ts', 'src/domain/actions.ts'];

function valueImports(file: string): string[] {
  const source = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of source.matchAll(/^(?:import|export)\s+(type\s+)?([^;]*?)\s+from\s+'([^']+)';/gms)) {
    if (m[1]) continue; // import type { … }
    const names = m[2] ?? '';
    // `import { type A, type B }` only: type-only as well.
    if (/^\{[^}]*\}$/.test(names.trim()) && names.replace(/[{}\s]/g, '').split(',').every((n) => n.startsWith('type'))) continue;
    out.push(m[3] as string);
  }
  return out;
}

function resolveLocal(from: string, spec: string): string {
  const base = path.resolve(path.dirname(from), spec);
  for (const candidate of [`${base}.ts`, path.join(base, 'index.ts')]) {
    try {
      readFileSync(candidate);
      return candidate;
    } catch {
      // try the next
    }
  }
  throw new Error(`cannot resolve ${spec} from ${from}`);
}

describe('workflow sandbox boundary', () => {
  it('src/workflows reaches only deterministic modules as values', () => {
    const problems: string[] = [];
    const seen = new Set<string>();
    const queue = [path.join(root, 'src/workflows/index.ts')];
    while (queue.length) {
      const file = queue.pop() as string;
      if (seen.has(file)) continue;
      seen.add(file);
      const rel = path.relative(root, file);
      for (const spec of valueImports(file)) {
        if (!spec.startsWith('.')) {
          if (![...ALLOWED_PACKAGES].some((p) => spec === p || spec.startsWith(`${p}/`))) problems.push(`${rel} imports ${spec}`);
          continue;
        }
        const target = path.relative(root, resolveLocal(file, spec));
        if (!ALLOWED_DIRS.some((d) => target.startsWith(d)) || FORBIDDEN_FILES.includes(target)) {
          problems.push(`${rel} imports ${target} as a value`);
          continue;
        }
        queue.push(path.join(root, target));
      }
    }
    expect(problems).toEqual([]);
    expect([...seen].map((f) => path.relative(root, f))).toContain('src/domain/graph.ts');
  });
});
