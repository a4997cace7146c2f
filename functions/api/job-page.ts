import * as z from 'zod';

/** `?cursor=&limit=` of the job lists. */
export const JobPageSchema = z.object({ limit: z.coerce.number().int().min(1).max(100).default(25), cursor: z.string().max(1000).optional() });
