/**
 * Fair shares of the import engine: at most `slots` files are checked and processed at once across every
 * user, and while other users' files wait, at most `perUser` of them are one user's (a share, not a cap: with
 * nobody else waiting, one user's batch may use every idle slot). A file that finds no slot waits its turn and says how
 * many files are ahead of it. The turn is fair, not first-come: a user's k-th waiting file ranks behind every
 * other user's files that have fewer of theirs running or ahead, so one user's 1,000-file batch or 50 GB file
 * never stands in front of someone else's first file.
 *
 * The whole state is one small value (held slots and the files waiting), changed by a pure function here
 * and stored with a compare-and-set (the ImportSlotStore port), so the decision is the same in both homes.
 * A holder that dies (a crashed task, an execution stopped by hand) loses its slot when its lease ends; a
 * waiter that stops asking is forgotten after `waiterSeconds`.
 */

export interface SlotPolicy {
  /** Files checked and processed at once, across every user (IMPORT_SLOTS). */
  slots: number;
  /** Of those, one user's at most (IMPORT_SLOTS_PER_USER). */
  perUser: number;
  /** How long a slot is held without a release before it is taken back (IMPORT_SLOT_LEASE_SECONDS). */
  leaseSeconds: number;
  /** How long a waiting file is remembered after its last ask (IMPORT_SLOT_WAITER_SECONDS). */
  waiterSeconds: number;
}

/** The settings the policy comes from (functions/config.ts: IMPORT_SLOTS, IMPORT_SLOTS_PER_USER, IMPORT_SLOT_LEASE_SECONDS, IMPORT_SLOT_WAITER_SECONDS). */
export interface SlotConfig {
  importSlots: number;
  importSlotsPerUser: number;
  importSlotLeaseSeconds: number;
  importSlotWaiterSeconds: number;
}

export const slotPolicyOf = (config: SlotConfig): SlotPolicy => ({
  slots: config.importSlots,
  perUser: Math.min(config.importSlotsPerUser, config.importSlots),
  leaseSeconds: config.importSlotLeaseSeconds,
  waiterSeconds: config.importSlotWaiterSeconds,
});

export interface SlotHolder {
  importId: string;
  userId: string;
  executionArn: string;
  /** ISO instant after which the slot is free again. */
  leaseUntil: string;
}

export interface SlotWaiter {
  importId: string;
  userId: string;
  executionArn: string;
  /** When the file first asked: the order among one user's files, and the tie-break between users. */
  since: string;
  /** Its last ask: a waiter silent for `waiterSeconds` is gone. */
  seenAt: string;
}

export interface SlotsState {
  holders: SlotHolder[];
  waiters: SlotWaiter[];
  /**
   * When each user with files running or waiting last got a slot: between files of equal rank the user served
   * longest ago goes first, so a user whose files run one after another never wins every tie against another's.
   */
  served?: { userId: string; at: string }[];
}

export const NO_SLOTS_TAKEN: SlotsState = { holders: [], waiters: [] };

export interface SlotRequest {
  importId: string;
  userId: string;
  executionArn: string;
}

export type SlotDecision = { granted: true } | { granted: false; filesAhead: number };

/** The state without lapsed leases and silent waiters. */
export function liveSlots(state: SlotsState, policy: SlotPolicy, now: Date): SlotsState {
  const at = now.getTime();
  const holders = state.holders.filter((holder) => Date.parse(holder.leaseUntil) > at);
  const waiters = state.waiters.filter((waiter) => Date.parse(waiter.seenAt) + policy.waiterSeconds * 1000 > at);
  // A user is remembered while they have files running or waiting, and for `waiterSeconds` after.
  const active = new Set([...holders, ...waiters].map((entry) => entry.userId));
  const served = (state.served ?? []).filter(
    (entry) => active.has(entry.userId) || Date.parse(entry.at) + policy.waiterSeconds * 1000 > at,
  );
  return withServed({ holders, waiters }, served);
}

/** The state with `served` (left out when empty). */
function withServed(state: SlotsState, served: { userId: string; at: string }[]): SlotsState {
  return { holders: state.holders, waiters: state.waiters, ...(served.length > 0 ? { served } : {}) };
}

/**
 * The waiters in the order they get slots: by each file's rank (the slots its user holds plus the files of
 * that user waiting before it), then the user served longest ago (never served first), then by when the file
 * first asked, then by id (a total order).
 */
export function turnOrder(state: SlotsState): SlotWaiter[] {
  const held = new Map<string, number>();
  for (const holder of state.holders) held.set(holder.userId, (held.get(holder.userId) ?? 0) + 1);
  const bySince = [...state.waiters].sort(compareSince);
  const seen = new Map<string, number>();
  const ranked = bySince.map((waiter) => {
    const before = seen.get(waiter.userId) ?? 0;
    seen.set(waiter.userId, before + 1);
    return { waiter, rank: (held.get(waiter.userId) ?? 0) + before };
  });
  const servedAt = new Map((state.served ?? []).map((entry) => [entry.userId, entry.at]));
  const lastServed = (waiter: SlotWaiter) => servedAt.get(waiter.userId) ?? '';
  return ranked
    .sort((a, b) => a.rank - b.rank || compareStrings(lastServed(a.waiter), lastServed(b.waiter)) || compareSince(a.waiter, b.waiter))
    .map(({ waiter }) => waiter);
}

const compareStrings = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const compareSince = (a: SlotWaiter, b: SlotWaiter): number => compareStrings(a.since, b.since) || compareStrings(a.importId, b.importId);

/**
 * One ask for a slot. A file that holds one already keeps it (its lease renewed: a retried task asks again).
 * Otherwise it gets one when a slot is free, its user is under their share, and no file ahead of it in the
 * turn order could take that slot instead; else it waits (remembered, its last ask noted).
 */
export function askForSlot(
  current: SlotsState,
  request: SlotRequest,
  policy: SlotPolicy,
  now: Date,
): { state: SlotsState; decision: SlotDecision } {
  const state = liveSlots(current, policy, now);
  const leaseUntil = new Date(now.getTime() + policy.leaseSeconds * 1000).toISOString();
  const holder: SlotHolder = { importId: request.importId, userId: request.userId, executionArn: request.executionArn, leaseUntil };
  if (state.holders.some((h) => h.importId === request.importId)) {
    return {
      state: { ...state, holders: state.holders.map((h) => (h.importId === request.importId ? holder : h)) },
      decision: { granted: true },
    };
  }
  const previous = state.waiters.find((waiter) => waiter.importId === request.importId);
  const me: SlotWaiter = {
    importId: request.importId,
    userId: request.userId,
    executionArn: request.executionArn,
    since: previous?.since ?? now.toISOString(),
    seenAt: now.toISOString(),
  };
  const waiting = { ...state, waiters: [...state.waiters.filter((waiter) => waiter.importId !== request.importId), me] };
  const order = turnOrder(waiting);
  const ahead = order.slice(
    0,
    order.findIndex((waiter) => waiter.importId === me.importId),
  );

  // A user's share binds only while another user's file waits; otherwise idle slots are anyone's.
  const shareOf = (userId: string) => (waiting.waiters.some((waiter) => waiter.userId !== userId) ? policy.perUser : policy.slots);
  // The files ahead take the free slots first, each while its user is under their share (as they would on their next ask).
  const running = new Map<string, number>();
  for (const h of waiting.holders) running.set(h.userId, (running.get(h.userId) ?? 0) + 1);
  let free = policy.slots - waiting.holders.length;
  for (const waiter of ahead) {
    if (free <= 0) break;
    const count = running.get(waiter.userId) ?? 0;
    if (count >= shareOf(waiter.userId)) continue;
    running.set(waiter.userId, count + 1);
    free--;
  }
  if (free > 0 && (running.get(me.userId) ?? 0) < shareOf(me.userId)) {
    const served = [...(waiting.served ?? []).filter((entry) => entry.userId !== me.userId), { userId: me.userId, at: now.toISOString() }];
    return {
      state: withServed(
        { holders: [...waiting.holders, holder], waiters: waiting.waiters.filter((waiter) => waiter.importId !== me.importId) },
        served,
      ),
      decision: { granted: true },
    };
  }
  return { state: waiting, decision: { granted: false, filesAhead: ahead.length } };
}

/** The file's slot (or its place in the queue) given back; nothing held is fine (a release is retried). */
export const releaseSlot = (state: SlotsState, importId: string): SlotsState => releaseWhere(state, (entry) => entry.importId === importId);

/** Every slot and place of one execution given back: the execution failed as a whole. */
export const releaseExecutionSlots = (state: SlotsState, executionArn: string): SlotsState =>
  releaseWhere(state, (entry) => entry.executionArn === executionArn);

/** The state without the holders and waiters `released` names; the same state when it names none (nothing to write). */
function releaseWhere(state: SlotsState, released: (entry: { importId: string; executionArn: string }) => boolean): SlotsState {
  const holders = state.holders.filter((holder) => !released(holder));
  const waiters = state.waiters.filter((waiter) => !released(waiter));
  if (holders.length === state.holders.length && waiters.length === state.waiters.length) return state;
  return withServed({ holders, waiters }, state.served ?? []);
}
