// ESLint flat config: typescript-eslint (type-aware) plus the project's
// architectural boundaries, enforced rather than remembered:
//   - workflow code (src/workflows) reaches only deterministic modules as values;
//   - domain code (src/domain) stays pure;
//   - Prisma (generated client, @prisma/*) is used only under src/db, imported
//     or called (no `prisma.<model>`, `$queryRaw`, `$transaction` elsewhere);
//   - no import cycles inside src.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { importX, createNodeResolver } from 'eslint-plugin-import-x';

const TS_FILES = ['src/**/*.ts', 'test/**/*.ts', 'scripts/**/*.ts', 'web/**/*.ts', 'web/**/*.tsx'];

/** Prisma outside src/db: refused, type-only imports included. */
const PRISMA_ONLY_IN_DB = {
  regex: '(^|/)generated/prisma(/|$)|^@prisma/',
  message: 'Prisma (generated client, @prisma/*) is used only under src/db: go through a db or service function instead.',
};

/** src/domain is pure: no I/O layers, no Temporal client/worker, no servers. */
const DOMAIN_PURE = [
  {
    regex: '^(\\.\\./)+(db|services|api|activities|temporal)(/|$)|^(\\.\\./)+generated/(?!prisma(/|$))',
    message: 'src/domain is pure: it must not import db, services, api, activities, temporal or generated code.',
  },
  {
    regex: '^@temporalio/(client|worker|activity)(/|$)|^(express|pg)(/|$)|^(node:)?(fs|fs/promises|child_process|net|http|https)$',
    message: 'src/domain is pure: no Temporal client/worker/activity, express, pg, or fs/child_process/net/http.',
  },
];

/**
 * src/workflows runs in Temporal's deterministic sandbox. As values it may
 * import only: @temporalio/workflow, @temporalio/common, modules inside
 * src/workflows, pure domain modules (domain/x, except ids (node:crypto),
 * zod, and plans/actions/cursor which pull those in) and temporal/starts.
 * Type-only imports are free (they vanish at compile time).
 * activities is matched by its own group; Prisma paths by PRISMA_ONLY_IN_DB
 * (which refuses type imports too, so they must not match an allowTypeImports group).
 * `up` is the way from the file's folder up to src/ ('../' in src/workflows);
 * `inside` matches modules of src/workflows.
 */
const workflowSandbox = (up, inside) => {
  const toSrc = up.replace(/\./g, '\\.');
  return [
    {
      regex: `^${toSrc}activities(/|$)`,
      allowTypeImports: true,
      message: 'Workflows import activities as types only (`import type { TActivities } ...`) and call them through proxyActivities.',
    },
    {
      regex:
        '^(?!@temporalio/(workflow|common)(/|$)' +
        '|@marcbachmann/cel-js$' +
        `|${inside}` +
        `|${toSrc}domain/(?!(ids|zod|plans|actions|cursor)$)[^/]+$` +
        `|${toSrc}temporal/starts$` +
        `|${toSrc}activities(/|$)` +
        '|(.*/)?generated/prisma(/|$)' +
        '|@prisma/)',
      allowTypeImports: true,
      message:
        'Workflow sandbox: value imports only from @temporalio/workflow, @temporalio/common, @marcbachmann/cel-js, src/workflows, pure src/domain modules (not ids, zod, plans, actions, cursor) and src/temporal/starts. Use `import type` for anything else.',
    },
  ];
};
const WORKFLOW_SANDBOX = workflowSandbox('../', '\\./(?!.*\\.\\./)');

/** Activities do I/O through db/ and pure domain/ code: never through use cases (services) or an edge (api, cli, main). */
const ACTIVITIES_BELOW_SERVICES = {
  regex: '^\\.\\./(services|api|cli|main)(/|$)',
  message: 'src/activities import db/, domain/ and temporal/ only, never services/, api/, cli/ or main/: move what they share into db/ or domain/.',
};

/** The web UI talks only to the HTTP API: from src/ it may import the typed client and the generated API types, nothing else. */
const WEB_ONLY_THROUGH_THE_API = {
  regex: '^(\\.\\./)+src/(?!client/http$|generated/api$)',
  message: 'web/ talks only to the HTTP API: import src/client/http (the typed client) or src/generated/api (its types), never server code.',
};

const restrictedImports = (...patterns) => ['error', { patterns }];

/**
 * `reprise/prisma-calls-only-in-db`: outside src/db, nothing reaches into the
 * Prisma client. Decided by TYPES, not names, so an alias, a helper's
 * parameter or a copy is caught as well as `prisma.goal`:
 *   - a Prisma client is PrismaClient or Prisma.TransactionClient as declared
 *     in the generated files, a `$extends` client, a Pick/Omit/Partial/
 *     Required/Readonly of one, or any object type carrying the generated
 *     client's own `$queryRawUnsafe` (a spread copy); unions, intersections
 *     and type parameters count by their parts and constraints;
 *   - a model delegate is a type named `*Delegate` declared in the generated
 *     files (Prisma.GoalDelegate...) or an extended client's model.
 * Reported, outside src/db:
 *   (a) any member access on a client, dotted or computed (`prisma.goal`,
 *       `tx['run']`, `prisma[key]`, `$queryRaw*`, `$executeRaw*`,
 *       `$transaction`, `$extends`), except the lifecycle members
 *       `$connect`/`$disconnect`/`$on`;
 *   (b) destructuring a client (`const { goal } = prisma`, a parameter
 *       pattern, `({ goal } = tx)`), lifecycle members excepted, rest included;
 *   (c) any member access on a delegate (`p.goal.findMany()` where
 *       `p: { goal: Prisma.GoalDelegate }`), and destructuring one;
 *   (d) `Reflect.*` / `Object.*` called with a client or delegate argument
 *       (`Reflect.get(prisma, 'goal')`, `Object.values(tx)`);
 *   (e) erasing the type: `prisma as any`, `<unknown>tx`, or
 *       `const p: any = prisma` (a client or delegate given a non-Prisma type).
 * Not caught: a client widened without a cast or annotation (an argument to
 * an `any`/`unknown` parameter, a return typed so), a method handed out of
 * src/db as a plain function. test/unit/prismaLintRule.test.ts probes it.
 * Services call named queries in src/db (and `inTransaction` to group them)
 * and may pass a client along as an argument. The import rule above only sees
 * import paths. Type lookups happen only on member accesses, patterns, casts,
 * annotated declarators and Reflect/Object calls; a type's verdict is cached.
 */
const PRISMA_GENERATED = /[\\/]generated[\\/]prisma[\\/]/;
const PRISMA_CLIENT_DECLARATION = /[\\/]generated[\\/]prisma[\\/]internal[\\/]class\.ts$/;
const PRISMA_RUNTIME = /[\\/]@prisma[\\/]client[\\/]runtime[\\/]/;
const PRISMA_CLIENT_NAMES = new Set(['PrismaClient', 'DefaultPrismaClient', 'TransactionClient']);
const PRISMA_RUNTIME_KINDS = { DynamicClientExtensionThis: 'client', DynamicModelExtensionThis: 'delegate' };
const PRISMA_LIFECYCLE = new Set(['$connect', '$disconnect', '$on']);
/** Utility types that keep what they wrap a client or a delegate (`Pick<PrismaClient, 'goal'>`). */
const PRISMA_WRAPPERS = new Set(['Pick', 'Omit', 'Partial', 'Required', 'Readonly']);
/** What a type is to Prisma: 'client', 'delegate' or null. Types are interned per program, so a WeakMap caches safely. */
const prismaKindCache = new WeakMap();
const declaredIn = (symbol, pattern) => (symbol?.getDeclarations() ?? []).some((d) => pattern.test(d.getSourceFile().fileName));
function prismaKind(checker, type, depth = 0) {
  if (!type || depth > 4) return null;
  const cached = prismaKindCache.get(type);
  if (cached !== undefined) return cached;
  prismaKindCache.set(type, null); // cycles
  let kind = null;
  for (const symbol of [type.aliasSymbol, type.getSymbol()]) {
    if (!symbol) continue;
    const name = symbol.getName();
    if (declaredIn(symbol, PRISMA_GENERATED)) {
      if (name.endsWith('Delegate')) kind = 'delegate';
      else if (PRISMA_CLIENT_NAMES.has(name)) kind = 'client';
    } else if (PRISMA_RUNTIME_KINDS[name] && declaredIn(symbol, PRISMA_RUNTIME)) {
      kind = PRISMA_RUNTIME_KINDS[name];
    }
    if (kind) break;
  }
  if (!kind && type.isUnionOrIntersection()) {
    for (const part of type.types) {
      kind = prismaKind(checker, part, depth + 1);
      if (kind) break;
    }
  } else if (!kind && (type.isTypeParameter() || type.flags & 8388608) /* IndexedAccess */) {
    kind = prismaKind(checker, checker.getBaseConstraintOfType(type), depth + 1);
  } else if (!kind && PRISMA_WRAPPERS.has(type.aliasSymbol?.getName()) && type.aliasTypeArguments?.length) {
    kind = prismaKind(checker, type.aliasTypeArguments[0], depth + 1);
  }
  // Omit/Pick of the client, a spread copy: still carrying the client's own `$queryRawUnsafe`.
  if (!kind && type.flags & 524288 /* Object */ && declaredIn(checker.getPropertyOfType(type, '$queryRawUnsafe'), PRISMA_CLIENT_DECLARATION)) {
    kind = 'client';
  }
  prismaKindCache.set(type, kind);
  return kind;
}
const repriseRules = {
  rules: {
    'prisma-calls-only-in-db': {
      meta: {
        type: 'problem',
        schema: [],
        messages: {
          query: '`{{name}}` is Prisma\'s: outside src/db, call a named query (or guarded transition) in src/db/<area>.ts, and `inTransaction` from db/client to group them.',
          delegate: '`{{name}}` is a Prisma model delegate\'s ({{type}}): outside src/db, call a named query in src/db/<area>.ts instead.',
          destructure: 'Destructuring a Prisma {{kind}} ({{name}}): outside src/db, call a named query in src/db/<area>.ts instead.',
          reflect: '`{{name}}` on a Prisma {{kind}}: outside src/db, call a named query in src/db/<area>.ts instead.',
          erase: 'A Prisma {{kind}} must not lose its type (`{{type}}`) outside src/db: that hides its queries from this rule.',
        },
      },
      create(context) {
        const services = context.sourceCode.parserServices;
        if (!services?.program) return {};
        const checker = services.program.getTypeChecker();
        const tsNode = (node) => services.esTreeNodeToTSNodeMap.get(node);
        const kindOf = (node) => prismaKind(checker, checker.getTypeAtLocation(tsNode(node)));
        const text = (node) => context.sourceCode.getText(node);
        /** A key's static name, or undefined when computed from a value. */
        const keyName = (key, computed) =>
          !computed && key.type === 'Identifier' ? key.name : key.type === 'Literal' && typeof key.value === 'string' ? key.value : undefined;

        /** Destructuring `pattern` from a value of type kind. */
        function checkPattern(pattern, kind) {
          if (kind === 'delegate') {
            context.report({ node: pattern, messageId: 'destructure', data: { kind, name: text(pattern) } });
            return;
          }
          for (const prop of pattern.properties) {
            if (prop.type === 'Property' && PRISMA_LIFECYCLE.has(keyName(prop.key, prop.computed))) continue;
            context.report({ node: prop, messageId: 'destructure', data: { kind, name: text(prop.type === 'Property' ? prop.key : prop) } });
          }
        }

        /** `const p: T = prisma` / `prisma as T` (target: the declared name or the cast): reported when T is no Prisma type. */
        function checkErasure(node, target, value, typeNode) {
          const kind = kindOf(value);
          if (kind && !kindOf(target)) context.report({ node, messageId: 'erase', data: { kind, type: text(typeNode) } });
        }

        return {
          MemberExpression(node) {
            if (node.object.type === 'Super') return;
            const kind = kindOf(node.object);
            const name = keyName(node.property, node.computed);
            if (kind === 'client') {
              if (!PRISMA_LIFECYCLE.has(name)) context.report({ node: node.property, messageId: 'query', data: { name: name ?? `[${text(node.property)}]` } });
            } else if (kind === 'delegate') {
              context.report({ node: node.property, messageId: 'delegate', data: { name: name ?? `[${text(node.property)}]`, type: checker.typeToString(checker.getTypeAtLocation(tsNode(node.object))) } });
            }
          },
          ObjectPattern(node) {
            // The source's type: a declarator's initializer, an assignment's right side, or else
            // what the checker gives the pattern itself (a parameter, a nested pattern).
            const { parent } = node;
            const source =
              parent.type === 'VariableDeclarator' && parent.id === node && parent.init ? parent.init
              : parent.type === 'AssignmentExpression' && parent.left === node ? parent.right
              : node;
            const kind = kindOf(source);
            if (kind) checkPattern(node, kind);
          },
          VariableDeclarator(node) {
            // Patterns are ObjectPattern's: `const { $disconnect }: PrismaClient = prisma` is fine.
            if (node.init && node.id.type === 'Identifier' && node.id.typeAnnotation) checkErasure(node, node.id, node.init, node.id.typeAnnotation.typeAnnotation);
          },
          'TSAsExpression, TSTypeAssertion'(node) {
            checkErasure(node, node, node.expression, node.typeAnnotation);
          },
          CallExpression(node) {
            const callee = node.callee;
            if (callee.type !== 'MemberExpression' || callee.object.type !== 'Identifier' || !['Reflect', 'Object'].includes(callee.object.name)) return;
            for (const arg of node.arguments) {
              if (arg.type === 'SpreadElement') continue;
              const kind = kindOf(arg);
              if (kind) {
                context.report({ node, messageId: 'reflect', data: { kind, name: text(callee) } });
                return;
              }
            }
          },
        };
      },
    },
  },
};

export default tseslint.config(
  {
    ignores: ['src/generated/**', 'src/db/generated/**', 'dist/**', 'web/dist/**', 'node_modules/**', '.data/**', 'coverage/**', '.workspaces/**', '**/*.js', '**/*.cjs', '**/*.mjs', '!bin/*.cjs'],
  },
  {
    // The CLI's launcher (bin/reprise.cjs): plain CommonJS that node runs before tsx is registered.
    files: ['bin/*.cjs'],
    extends: [js.configs.recommended],
    languageOptions: { sourceType: 'commonjs', globals: { process: 'readonly', __dirname: 'readonly' } },
  },
  {
    linterOptions: { reportUnusedDisableDirectives: 'error' },
  },
  {
    files: TS_FILES,
    extends: [js.configs.recommended, ...tseslint.configs.recommended],
    languageOptions: {
      parserOptions: {
        projectService: true,
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { prefer: 'type-imports', fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-explicit-any': 'warn',
      '@typescript-eslint/no-require-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  // No import cycles inside src (resolved as TypeScript files).
  {
    files: ['src/**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      'import-x/extensions': ['.ts', '.js'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.js', '.json', '.node'] })],
    },
    rules: {
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
    },
  },
  // Boundaries. Rule options do not merge across config objects, so each scope
  // lists every pattern group that applies to it (later objects win).
  {
    files: ['src/**/*.ts'],
    ignores: ['src/db/**'],
    rules: { '@typescript-eslint/no-restricted-imports': restrictedImports(PRISMA_ONLY_IN_DB) },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/db/**', 'src/generated/**'],
    plugins: { reprise: repriseRules },
    rules: { 'reprise/prisma-calls-only-in-db': 'error' },
  },
  {
    files: ['src/domain/**/*.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': restrictedImports(PRISMA_ONLY_IN_DB, ...DOMAIN_PURE) },
  },
  {
    files: ['src/workflows/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': restrictedImports(PRISMA_ONLY_IN_DB, ...WORKFLOW_SANDBOX),
      'no-restricted-syntax': [
        'error',
        { selector: 'ImportExpression', message: 'Workflow sandbox: no dynamic import().' },
      ],
    },
  },
  {
    files: ['src/activities/**/*.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': restrictedImports(PRISMA_ONLY_IN_DB, ACTIVITIES_BELOW_SERVICES) },
  },
  {
    files: ['web/src/**/*.ts', 'web/src/**/*.tsx'],
    rules: { '@typescript-eslint/no-restricted-imports': restrictedImports(WEB_ONLY_THROUGH_THE_API) },
  },
);
