/**
 * The mutation score per folder from Stryker's JSON report (`npm run test:mutation` writes
 * reports/mutation/mutation.json): killed + timed out over all valid mutants, as Stryker counts it.
 * Usage: `npx tsx test/mutation-score.ts [report.json] [--files]`; `--files`: a line per file instead of per folder.
 */
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';

interface Report {
  files: Record<string, { mutants: Array<{ status: string }> }>;
}

const KILLED = new Set(['Killed', 'Timeout']);
const VALID = new Set(['Killed', 'Timeout', 'Survived', 'NoCoverage']);

const args = process.argv.slice(2);
const byFile = args.includes('--files');
const path = args.find((arg) => arg !== '--files') ?? 'reports/mutation/mutation.json';
const report = JSON.parse(readFileSync(path, 'utf8')) as Report;
const folders = new Map<string, { killed: number; survived: number; noCoverage: number; valid: number }>();
for (const [file, { mutants }] of Object.entries(report.files)) {
  const folder = byFile ? file : dirname(file);
  const counts = folders.get(folder) ?? { killed: 0, survived: 0, noCoverage: 0, valid: 0 };
  for (const { status } of mutants) {
    if (!VALID.has(status)) continue;
    counts.valid++;
    if (KILLED.has(status)) counts.killed++;
    else if (status === 'Survived') counts.survived++;
    else counts.noCoverage++;
  }
  folders.set(folder, counts);
}
const total = { killed: 0, survived: 0, noCoverage: 0, valid: 0 };
const line = (name: string, c: typeof total) =>
  `${name.padEnd(32)} ${((100 * c.killed) / Math.max(1, c.valid)).toFixed(1).padStart(6)} %  killed ${c.killed}, survived ${c.survived}, no coverage ${c.noCoverage}`;
for (const [folder, counts] of [...folders].sort(([a], [b]) => a.localeCompare(b))) {
  process.stdout.write(`${line(folder, counts)}\n`);
  for (const key of Object.keys(total) as (keyof typeof total)[]) total[key] += counts[key];
}
process.stdout.write(`${line('all', total)}\n`);
