/** The configuration values the import use-cases read (a subset of functions/config.ts). */
export interface ImportConfig {
  uploadsBucket: string;
  permanentBucket: string;
  quarantineBucket: string;
  maxImportBytes: number;
  importMapConcurrency: number;
  /** About this many bytes per chunk of a large import (IMPORT_CHUNK_BYTES; core/import/chunks.ts); a file this size or smaller is one chunk. Default 64 MiB. */
  importChunkBytes?: number;
  /** At most this many bytes of the file per invocation of "Plan the file's chunks" (IMPORT_PLAN_STEP_BYTES); a larger file is planned in steps. */
  importPlanStepBytes?: number;
  /** Chunks of one file imported at the same time ("Import each chunk"'s MaxConcurrency, IMPORT_CHUNK_CONCURRENCY). Default 4. */
  importChunkConcurrency?: number;
  /** A file larger than this (plus the overlap) is scanned in ranges of this many bytes (SCAN_RANGE_BYTES): clamd's StreamMaxLength is 2,000 MiB. */
  scanRangeBytes?: number;
  /** Each range also scans this many bytes of the next (SCAN_RANGE_OVERLAP_BYTES), so a signature across a boundary up to this long is seen. */
  scanRangeOverlapBytes?: number;
  /** Ranges of one file scanned at the same time ("Scan each range"'s MaxConcurrency, SCAN_RANGE_CONCURRENCY). Default 4. */
  scanRangeConcurrency?: number;
  /** At most this many bytes of the file per invocation of "Compute checksum" (CHECKSUM_STEP_BYTES); a larger file is hashed in steps. */
  checksumStepBytes?: number;
  /** How long an import waits in NEEDS_MAPPING before it ends EXPIRED. Default 24 h. */
  importMappingTimeoutSeconds: number;
  adminEmail: string;
  appUrl: string;
  /** The resources' allowlist (RESOURCE_TYPES); absent: core/resource/config.ts's default. */
  resourceTypes?: readonly string[];
}

export const DEFAULT_IMPORT_CHUNK_BYTES = 64 * 1024 * 1024;
export const DEFAULT_IMPORT_CHUNK_CONCURRENCY = 4;
/**
 * 4 GiB per planning step: the planner scans ~93 MB/s here (bench:import --plan-gib 4, one core); with a 50 MB/s S3
 * read not overlapping the scan (half the usual single-stream rate), a step takes ~135 s, well inside the 900 s of a
 * Lambda even on a core half as fast. 50 GiB is 13 steps.
 */
export const DEFAULT_IMPORT_PLAN_STEP_BYTES = 4 * 1024 * 1024 * 1024;
/** 1,999 MiB + 1 MiB of overlap: one clamd stream at most (StreamMaxLength 2000M, infra/aws/clamav.yml). */
export const DEFAULT_SCAN_RANGE_BYTES = 1999 * 1024 * 1024;
export const DEFAULT_SCAN_RANGE_OVERLAP_BYTES = 1024 * 1024;
/** 4 of the 16 scans clamd takes at once (infra/aws/clamav.yml): one 50 GiB file (26 ranges) leaves 12 to other files. */
export const DEFAULT_SCAN_RANGE_CONCURRENCY = 4;
/**
 * 4 GiB per checksum step: ~86 s at a conservative 50 MB/s S3 read (hash-wasm hashes ~190 MB/s on one core here), well
 * inside a Lambda's 900 s even at a tenth of that rate. 50 GiB is 13 steps, each carrying ~200 B of state.
 */
export const DEFAULT_CHECKSUM_STEP_BYTES = 4 * 1024 * 1024 * 1024;
