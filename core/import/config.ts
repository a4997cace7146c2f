/** The configuration values the import use-cases read (a subset of functions/config.ts). */
export interface ImportConfig {
  uploadsBucket: string;
  permanentBucket: string;
  quarantineBucket: string;
  maxImportBytes: number;
  importMapConcurrency: number;
  /** How long an import waits in NEEDS_MAPPING before it ends EXPIRED. Default 24 h. */
  importMappingTimeoutSeconds: number;
  adminEmail: string;
  appUrl: string;
  /** The resources' allowlist (RESOURCE_TYPES); absent: core/resource/config.ts's default. */
  resourceTypes?: readonly string[];
}
