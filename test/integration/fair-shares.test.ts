import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ImportStatusView } from '../../core/contract';
import { clamdMissing, titled } from '../requirements';
import { api, importFile, signIn, useStack } from './client';
import { startStackProcess, type StackProcess } from './stack-process';

/**
 * The engine's fair shares on the local stack (IMPORT_SLOTS=1, IMPORT_SLOTS_PER_USER=1): one user's burst of
 * files waits in line, says so on its status ("waiting: N files ahead"), and another user's file, uploaded after
 * the burst, is not put behind all of it.
 */
const why = clamdMissing();
let stack: StackProcess | undefined;

const csvOf = (marker: string) => `userId,dateCreated,content,tags\n{user},2024-01-01T00:00:00.000Z,A post about ${marker},${marker}\n`;

describe.skipIf(why)(titled('fair shares of the import engine (IMPORT_SLOTS=1)', why), () => {
  beforeAll(async () => {
    stack = await startStackProcess('it-fair-shares', { SEED_ROWS: '0', IMPORT_SLOTS: '1', IMPORT_SLOTS_PER_USER: '1' });
    useStack(stack.info);
  }, 300_000);

  afterAll(async () => {
    await stack?.stop();
  });

  it("a burst of one user's files waits its turn, visibly, and another user's file goes ahead of most of it", async () => {
    const alice = await signIn('alice');
    const bob = await signIn('bob');
    const files: { token: string; importId: string; owner: string }[] = [];
    for (let i = 0; i < 4; i++) {
      const marker = `fair${randomBytes(4).toString('hex')}`;
      files.push({ token: alice, owner: 'alice', importId: await importFile(alice, csvOf(marker).replace('{user}', 'alice')) });
    }
    const bobMarker = `fair${randomBytes(4).toString('hex')}`;
    files.push({ token: bob, owner: 'bob', importId: await importFile(bob, csvOf(bobMarker).replace('{user}', 'bob')) });

    // Poll every file until all ended; note the longest queue any of them reported and the order they ended in.
    const ended: string[] = [];
    let mostAhead = -1;
    const deadline = Date.now() + 240_000;
    while (ended.length < files.length) {
      if (Date.now() > deadline) throw new Error(`not all imports ended: ${ended.join(', ')}`);
      for (const file of files) {
        if (ended.includes(file.importId)) continue;
        const { status, body } = await api<ImportStatusView>(file.token, 'GET', `/imports/${file.importId}`);
        expect(status).toBe(200);
        if (body.waiting) {
          expect(body.status).toBe('RUNNING');
          mostAhead = Math.max(mostAhead, body.waiting.filesAhead);
        }
        if (body.status === 'SUCCEEDED') ended.push(file.importId);
        else expect(['AWAITING_UPLOAD', 'RUNNING']).toContain(body.status);
      }
      await new Promise((resolve) => setTimeout(resolve, 150));
    }

    // With one slot, at least two of Alice's files waited behind others and said so.
    expect(mostAhead).toBeGreaterThanOrEqual(1);
    // Bob's file, uploaded last, ended first or second: behind at most the one file that held the slot when it came.
    // First come, first served would have ended it fifth.
    const bobsFile = files.find((file) => file.owner === 'bob')!.importId;
    expect(ended.indexOf(bobsFile)).toBeLessThanOrEqual(1);
    // Every file imported its row; nothing waits any more.
    for (const file of files) {
      const { body } = await api<ImportStatusView>(file.token, 'GET', `/imports/${file.importId}`);
      expect(body).toMatchObject({ status: 'SUCCEEDED', rowsImported: 1 });
      expect(body.waiting).toBeUndefined();
    }
  }, 300_000);
});
