// API code imports `z` from here; the extension and messages live in src/domain/zod.ts.
export { z } from '../domain/zod';
