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

const TS_FILES = ['src/**/*.ts', 'test/**/*.ts', 'scripts/**/*.ts'];

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

const restrictedImports = (...patterns) => ['error', { patterns }];

/**
 * `reprise/prisma-calls-only-in-db`: outside src/db, no member of the Prisma
 * client itself: model delegates (`prisma.goal`, `tx.run`, `deps.prisma.user`,
 * any alias), `$queryRaw*`, `$executeRaw*`, `$transaction`, `$extends`.
 * Type-aware: a member counts when the checker finds it declared on the
 * generated PrismaClient (so a new model is covered, and `temporal.schedule`
 * or a row's `run.savedWorkflow` is not). Services call named queries in
 * src/db (and `inTransaction` to group them); `$connect`/`$disconnect` stay
 * open to entry points. The import rule above only sees import paths.
 */
const PRISMA_CLIENT_DECLARATION = /[\\/]generated[\\/]prisma[\\/]internal[\\/]class\.ts$/;
const PRISMA_LIFECYCLE = new Set(['$connect', '$disconnect', '$on']);
const repriseRules = {
  rules: {
    'prisma-calls-only-in-db': {
      meta: {
        type: 'problem',
        schema: [],
        messages: {
          query: '`{{name}}` is Prisma\'s: outside src/db, call a named query (or guarded transition) in src/db/<area>.ts, and `inTransaction` from db/client to group them.',
        },
      },
      create(context) {
        const services = context.sourceCode.parserServices;
        if (!services?.program) return {};
        const checker = services.program.getTypeChecker();
        return {
          MemberExpression(node) {
            if (node.computed || node.property.type !== 'Identifier' || PRISMA_LIFECYCLE.has(node.property.name)) return;
            const symbol = checker.getSymbolAtLocation(services.esTreeNodeToTSNodeMap.get(node.property));
            const declarations = symbol?.getDeclarations() ?? [];
            if (declarations.some((d) => PRISMA_CLIENT_DECLARATION.test(d.getSourceFile().fileName))) {
              context.report({ node: node.property, messageId: 'query', data: { name: node.property.name } });
            }
          },
        };
      },
    },
  },
};

export default tseslint.config(
  {
    ignores: ['src/generated/**', 'src/db/generated/**', 'dist/**', 'node_modules/**', '.data/**', 'coverage/**', '**/*.js', '**/*.cjs', '**/*.mjs', '!bin/*.cjs'],
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
);
