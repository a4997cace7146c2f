import { z } from 'zod';

/** A post in the searchable data source. */
export const PostSchema = z.object({
  id: z.string().min(1).max(200),
  userId: z.string().min(1).max(200),
  dateCreated: z.iso.datetime({ offset: true }),
  content: z.string().max(100_000),
  tags: z.array(z.string().min(1).max(100)).max(100),
});
export type Post = z.infer<typeof PostSchema>;

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

export const PageRequestSchema = z.object({
  page: z.coerce.number().int().min(1).max(10_000).default(1),
  pageSize: z.coerce.number().int().min(1).max(100).default(20),
});
export type PageRequest = z.infer<typeof PageRequestSchema>;

export const DELIVERY_TYPES = ['direct', 'email', 'push'] as const;
export type DeliveryType = (typeof DELIVERY_TYPES)[number];

export const DownloadRequestSchema = z
  .object({
    type: z.enum(DELIVERY_TYPES),
    searchCriteria: SearchCriteriaSchema.default({}),
    columns: z.array(z.enum(POST_COLUMNS)).min(1).optional(),
  })
  .strict();
export type DownloadRequest = z.infer<typeof DownloadRequestSchema>;

/** The signed-in person, as read from a verified ID token. */
export interface User {
  userId: string;
  username: string;
  email: string;
  groups: string[];
}

export const isAdmin = (user: User): boolean => user.groups.includes('admin');

/** The input every export execution starts with. */
export interface ExportJob {
  exportId: string;
  requestedBy: User;
  type: DeliveryType;
  searchCriteria: SearchCriteria;
  columns?: PostColumn[];
  requestedAt: string;
}

/** What "Generate CSV report" produces; the execution's output carries it. */
export interface ExportReport {
  bucket: string;
  key: string;
  rowCount: number;
  bytes: number;
  expiresAt: string;
}

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED';

/** The public status of an export, as `GET /api/download-request/{executionArn}` returns it. */
export interface ExportStatus {
  executionArn: string;
  status: ExecutionStatus;
  type?: DeliveryType;
  requestedAt?: string;
  rowCount?: number;
  url?: string;
  expiresAt?: string;
  error?: string;
  /** While RUNNING, once "Generate CSV report" has recorded some (`totalRows` may be approximate). */
  progress?: { rowsWritten: number; totalRows?: number };
}
