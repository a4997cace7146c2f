import { readFileSync } from 'node:fs';

/**
 * `npx tsx bench/cpu-profile-split.ts <file.cpuprofile>`: the processing phase's time by stage, from a V8 CPU
 * profile written by `npm run bench:import -- --cpu-prof`. Each sample goes to the innermost frame of its stack
 * that a rule below names (native SQLite calls count for the Ferry function that made them).
 */
interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const STAGES: Array<[stage: string, matches: (name: string, url: string) => boolean]> = [
  ['words: tokenize (postWordsOf)', (name, url) => url.includes('search-criteria.ts') || name === 'wordListOf'],
  ['encoding: UTF-8 check', (_, url) => url.includes('import/utf8.ts')],
  ['CSV parse (csv-parse)', (_, url) => url.includes('csv-parse')],
  ['validation (zod schema, toPost)', (name, url) => url.includes('/zod/') || name === 'toPost' || name === 'describeIssues'],
  ['row shaping (cells → fields, raw row, origins)', (name, url) => url.includes('import/rows.ts') || url.includes('core/csv.ts') || name === 'csvRecordToRow'],
  ['upsert lookup (postsById)', (name) => name === 'postsById'],
  ['staging inserts (stagePosts)', (name) => name === 'stagePosts'],
  ['commit: posts + words + tags (commitStaged)', (name) => name === 'commitStaged' || name === 'upsertPost' || name === 'commitNewPosts' || name === 'commitUpdatedPost'],
  ['error report', (_, url) => url.includes('error-report.ts')],
  ['authorship/counts (stageBatch)', (name) => name === 'stageBatch' || name === 'samePost'],
  ['records, S3 and audit I/O (AWS SDK)', (_, url) => url.includes('@aws-sdk') || url.includes('@smithy') || url.includes('dynamo') || url.includes('s3-')],
  ['garbage collection', (name) => name === '(garbage collector)'],
  ['idle (waiting on I/O)', (name) => name === '(idle)'],
];

const file = process.argv[2];
if (!file) throw new Error('usage: cpu-profile-split.ts <file.cpuprofile>');
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const parent = new Map<number, number>();
const byId = new Map<number, ProfileNode>();
for (const node of profile.nodes) {
  byId.set(node.id, node);
  for (const child of node.children ?? []) parent.set(child, node.id);
}
const stageOf = new Map<number, string>();
const classify = (id: number): string => {
  const known = stageOf.get(id);
  if (known) return known;
  const node = byId.get(id);
  const rule = node && STAGES.find(([, matches]) => matches(node.callFrame.functionName, node.callFrame.url));
  const up = parent.get(id);
  const stage = rule ? rule[0] : up === undefined ? 'other (module loading, the runtime)' : classify(up);
  stageOf.set(id, stage);
  return stage;
};
const micros = new Map<string, number>();
profile.samples.forEach((id, i) => {
  const stage = classify(id);
  micros.set(stage, (micros.get(stage) ?? 0) + (profile.timeDeltas[i] ?? 0));
});
const total = [...micros.values()].reduce((a, b) => a + b, 0);
for (const [stage, us] of [...micros].sort((a, b) => b[1] - a[1])) {
  console.log(`${stage.padEnd(48)} ${(us / 1e6).toFixed(2).padStart(7)} s ${((100 * us) / total).toFixed(1).padStart(5)}%`);
}
console.log(`${'total'.padEnd(48)} ${(total / 1e6).toFixed(2).padStart(7)} s`);
