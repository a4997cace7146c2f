import { utcDateOf, type Post, type PostColumn } from '../model';
import { chunkedLines, type CsvProgress } from './csv';

/**
 * The export as NDJSON: one JSON object per post and per line (LF), with the chosen columns as keys in
 * their order, `tags` as an array and dates in UTC. No header, and no formula guard: JSON is not read by a spreadsheet.
 */

const lineOfPost = (post: Post, columns: readonly PostColumn[]): string => {
  const record: Partial<Record<PostColumn, string | string[]>> = {};
  // Dates in UTC, as the CSV writes them.
  for (const column of columns) record[column] = column === 'dateCreated' ? utcDateOf(post.dateCreated) : post[column];
  return `${JSON.stringify(record)}\n`;
};

/** The NDJSON text of every post in `batches`, pulled lazily (memory holds about one batch). */
export async function* ndjsonChunks(
  batches: AsyncIterable<Post[]>,
  columns: readonly PostColumn[],
  progress: CsvProgress = { rows: 0 },
): AsyncGenerator<string> {
  yield* chunkedLines(batches, (post) => lineOfPost(post, columns), progress);
}
