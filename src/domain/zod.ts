import { extendZodWithOpenApi } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';

// Adds `.openapi(...)` to zod schemas. Domain and API code import `z` from
// here, so the extension is installed before any schema is built: a
// recursive schema (a plan nests plans) must carry its OpenAPI name on the
// very instance it refers back to, or the document generator never ends.
extendZodWithOpenApi(z);

// Messages a caller can act on, for the issues zod words least clearly (a
// missing field, a value outside a closed list, a union's discriminator).
// Every other message is the schema's own.
z.config({
  customError: (issue) => {
    if (issue.code === 'invalid_type' && issue.input === undefined) return 'is required';
    if (issue.code === 'invalid_value' && Array.isArray(issue.values) && issue.values.length) {
      // zod's own reads `Invalid option: expected one of "shell"|"http"|…`.
      const allowed = issue.values.map((v) => JSON.stringify(v));
      const given = JSON.stringify(issue.input) ?? String(issue.input);
      return `${allowed.length === 1 ? `must be ${allowed[0]}` : `must be one of: ${allowed.join(', ')}`} (got ${given.length > 60 ? `${given.slice(0, 59)}…` : given})`;
    }
    if (issue.code === 'invalid_union' && 'discriminator' in issue && Array.isArray(issue.options)) {
      // The issue sits at the discriminator's path; its input is the whole object.
      const given = (issue.input as Record<string, unknown> | undefined)?.[String(issue.discriminator)];
      if (given === undefined) return 'is required';
      return `must be one of: ${issue.options.map((o) => JSON.stringify(o)).join(', ')} (got ${JSON.stringify(given)})`;
    }
    if ((issue.code === 'too_big' || issue.code === 'too_small') && (issue.origin === 'string' || issue.origin === 'array')) {
      const bound = Number(issue.code === 'too_big' ? issue.maximum : issue.minimum);
      const unit = issue.origin === 'string' ? 'character' : 'item';
      const size = typeof issue.input === 'string' || Array.isArray(issue.input) ? issue.input.length : undefined;
      const got = size === undefined ? '' : ` (it has ${size})`;
      if ('exact' in issue && issue.exact) return `must have exactly ${bound} ${unit}${bound === 1 ? '' : 's'}${got}`;
      if (issue.code === 'too_small' && bound <= 1) return issue.origin === 'string' ? 'must not be empty' : 'needs at least one item';
      return issue.code === 'too_big' ? `may have at most ${bound} ${unit}${bound === 1 ? '' : 's'}${got}` : `needs at least ${bound} ${unit}s${got}`;
    }
    return undefined;
  },
});

export { z };
