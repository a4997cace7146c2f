/** The resource's reason texts, in one place (mails and quarantine are the import's: core/import/messages.ts). */

export const resourceRejectionReason = (problem: string): string => `The file was not kept: ${problem}.`;

export const resourceQuarantineReason = (signature: string): string =>
  `The file contains malware (${signature}). It was quarantined and nobody can download it.`;

export const quarantinedResourceStays =
  'A quarantined file stays where it is until an admin has reviewed it; it cannot be downloaded meanwhile.';

export const resourceStillChecked = 'The file is still being checked; it can be deleted once it is kept or refused.';
