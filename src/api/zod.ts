import { extendZodWithOpenApi } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';

// Adds `.openapi(...)` to zod schemas. API code imports `z` from here so the
// extension is always installed before a schema is described.
extendZodWithOpenApi(z);

// Messages a caller can act on, for the two issues zod words least clearly.
// Every other message is the schema's own.
z.config({
  customError: (issue) => {
    if (issue.code === 'invalid_type' && issue.input === undefined) return 'is required';
    if (issue.code === 'invalid_union' && 'discriminator' in issue && Array.isArray(issue.options)) {
      // The issue sits at the discriminator's path; its input is the whole object.
      const given = (issue.input as Record<string, unknown> | undefined)?.[String(issue.discriminator)];
      if (given === undefined) return 'is required';
      return `must be one of: ${issue.options.map((o) => JSON.stringify(o)).join(', ')} (got ${JSON.stringify(given)})`;
    }
    return undefined;
  },
});

export { z };
