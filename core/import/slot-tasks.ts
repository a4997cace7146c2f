import { SlotBusy, Transient } from '../errors';
import type { Clock, ImportRecords, ImportSlotStore } from '../ports';
import type { FileTaskInput } from './job';
import { isFinal, mustGetImport } from './records';
import { askForSlot, releaseExecutionSlots, releaseSlot, slotPolicyOf, type SlotConfig, type SlotDecision, type SlotsState } from './slots';

/**
 * The workflow's side of the fair shares (core/import/slots.ts): "Wait for a processing slot" asks for one
 * before a file's checks (and again after its column mapping came), and "Release the processing slot" gives it
 * back however the file ended. A file whose turn has not come says how many files are ahead on its record (the
 * status the browser polls shows "waiting: 3 files ahead") and throws SlotBusy, which the state retries.
 */
export interface SlotDeps {
  importSlots: ImportSlotStore;
  imports: ImportRecords;
  clock: Clock;
  config: SlotConfig;
}

/** Compare-and-set rounds before an ask gives up as Transient (retried by the workflow like any other). */
const SAVE_ATTEMPTS = 8;

async function changeSlots<T>(
  deps: Pick<SlotDeps, 'importSlots'>,
  what: string,
  change: (state: SlotsState) => { state: SlotsState; result: T },
): Promise<T> {
  for (let attempt = 0; attempt < SAVE_ATTEMPTS; attempt++) {
    const { state, version } = await deps.importSlots.load();
    const next = change(state);
    // Nothing changed (a release of what is not held): nothing to write.
    if (next.state === state || (await deps.importSlots.save(next.state, version))) return next.result;
  }
  throw new Transient(`The import slots changed under ${SAVE_ATTEMPTS} tries while ${what}.`);
}

/** Which ask or release of a file this is (the state's `phase` parameter): it names the wait in the message and the history. */
export type SlotPhase = 'checks' | 'processing' | 'mapping' | 'done';

export async function acquireImportSlot(deps: SlotDeps, input: FileTaskInput & { phase?: SlotPhase }): Promise<{ granted: true }> {
  const record = await mustGetImport(deps.imports, input.importId);
  // A file cancelled while it waited takes no slot: the next state sees it ended and stops.
  if (isFinal(record)) {
    await releaseImportSlot(deps, { importId: input.importId, executionArn: input.executionArn });
    return { granted: true };
  }
  const now = deps.clock.now();
  const decision = await changeSlots<SlotDecision>(deps, `asking for a slot for ${input.importId}`, (state) => {
    const asked = askForSlot(
      state,
      { importId: input.importId, userId: record.owner.userId, executionArn: input.executionArn },
      slotPolicyOf(deps.config),
      now,
    );
    return { state: asked.state, result: asked.decision };
  });
  if (decision.granted) {
    if (record.turn && !record.turn.grantedAt)
      await deps.imports.update(input.importId, { turn: { ...record.turn, grantedAt: now.toISOString() } }, now);
    return { granted: true };
  }
  const since = record.turn && !record.turn.grantedAt ? record.turn.since : now.toISOString();
  if (record.turn?.filesAhead !== decision.filesAhead || record.turn.grantedAt)
    await deps.imports.update(input.importId, { turn: { filesAhead: decision.filesAhead, since } }, now);
  const purpose = input.phase === 'processing' ? ' to import its rows' : input.phase === 'checks' ? ' for its checks' : '';
  throw new SlotBusy(
    `Waiting for a processing slot${purpose}: ${decision.filesAhead} ${decision.filesAhead === 1 ? 'file' : 'files'} ahead.`,
  );
}

/**
 * Gives back the file's slot (or its place in the queue), or, for the whole execution (no importId: the
 * execution failed outside its files), every slot it held. Releasing what is not held is fine.
 */
export async function releaseImportSlot(
  deps: Pick<SlotDeps, 'importSlots'>,
  input: { importId?: string; executionArn: string; phase?: SlotPhase },
): Promise<{ released: SlotPhase | 'execution' }> {
  await changeSlots(deps, `releasing the slot of ${input.importId ?? input.executionArn}`, (state) => ({
    state: input.importId ? releaseSlot(state, input.importId) : releaseExecutionSlots(state, input.executionArn),
    result: undefined,
  }));
  return { released: input.importId ? (input.phase ?? 'done') : 'execution' };
}
