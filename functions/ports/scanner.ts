import type { VirusScanner } from '../../core/ports';
import { ScanFailed } from '../../core/errors';
import { ClamdScanner } from '../../adapters/clamd/clamd-scanner';
import type { PortBuilder } from './port';

// Fail closed: without a scanner nothing is "clean", so no import is ever processed unscanned.
const noScanner: VirusScanner = {
  scan: async (stream) => {
    stream.destroy();
    throw new ScanFailed('No virus scanner is configured (CLAMD_HOST is not set; is clamd installed?), so the file cannot be checked.');
  },
};

/** clamd, which the scan Lambda reaches on Fargate (and the local stack on this machine). */
export const scanner: PortBuilder<VirusScanner> = (config) =>
  config.clamdHost ? new ClamdScanner({ host: config.clamdHost, port: config.clamdPort, scanTimeoutMs: config.scanTimeoutSeconds * 1000 }) : noScanner;
