/** The antivirus verdict on one uploaded object (the VirusScanner port is in core/ports.ts, ScanFailed in core/errors.ts). */
export type ScanVerdict = { clean: true } | { clean: false; signature: string };
