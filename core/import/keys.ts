import type { ImportRecord } from './records';

/** Where things live: built only from ids Ferry issued, never from the user's file name. */
export const permanentKeyOf = (record: ImportRecord): string => `imports/${record.owner.userId}/${record.importId}/original`;
export const errorReportKeyOf = (record: ImportRecord): string => `imports/${record.owner.userId}/${record.importId}/error-report.csv`;
export const quarantineKeyOf = (record: ImportRecord): string => `quarantine/${record.owner.userId}/${record.importId}`;

/** The rendezvous key a browser joins to hear about an import or a batch by push. */
export const importPushKey = (id: string): string => `import:${id}`;
/** A chunk's part of the error report and its outcome (counts), until "Assemble the error report and commit" joins them. */
export const chunkReportKeyOf = (record: ImportRecord, chunk: number): string =>
  `imports/${record.owner.userId}/${record.importId}/chunks/${chunk}.csv`;
export const chunkOutcomeKeyOf = (record: ImportRecord, chunk: number): string =>
  `imports/${record.owner.userId}/${record.importId}/chunks/${chunk}.json`;
