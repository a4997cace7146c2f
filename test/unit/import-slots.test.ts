import { describe, expect, it } from 'vitest';
import { DynamoImportSlots } from '../../adapters/aws/dynamo-import-slots';
import { SlotBusy } from '../../core/errors';
import { acquireImportSlot, releaseImportSlot } from '../../core/import/slot-tasks';
import {
  askForSlot,
  NO_SLOTS_TAKEN,
  releaseExecutionSlots,
  releaseSlot,
  slotPolicyOf,
  turnOrder,
  type SlotPolicy,
  type SlotsState,
} from '../../core/import/slots';
import { statusView } from '../../core/import/use-cases';
import { useDynalite } from './dynalite-tables';
import { ManualClock } from './fakes';
import { InMemoryImportRecords } from './import-fakes';
import { InMemoryObjectStore } from './fakes';
import { importRecord } from './specs/import-records-spec';

const policy: SlotPolicy = { slots: 3, perUser: 2, leaseSeconds: 600, waiterSeconds: 60 };
const t0 = new Date('2026-01-01T00:00:00.000Z');
const at = (seconds: number) => new Date(t0.getTime() + seconds * 1000);
const file = (importId: string, userId: string, executionArn = `arn:exec:${importId}`) => ({ importId, userId, executionArn });

/** Asks in order, each at its own second; returns the state and each ask's decision. */
const askAll = (requests: ReturnType<typeof file>[], from: SlotsState = NO_SLOTS_TAKEN, start = 0) => {
  let state = from;
  const decisions: Record<string, unknown> = {};
  requests.forEach((request, i) => {
    const asked = askForSlot(state, request, policy, at(start + i));
    state = asked.state;
    decisions[request.importId] = asked.decision;
  });
  return { state, decisions };
};

describe('import slots (core/import/slots.ts)', () => {
  it('grants idle slots to anyone; while another user waits, a user over their share gets none, and each waiter hears how many files are ahead', () => {
    const { state, decisions } = askAll([
      file('a1', 'alice'),
      file('a2', 'alice'),
      file('a3', 'alice'),
      file('a4', 'alice'),
      file('b1', 'bob'),
    ]);
    expect(decisions).toEqual({
      // Nobody else waits: Alice's batch may use every idle slot, past her share of 2.
      a1: { granted: true },
      a2: { granted: true },
      a3: { granted: true },
      a4: { granted: false, filesAhead: 0 },
      // Bob holds nothing, so his file ranks ahead of Alice's fourth.
      b1: { granted: false, filesAhead: 0 },
    });
    expect(turnOrder(state).map((waiter) => waiter.importId)).toEqual(['b1', 'a4']);
    expect(askForSlot(state, file('a4', 'alice'), policy, at(10)).decision).toEqual({ granted: false, filesAhead: 1 });

    // a1 ends: the free slot is Bob's, whoever asks first.
    const freed = releaseSlot(state, 'a1');
    expect(askForSlot(freed, file('a4', 'alice'), policy, at(11)).decision).toEqual({ granted: false, filesAhead: 1 });
    const bob = askForSlot(freed, file('b1', 'bob'), policy, at(11));
    expect(bob.decision).toEqual({ granted: true });
    // a2 ends: nobody else waits any more, so Alice's a4 may run although she holds her share elsewhere.
    expect(askForSlot(releaseSlot(bob.state, 'a2'), file('a4', 'alice'), policy, at(12)).decision).toEqual({ granted: true });
  });

  it('while another user waits, a user at their share waits even for a slot the turn order would give them', () => {
    const two = { ...policy, slots: 3, perUser: 1 };
    let state = NO_SLOTS_TAKEN;
    for (const [i, request] of [
      file('a1', 'alice'),
      file('a2', 'alice'),
      file('b1', 'bob'),
      file('c1', 'carol'),
      file('a3', 'alice'),
    ].entries())
      state = askForSlot(state, request, two, at(i)).state;
    expect(state.holders.map((holder) => holder.importId)).toEqual(['a1', 'a2', 'b1']);
    // b1 ends: Carol's file takes the slot; Alice (2 running, share 1) may not while Carol waits.
    const freed = releaseSlot(state, 'b1');
    expect(askForSlot(freed, file('a3', 'alice'), two, at(10)).decision).toEqual({ granted: false, filesAhead: 1 });
    expect(askForSlot(freed, file('c1', 'carol'), two, at(10)).decision).toEqual({ granted: true });
  });

  it("a user's many waiting files rank behind another user's first: the turn is fair, not first come", () => {
    const onePolicy = { ...policy, slots: 1, perUser: 1 };
    let state: SlotsState = askForSlot(NO_SLOTS_TAKEN, file('a0', 'alice'), onePolicy, at(0)).state;
    for (let i = 1; i <= 5; i++) state = askForSlot(state, file(`a${i}`, 'alice'), onePolicy, at(i)).state;
    const bob = askForSlot(state, file('b1', 'bob'), onePolicy, at(10));
    expect(bob.decision).toEqual({ granted: false, filesAhead: 0 });
    expect(turnOrder(bob.state).map((waiter) => waiter.importId)).toEqual(['b1', 'a1', 'a2', 'a3', 'a4', 'a5']);

    // a0 ends: Alice runs nothing now, so her next file ties with Bob's at rank 0; Bob was never served, Alice just was,
    // so Bob's goes first, although hers waited longer and asks first.
    const freed = releaseSlot(bob.state, 'a0');
    expect(askForSlot(freed, file('a1', 'alice'), onePolicy, at(11)).decision).toEqual({ granted: false, filesAhead: 1 });
    const granted = askForSlot(freed, file('b1', 'bob'), onePolicy, at(11));
    expect(granted.decision).toEqual({ granted: true });
    expect(granted.state.waiters.map((waiter) => waiter.importId)).toEqual(['a1', 'a2', 'a3', 'a4', 'a5']);
    // Bob's second file, uploaded now, ranks behind Alice's next: the users alternate.
    const b2 = askForSlot(releaseSlot(granted.state, 'b1'), file('b2', 'bob'), onePolicy, at(12));
    expect(b2.decision).toEqual({ granted: false, filesAhead: 1 });
    expect(turnOrder(b2.state).map((waiter) => waiter.importId)).toEqual(['a1', 'b2', 'a2', 'a3', 'a4', 'a5']);
  });

  it('a file that holds a slot keeps it when it asks again (a retried task), with its lease renewed', () => {
    const first = askForSlot(NO_SLOTS_TAKEN, file('a1', 'alice'), policy, at(0));
    const again = askForSlot(first.state, file('a1', 'alice'), policy, at(100));
    expect(again.decision).toEqual({ granted: true });
    expect(again.state.holders).toEqual([{ ...file('a1', 'alice'), leaseUntil: at(700).toISOString() }]);
  });

  it('a lapsed lease frees its slot, and a waiter that stopped asking is forgotten', () => {
    const onePolicy = { ...policy, slots: 1, perUser: 1 };
    const held = askForSlot(NO_SLOTS_TAKEN, file('a1', 'alice'), onePolicy, at(0)).state;
    const waiting = askForSlot(held, file('b1', 'bob'), onePolicy, at(1)).state;
    // Bob's file stops asking (its execution was stopped); after waiterSeconds it no longer stands ahead of Carol's.
    expect(askForSlot(waiting, file('c1', 'carol'), onePolicy, at(30)).decision).toEqual({ granted: false, filesAhead: 1 });
    expect(askForSlot(waiting, file('c1', 'carol'), onePolicy, at(62)).decision).toEqual({ granted: false, filesAhead: 0 });
    // a1 never gave its slot back (a crashed task): after its lease Carol gets it.
    expect(askForSlot(waiting, file('c1', 'carol'), onePolicy, at(601)).decision).toEqual({ granted: true });
  });

  it("releases are idempotent; an execution's release gives back every slot and place of its files only", () => {
    const { state } = askAll([
      file('a1', 'alice', 'arn:batch'),
      file('a2', 'alice', 'arn:batch'),
      file('b1', 'bob'),
      file('a3', 'alice', 'arn:batch'),
    ]);
    expect(state.waiters.map((waiter) => waiter.importId)).toEqual(['a3']);
    expect(releaseSlot(releaseSlot(state, 'a1'), 'a1')).toEqual(releaseSlot(state, 'a1'));
    const released = releaseExecutionSlots(state, 'arn:batch');
    expect(released.holders.map((holder) => holder.importId)).toEqual(['b1']);
    expect(released.waiters).toEqual([]);
  });

  it('the policy comes from the settings; a share larger than the total is the total', () => {
    expect(slotPolicyOf({ importSlots: 4, importSlotsPerUser: 9, importSlotLeaseSeconds: 60, importSlotWaiterSeconds: 30 })).toEqual({
      slots: 4,
      perUser: 4,
      leaseSeconds: 60,
      waiterSeconds: 30,
    });
  });
});

describe('"Wait for a processing slot" and "Release the processing slot" (core/import/slot-tasks.ts) on DynamoDB (dynalite)', () => {
  const dynalite = useDynalite();
  const config = { importSlots: 1, importSlotsPerUser: 1, importSlotLeaseSeconds: 600, importSlotWaiterSeconds: 60 };

  const setUp = async () => {
    const importSlots = new DynamoImportSlots(dynalite.clients().documents, await dynalite.freshTable('ConnectionsTable'));
    const imports = new InMemoryImportRecords();
    const clock = new ManualClock(t0);
    const bob = { userId: 'user-bob', username: 'bob', email: 'bob@example.com' };
    await imports.create([
      importRecord('imp-a', { status: 'RUNNING' }),
      importRecord('imp-b', { status: 'RUNNING', owner: bob }),
      importRecord('imp-c', { status: 'RUNNING', owner: bob }),
    ]);
    return { deps: { importSlots, imports, clock, config }, imports, clock, importSlots };
  };

  it('a waiting file says on its status how many files are ahead, then gets the slot once it is given back', async () => {
    const { deps, imports, clock } = await setUp();
    expect(await acquireImportSlot(deps, { importId: 'imp-a', executionArn: 'arn:a' })).toEqual({ granted: true });
    await expect(acquireImportSlot(deps, { importId: 'imp-b', executionArn: 'arn:b', phase: 'checks' })).rejects.toEqual(
      new SlotBusy('Waiting for a processing slot for its checks: 0 files ahead.'),
    );
    clock.advance(1000);
    await expect(acquireImportSlot(deps, { importId: 'imp-c', executionArn: 'arn:c', phase: 'processing' })).rejects.toEqual(
      new SlotBusy('Waiting for a processing slot to import its rows: 1 file ahead.'),
    );
    const view = await statusView(
      { objects: new InMemoryObjectStore(), config: { permanentBucket: 'permanent' } },
      (await imports.get('imp-c'))!,
    );
    expect(view.waiting).toEqual({ filesAhead: 1, since: at(1).toISOString() });

    await releaseImportSlot(deps, { importId: 'imp-a', executionArn: 'arn:a' });
    clock.advance(1000);
    expect(await acquireImportSlot(deps, { importId: 'imp-b', executionArn: 'arn:b' })).toEqual({ granted: true });
    const granted = (await imports.get('imp-b'))!;
    expect(granted.turn).toEqual({ filesAhead: 0, since: t0.toISOString(), grantedAt: at(2).toISOString() });
    expect(
      (await statusView({ objects: new InMemoryObjectStore(), config: { permanentBucket: 'permanent' } }, granted)).waiting,
    ).toBeUndefined();
  });

  it('two asks at once never both take the last slot: the store is a compare-and-set on its version', async () => {
    const { deps, importSlots } = await setUp();
    const outcomes = await Promise.allSettled([
      acquireImportSlot(deps, { importId: 'imp-a', executionArn: 'arn:a' }),
      acquireImportSlot(deps, { importId: 'imp-b', executionArn: 'arn:b' }),
    ]);
    expect(outcomes.map((outcome) => outcome.status).sort()).toEqual(['fulfilled', 'rejected']);
    const { state, version } = await importSlots.load();
    expect(state.holders).toHaveLength(1);
    expect(state.waiters).toHaveLength(1);
    expect(version).toBe(2);
    // A write from a stale read is refused.
    expect(await importSlots.save(NO_SLOTS_TAKEN, 1)).toBe(false);
    expect(await importSlots.save(NO_SLOTS_TAKEN, 2)).toBe(true);
  });

  it('a file cancelled while it waited takes no slot and leaves the queue', async () => {
    const { deps, imports, importSlots } = await setUp();
    await acquireImportSlot(deps, { importId: 'imp-a', executionArn: 'arn:a' });
    await expect(acquireImportSlot(deps, { importId: 'imp-b', executionArn: 'arn:b' })).rejects.toBeInstanceOf(SlotBusy);
    await imports.update('imp-b', { status: 'CANCELLED' }, t0);
    expect(await acquireImportSlot(deps, { importId: 'imp-b', executionArn: 'arn:b' })).toEqual({ granted: true });
    expect((await importSlots.load()).state).toMatchObject({ holders: [expect.objectContaining({ importId: 'imp-a' })], waiters: [] });
  });

  it("a failed execution's release gives back what its files held", async () => {
    const { deps, importSlots } = await setUp();
    await acquireImportSlot(deps, { importId: 'imp-a', executionArn: 'arn:batch' });
    await expect(acquireImportSlot(deps, { importId: 'imp-b', executionArn: 'arn:batch' })).rejects.toBeInstanceOf(SlotBusy);
    expect(await releaseImportSlot(deps, { executionArn: 'arn:batch' })).toEqual({ released: 'execution' });
    expect((await importSlots.load()).state).toMatchObject({ holders: [], waiters: [] });
  });
});
