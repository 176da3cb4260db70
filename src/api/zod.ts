import { extendZodWithOpenApi } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';

// Adds `.openapi(...)` to zod schemas. API code imports `z` from here so the
// extension is always installed before a schema is described.
extendZodWithOpenApi(z);

export { z };
