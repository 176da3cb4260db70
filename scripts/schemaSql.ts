// Renders prisma/schema.prisma as the SQL that creates it from nothing, using
// Prisma 6.19's WebAssembly schema engine (the aliased `prisma6` dev
// dependency): Prisma 7's CLI needs a native engine our machines cannot
// download. Used by the schema/migrations agreement test, and by hand when
// writing a migration:  DATABASE_URL=… npx tsx scripts/schemaSql.ts > /tmp/full.sql
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export async function renderSchemaSql(
  databaseUrl: string,
  schemaPath = path.resolve(__dirname, '../prisma/schema.prisma'),
): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'reprise-schema-sql-'));
  try {
    const schema = (await readFile(schemaPath, 'utf8'))
      // Prisma 6 wants the v6 generator and a datasource url; neither is used.
      .replace(/generator client \{[^}]*\}/, 'generator client {\n  provider = "prisma-client-js"\n}')
      .replace(/provider = "postgresql"/, 'provider = "postgresql"\n  url      = env("PRISMA6_DATABASE_URL")');
    await writeFile(path.join(dir, 'schema.prisma'), schema);
    // engine "js" runs the schema engine as WebAssembly. It opens a connection
    // through the adapter but reads nothing for a schema-to-schema diff.
    await writeFile(
      path.join(dir, 'prisma.config.js'),
      `module.exports = { experimental: { adapter: true }, engine: 'js', schema: ${JSON.stringify(
        path.join(dir, 'schema.prisma'),
      )}, adapter: async () => { const { PrismaPg } = require(${JSON.stringify(
        require.resolve('@prisma/adapter-pg'),
      )}); return new PrismaPg({ connectionString: process.env.PRISMA6_DATABASE_URL }); } };\n`,
    );
    const cli = require.resolve('prisma6/build/index.js');
    const { stdout } = await execFileAsync(
      process.execPath,
      [cli, 'migrate', 'diff', '--config', path.join(dir, 'prisma.config.js'), '--from-empty', '--to-schema-datamodel', path.join(dir, 'schema.prisma'), '--script'],
      {
        env: {
          ...process.env,
          PRISMA6_DATABASE_URL: databaseUrl,
          PRISMA_QUERY_ENGINE_LIBRARY: process.execPath,
          PRISMA_SCHEMA_ENGINE_BINARY: process.execPath,
          CHECKPOINT_DISABLE: '1',
          PRISMA_HIDE_UPDATE_MESSAGE: '1',
        },
        cwd: dir,
        maxBuffer: 16 * 1024 * 1024,
      },
    );
    return stdout;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  const url = process.env.DATABASE_URL;
  if (!url) {
    console.error('Set DATABASE_URL to any reachable Postgres (nothing is read or written).');
    process.exit(2);
  }
  renderSchemaSql(url).then(
    (sql) => process.stdout.write(sql),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
