import * as z from 'zod';
import type { DeliveryType, ExportFormat, Post as ContractPost, SearchCriteria as ContractSearchCriteria } from './contract';

/** A post in the searchable data source. */
export const PostSchema = z.object({
  id: z.string().min(1).max(200),
  userId: z.string().min(1).max(200),
  dateCreated: z.iso.datetime({ offset: true }),
  content: z.string().max(100_000),
  tags: z.array(z.string().min(1).max(100)).max(100),
});
export type Post = z.infer<typeof PostSchema>;

/**
 * A post's date in the one form exports write and imports store: the same instant in UTC, `Z`, with
 * milliseconds (`Date#toISOString`). Any ISO 8601 offset is accepted; digits below a millisecond are dropped.
 */
export const utcDateOf = (isoDateTime: string): string => {
  const instant = Date.parse(isoDateTime);
  return Number.isNaN(instant) ? isoDateTime : new Date(instant).toISOString();
};

/** The columns a CSV export may contain, in their default order. */
export const POST_COLUMNS = ['id', 'userId', 'dateCreated', 'content', 'tags'] as const;
export type PostColumn = (typeof POST_COLUMNS)[number];

const isoDate = z.union([z.iso.datetime({ offset: true }), z.iso.date()]);

/** What a user searched for: the same fields drive search and export. Newest first, always. */
export const SearchCriteriaSchema = z
  .object({
    q: z.string().trim().max(500).optional(),
    tags: z.array(z.string().trim().min(1).max(100)).max(20).optional(),
    userId: z.string().trim().min(1).max(200).optional(),
    from: isoDate.optional(),
    to: isoDate.optional(),
  })
  .strict();
export type SearchCriteria = z.infer<typeof SearchCriteriaSchema>;

/** The schemas parse exactly the HTTP contract's shapes (core/contract.ts): if they drift apart, this stops compiling. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
export const SCHEMAS_MATCH_CONTRACT: Same<Post, ContractPost> & Same<SearchCriteria, ContractSearchCriteria> = true;

export const PageRequestSchema = z.object({
  page: z.coerce.number().int().min(1).max(10_000).default(1),
  pageSize: z.coerce.number().int().min(1).max(100).default(20),
});
export type PageRequest = z.infer<typeof PageRequestSchema>;

export const DELIVERY_TYPES = ['direct', 'email', 'push'] as const satisfies readonly DeliveryType[];
export type { DeliveryType };

const deliveryEnum = z.enum(DELIVERY_TYPES, 'must be one of direct, email, push');

/**
 * How the result reaches the user, in a request body: `delivery`, or `type`, the name the HTTP contract
 * documented first (kept as an alias). Spread into a request's object schema, then finish it with `withDelivery`.
 */
export const DELIVERY_FIELDS = { delivery: deliveryEnum.optional(), type: deliveryEnum.optional() };

/** The one transform at the edge from the two spellings to `delivery`; a body with neither fails on `delivery`. */
export function withDelivery<T extends { delivery?: DeliveryType | undefined; type?: DeliveryType | undefined }>(
  body: T,
  ctx: z.RefinementCtx,
): Omit<T, 'delivery' | 'type'> & { delivery: DeliveryType } {
  const { delivery, type, ...rest } = body;
  const chosen = delivery ?? type;
  if (!chosen) {
    ctx.addIssue({ code: 'custom', path: ['delivery'], message: 'must be one of direct, email, push' });
    return z.NEVER;
  }
  return { ...rest, delivery: chosen };
}

export const EXPORT_FORMATS = ['csv', 'ndjson'] as const satisfies readonly ExportFormat[];

export const DownloadRequestSchema = z
  .object({
    ...DELIVERY_FIELDS,
    searchCriteria: SearchCriteriaSchema.default({}),
    columns: z.array(z.enum(POST_COLUMNS)).min(1).optional(),
    format: z.enum(EXPORT_FORMATS, 'must be one of csv, ndjson').optional(),
    excel: z.boolean().optional(),
    gzip: z.boolean().optional(),
    /** Usernames to share the export with (each must be someone who can sign in). */
    shareWith: z.array(z.string().min(1).max(128)).max(50).optional(),
  })
  .strict()
  .superRefine((body, ctx) => {
    // A byte order mark at the start of NDJSON breaks the JSON parsers that read it.
    if (body.excel === true && body.format === 'ndjson') ctx.addIssue({ code: 'custom', path: ['excel'], message: 'applies to CSV only, not ndjson' });
  })
  .transform(withDelivery);
export type DownloadRequest = z.infer<typeof DownloadRequestSchema>;

/** The signed-in person, as read from a verified ID token. */
export interface User {
  userId: string;
  username: string;
  email: string;
  groups: string[];
}

export const isAdmin = (user: User): boolean => user.groups.includes('admin');
