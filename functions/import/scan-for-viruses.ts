import type { ByteRange } from '../../core/ports';
import type { FileTaskInput } from '../../core/import/job';
import type { ScanVerdict } from '../../core/import/scanner';
import { recordScanVerdicts, scanForViruses, scanVirusRange } from '../../core/import/tasks';
import { wired } from '../composition';
import { clock } from '../ports/clock';
import { imports } from '../ports/imports';
import { objects } from '../ports/objects';
import { scanner } from '../ports/scanner';
import { task } from '../task';

/**
 * The antivirus states of statemachines/import.asl.yaml, one Lambda (clamd's VPC, its reserved concurrency, one role):
 * "Scan for viruses" (a file's verdict, or its ranges when it is over one clamd stream), "Scan a range" (`range`:
 * one range's verdict) and "Record the scan verdict" (`verdicts`: the ranges' one verdict). Infected or clean, or an
 * error: never "clean" unscanned.
 */
export type ScanTaskEvent = FileTaskInput | (FileTaskInput & { range: ByteRange }) | (FileTaskInput & { verdicts: ScanVerdict[] });

export const makeHandler = (deps: Parameters<typeof scanForViruses>[0]) =>
  task(
    'Scan for viruses',
    (event: ScanTaskEvent) =>
      'range' in event ? scanVirusRange(deps, event) : 'verdicts' in event ? recordScanVerdicts(deps, event) : scanForViruses(deps, event),
    (result, event) => ('ranges' in result ? { ranges: result.ranges.length } : { ...result, ...('range' in event ? { range: event.range } : {}) }),
  );

export const handler = wired({ imports, objects, scanner, clock }, makeHandler);
