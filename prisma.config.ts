import { defineConfig } from 'prisma/config';

// Migrations are SQL files in Prisma's layout, applied by src/db/migrate.ts
// (the Prisma CLI's migrate commands need a native engine that cannot be
// downloaded on our machines).
export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
});
