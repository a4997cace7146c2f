import type { Post, PostColumn } from '../model';
import type { CsvProgress } from './csv';

/**
 * The export as NDJSON: one JSON object per post and per line (LF), with the chosen columns as keys in
 * their order and `tags` as an array. No header, and no formula guard: JSON is not read by a spreadsheet.
 */

/** Cut like the CSV's chunks, below V8's large-object size (see ./csv.ts). */
const CHUNK_CHARS = 32 * 1024;

const lineOfPost = (post: Post, columns: readonly PostColumn[]): string => {
  const record: Partial<Record<PostColumn, string | string[]>> = {};
  for (const column of columns) record[column] = post[column];
  return `${JSON.stringify(record)}\n`;
};

/** The NDJSON text of every post in `batches`, pulled lazily (memory holds about one batch). */
export async function* ndjsonChunks(
  batches: AsyncIterable<Post[]>,
  columns: readonly PostColumn[],
  progress: CsvProgress = { rows: 0 },
): AsyncGenerator<string> {
  for await (const batch of batches) {
    let text = '';
    let rows = 0;
    for (const post of batch) {
      text += lineOfPost(post, columns);
      rows += 1;
      if (text.length >= CHUNK_CHARS) {
        progress.rows += rows;
        yield text;
        text = '';
        rows = 0;
      }
    }
    if (rows === 0) continue;
    progress.rows += rows;
    yield text;
  }
}
