/**
 * struct mmu_interval_notifier and its sequence protocol (mm/mmu_notifier.c, v5.5+; reference §1.8).
 *
 * State: per mm S = invalidate_seq (even when idle, odd while the tree is "fully excluded") and
 * A = active_invalidate_ranges; per subscription its `seq` (always odd). The invariant that makes
 * the protocol work: an invalidation that overlaps a subscription and starts after the driver's
 * read_begin sets sub.seq := cur_seq (≠ the driver's seq) under the driver's lock before tearing
 * down, so the driver's read_retry under the same lock either precedes the teardown (and the
 * teardown removes what it installed) or sees the change and retries.
 *
 * Each function here that touches S, A or the tree runs under subscriptions->lock in the kernel:
 * the model keeps that spinlock out of the state and runs each such function inside it
 * (`w.inside(SUBSCRIPTIONS_LOCK, …)`, src/world/discipline.ts), since nothing else is done under it.
 */
import { BLOCK_SLEEP } from '../../world/routine.js';
import type { World } from '../../world/world.js';
import type { AnyRoutine } from '../../world/routine.js';
import { INTERVAL_SEQ, MIN, MIN_DEFERRED_INSERT, MIN_DEFERRED_REMOVE, MIN_INSERTED, MIN_UNUSED, MM, TASK } from '../structs.js';
import { EAGAIN } from '../flags.js';
import { deref, isNone, NONE, ref, refersTo } from '../ref.js';
import { KERNEL } from '../library.js';
import { deferSetSeq, dropRecheck, dropRegistration } from '../mutation-hooks.js';

/** The class of subscriptions->lock, the spinlock the protocol's S, A and the tree live under. */
export const SUBSCRIPTIONS_LOCK = 'mm.notifier_subscriptions.lock';
import { notifierMapAcquire } from '../lockdep.js';
import { downWrite, mmapLock, upWrite } from '../locks.js';

/** mn_itree_is_invalidating: S is odd. */
export function itreeIsInvalidating(w: World, mm: number): boolean {
  return (w.obj(MM, mm).invalidateSeq & 1) === 1;
}

/** Whether interval notifier `sub` is in mm's tree (inserted, or in it awaiting deferred removal). */
function inTree(w: World, sub: number, mm: number): boolean {
  const s = w.obj(MIN, sub);
  return refersTo(s.mm, mm) && (s.state === MIN_INSERTED || s.state === MIN_DEFERRED_REMOVE);
}

/** interval_tree_iter_first/next: first subscription index ≥ from in mm's tree overlapping [start, end). */
export function itreeNextOverlap(w: World, mm: number, start: number, end: number, from: number): number {
  const n = w.count(MIN);
  for (let i = from; i < n; i++) {
    if (!inTree(w, i, mm)) continue;
    const s = w.obj(MIN, i);
    if (s.start <= end - 1 && start <= s.last) return i;
  }
  return -1;
}

/**
 * mm/mmu_notifier.c:mn_itree_inv_start_range — A++; if anything overlaps, S |= 1 ("fully
 * excluded"). Returns cur_seq = S.
 */
export function mnItreeInvStartRange(w: World, mm: number, start: number, end: number): number {
  return w.inside(SUBSCRIPTIONS_LOCK, () => {
    const m = w.obj(MM, mm);
    m.activeInvalidateRanges = m.activeInvalidateRanges + 1;
    if (itreeNextOverlap(w, mm, start, end, 0) >= 0) m.invalidateSeq = m.invalidateSeq | 1;
    return m.invalidateSeq;
  });
}

/**
 * mm/mmu_notifier.c:mn_itree_inv_end — A--; when the last concurrent invalidation ends and S is
 * odd, S++ (even) and the deferred inserts/removes are applied; wake_up_all(wq) is implicit: the
 * sleepers' steps become enabled once S changes.
 */
export function mnItreeInvEnd(w: World, mm: number): void {
  w.inside(SUBSCRIPTIONS_LOCK, () => itreeInvEnd(w, mm));
}

function itreeInvEnd(w: World, mm: number): void {
  const m = w.obj(MM, mm);
  if (m.activeInvalidateRanges <= 0) w.bug(`mn_itree_inv_end on mm ${mm} without an active range`);
  m.activeInvalidateRanges = m.activeInvalidateRanges - 1;
  if (m.activeInvalidateRanges !== 0 || !itreeIsInvalidating(w, mm)) return;
  m.invalidateSeq = m.invalidateSeq + 1;
  const n = w.count(MIN);
  for (let i = 0; i < n; i++) {
    const s = w.obj(MIN, i);
    if (!refersTo(s.mm, mm)) continue;
    if (s.state === MIN_DEFERRED_INSERT) s.state = MIN_INSERTED;
    else if (s.state === MIN_DEFERRED_REMOVE) s.state = MIN_UNUSED;
  }
}

/**
 * mmu_interval_notifier_insert as one setup action, for a design subscribed before any actor runs
 * (its .mmap): mmu_notifier_register(NULL, mm) then __mmu_interval_notifier_insert. The caller
 * holds mm_users. `priv` is the driver's own object index (stored as a reference). A driver that
 * subscribes while actors run calls the routine `mmu_interval_notifier_insert` below instead.
 */
export function intervalNotifierInsert(w: World, sub: number, mm: number, start: number, length: number, invalidate: AnyRoutine, priv: number): void {
  if (w.mutation !== null && dropRegistration(w)) return;
  const m = w.obj(MM, mm);
  if (m.users <= 0) w.bug(`mmu_interval_notifier_insert on mm ${mm} without mm_users`);
  m.hasNotifiers = 1;
  m.hasItree = 1;
  w.inside(SUBSCRIPTIONS_LOCK, () => itreeInsert(w, sub, mm, start, length, w.routineRef(invalidate), priv));
}

/** __mmu_interval_notifier_insert, under subscriptions->lock; `ops`: the callback's routine reference. */
function itreeInsert(w: World, sub: number, mm: number, start: number, length: number, ops: number, priv: number): void {
  const m = w.obj(MM, mm);
  const s = w.obj(MIN, sub);
  if (s.state !== MIN_UNUSED) {
    w.bug(`mmu_interval_notifier_insert of interval notifier ${sub}, which is already inserted (or queued for insertion or removal)`);
    return;
  }
  w.own(MIN, sub); // not yet in the tree: the caller's alone until this insert publishes it
  if (length <= 0) throw new Error(`interval notifier ${sub}: length must be positive`);
  m.count = m.count + 1; // mmgrab (before spin_lock), paired with mmdrop in remove
  s.mm = ref(mm);
  s.start = start;
  s.last = start + length - 1;
  s.invalidate = ops;
  s.priv = ref(priv);
  if (m.activeInvalidateRanges !== 0) {
    if (itreeIsInvalidating(w, mm)) {
      s.state = MIN_DEFERRED_INSERT;
    } else {
      m.invalidateSeq = m.invalidateSeq | 1;
      s.state = MIN_INSERTED;
    }
    s.seq = m.invalidateSeq;
  } else {
    s.seq = m.invalidateSeq - 1;
    s.state = MIN_INSERTED;
  }
}

/**
 * mm/mmu_notifier.c:mmu_interval_notifier_insert, called by a driver while actors run (a device
 * opened, a range mapped, dmirror's temporary snapshot notifier). The caller holds mm_users
 * (current->mm, or mmget). `ops`: the invalidate routine's reference (`w.routineRef(routine)`);
 * `priv`: the driver's object the callback finds (mmu_interval_notifier is embedded in it).
 *
 *   subscriptions = smp_load_acquire(&mm->notifier_subscriptions);
 *   if (!subscriptions || !subscriptions->has_itree)
 *           mmu_notifier_register(NULL, mm);      // mmap_write_lock; __mmu_notifier_register; unlock
 *   return __mmu_interval_notifier_insert(...);   // under subscriptions->lock
 *
 * Until the insert step the subscription is the caller's alone (unpublished); from it on, an
 * invalidation running in the tree sees it only at the next epoch (deferred insert) and sets its
 * seq so that a read_begin made now waits for that epoch to end. has_notifiers / has_itree go from
 * 0 to 1 once, under mmap_lock for write, and are read without a lock (mm_has_notifiers): an
 * invalidation that read 0 just before may skip the new subscription, which has mapped nothing yet
 * (its driver must read_begin after the insert).
 */
export const mmuIntervalNotifierInsert = KERNEL.routine({
  name: 'mmu_interval_notifier_insert',
  params: ['sub', 'mm', 'start', 'length', 'ops', 'priv'],
  steps: {
    load: {
      at: 'mm/mmu_notifier.c:mmu_interval_notifier_insert smp_load_acquire(&mm->notifier_subscriptions)',
      run: (w, l) => (w.obj(MM, l.mm).hasItree ? 'insert' : 'register'),
    },
    register: {
      at: 'mm/mmu_notifier.c:mmu_notifier_register mmap_write_lock',
      run: (w, l) => downWrite(w, mmapLock(w, l.mm)) || 'registered',
    },
    registered: {
      at: 'mm/mmu_notifier.c:__mmu_notifier_register',
      run: (w, l) => {
        const m = w.obj(MM, l.mm);
        if (m.users <= 0) w.bug(`mmu_notifier_register on mm ${l.mm} without mm_users (BUG_ON(atomic_read(&mm->mm_users) <= 0))`);
        m.hasNotifiers = 1; // smp_store_release(&mm->notifier_subscriptions, subscriptions)
        m.hasItree = 1; // mm->notifier_subscriptions->has_itree = true
        upWrite(w, mmapLock(w, l.mm));
        return 'insert';
      },
    },
    insert: {
      at: 'mm/mmu_notifier.c:__mmu_interval_notifier_insert',
      within: [SUBSCRIPTIONS_LOCK],
      run: (w, l) => {
        if (!(w.mutation !== null && dropRegistration(w))) itreeInsert(w, l.sub, l.mm, l.start, l.length, l.ops, l.priv);
        return w.ret(0);
      },
    },
  },
});

/** include/linux/mmu_notifier.h:mmu_interval_set_seq — called by ops->invalidate under the driver lock. */
export function mmuIntervalSetSeq(w: World, sub: number, curSeq: number): void {
  if (w.mutation !== null && deferSetSeq(w, sub, curSeq)) return;
  w.obj(MIN, sub).seq = curSeq;
}

/** include/linux/mmu_notifier.h:mmu_interval_read_retry — must be called under the driver lock. */
export function mmuIntervalReadRetry(w: World, sub: number, seq: number): boolean {
  if (w.mutation !== null && dropRecheck(w)) return false;
  return w.obj(MIN, sub).seq !== seq;
}

/** include/linux/mmu_notifier.h:mmu_interval_check_retry — lockless, advisory. */
export function mmuIntervalCheckRetry(w: World, sub: number, seq: number): boolean {
  return w.readOnce(() => w.obj(MIN, sub).seq !== seq);
}

/**
 * mm/mmu_notifier.c:mmu_interval_read_begin. Two steps, as in the kernel: read seq and
 * is_invalidating under the spinlock, then wait_event(wq, S != seq) if invalidating.
 * Returns seq.
 */
export const mmuIntervalReadBegin = KERNEL.routine({
  name: 'mmu_interval_read_begin',
  params: ['sub'],
  locals: ['seq', 'invalidating'],
  counters: { seq: INTERVAL_SEQ },
  steps: {
    read: {
      at: 'mm/mmu_notifier.c:mmu_interval_read_begin',
      within: [SUBSCRIPTIONS_LOCK],
      // seq = READ_ONCE(interval_sub->invalidate_seq): the driver's lock is not held here.
      lockless: ['intervalNotifier.seq'],
      run: (w, l) => {
        const s = w.obj(MIN, l.sub);
        if (isNone(s.mm)) {
          // interval_sub->mm->notifier_subscriptions: an oops on a subscription never inserted.
          w.bug(`mmu_interval_read_begin on interval notifier ${l.sub}, which was never inserted (NULL interval_sub->mm)`);
          return w.ret(0);
        }
        const mm = deref(s.mm, 'mmu_interval_notifier.mm');
        l.seq = s.seq;
        l.invalidating = s.seq === w.obj(MM, mm).invalidateSeq ? 1 : 0;
        if (w.obj(TASK, w.actor).inNotifier > 0) w.bug('mmu_interval_read_begin called from an invalidate callback');
        // "The possible sleep on progress in the invalidation requires the caller not hold any locks
        // held by invalidation callbacks": lock_map_acquire + release of the notifier map.
        if (w.lockOrder !== null) notifierMapAcquire(w);
        return l.invalidating ? 'wait' : w.ret(l.seq);
      },
    },
    wait: {
      at: 'mm/mmu_notifier.c:mmu_interval_read_begin wait_event',
      lockless: ['mm.invalidateSeq'], // READ_ONCE(subscriptions->invalidate_seq) != seq
      run: (w, l) => {
        const mm = deref(w.obj(MIN, l.sub).mm, 'mmu_interval_notifier.mm');
        if (w.obj(MM, mm).invalidateSeq === l.seq) return BLOCK_SLEEP;
        return w.ret(l.seq);
      },
    },
  },
});

/**
 * mm/mmu_notifier.c:mmu_interval_notifier_remove. If the tree is invalidating, a subscription in
 * the tree is queued for removal and the caller sleeps until the epoch ends; one still waiting to
 * be inserted is simply dropped. Then mmdrop.
 */
export const mmuIntervalNotifierRemove = KERNEL.routine({
  name: 'mmu_interval_notifier_remove',
  params: ['sub'],
  locals: ['mm', 'seq'],
  counters: { seq: INTERVAL_SEQ },
  steps: {
    unlink: {
      at: 'mm/mmu_notifier.c:mmu_interval_notifier_remove',
      within: [SUBSCRIPTIONS_LOCK],
      run: (w, l) => {
        const s = w.obj(MIN, l.sub);
        l.mm = deref(s.mm, 'mmu_interval_notifier.mm');
        if (w.lockOrder !== null) notifierMapAcquire(w); // lock_map_acquire + release before the wait, as in read_begin
        if (itreeIsInvalidating(w, l.mm)) {
          if (s.state === MIN_DEFERRED_INSERT) {
            s.state = MIN_UNUSED;
          } else {
            s.state = MIN_DEFERRED_REMOVE;
            l.seq = w.obj(MM, l.mm).invalidateSeq;
          }
        } else {
          if (s.state !== MIN_INSERTED) w.bug(`mmu_interval_notifier_remove of sub ${l.sub} not in the tree`);
          s.state = MIN_UNUSED;
        }
        return 'wait';
      },
    },
    wait: {
      at: 'mm/mmu_notifier.c:mmu_interval_notifier_remove wait_event',
      lockless: ['mm.invalidateSeq'], // wait_event(wq, READ_ONCE(subscriptions->invalidate_seq) != seq)
      run: (w, l) => {
        if (l.seq !== 0 && w.obj(MM, l.mm).invalidateSeq === l.seq) return BLOCK_SLEEP;
        return 'mmdrop';
      },
    },
    mmdrop: {
      at: 'mm/mmu_notifier.c:mmu_interval_notifier_remove mmdrop',
      run: (w, l) => {
        const m = w.obj(MM, l.mm);
        m.count = m.count - 1; // mmdrop
        // Out of the tree, the subscription is the caller's again (the model zeroes it: equal states).
        w.own(MIN, l.sub);
        const s = w.obj(MIN, l.sub);
        if (s.state === MIN_UNUSED) {
          s.mm = NONE;
          s.start = 0;
          s.last = 0;
          s.seq = 0;
          s.invalidate = NONE;
          s.priv = NONE;
        }
        return w.ret(0);
      },
    },
  },
});

/**
 * mm/mmu_notifier.c:mn_itree_invalidate — opens the epoch (mn_itree_inv_start_range), then calls
 * ops->invalidate(sub, start, end, event, blockable, cur_seq) of every overlapping subscription,
 * one call per step boundary. A callback returning false (only legal when non-blockable) ends the
 * epoch here and fails with -EAGAIN: the caller must not call invalidate_range_end.
 */
export const mnItreeInvalidate = KERNEL.routine({
  name: 'mn_itree_invalidate',
  params: ['mm', 'start', 'end', 'event', 'blockable'],
  locals: ['curSeq', 'next'],
  counters: { curSeq: INTERVAL_SEQ },
  steps: {
    startRange: {
      at: 'mm/mmu_notifier.c:mn_itree_inv_start_range',
      run: (w, l) => {
        l.curSeq = mnItreeInvStartRange(w, l.mm, l.start, l.end);
        return 'callNext';
      },
    },
    callNext: {
      at: 'mm/mmu_notifier.c:mn_itree_inv_next',
      // No lock in the C: while the epoch is open (A > 0) inserts and removes are deferred, so the
      // tree cannot change under the walk — the exclusion the lock would give.
      within: [SUBSCRIPTIONS_LOCK],
      run: (w, l) => {
        // An even cur_seq: mn_itree_inv_start_range found no overlapping subscription, so the C's
        // loop never starts — even if one is inserted meanwhile (inserted at once, since the tree is
        // not invalidating: it never hears of this invalidation, which began before it existed).
        if ((l.curSeq & 1) === 0) return w.ret(0);
        const sub = itreeNextOverlap(w, l.mm, l.start, l.end, l.next);
        if (sub < 0) return w.ret(0);
        l.next = sub + 1;
        enterCallback(w, l.blockable);
        return w.callRef(w.obj(MIN, sub).invalidate, 'returned', sub, l.start, l.end, l.event, l.blockable, l.curSeq);
      },
    },
    returned: {
      at: 'mm/mmu_notifier.c:mn_itree_invalidate',
      run: (w, l) => {
        leaveCallback(w, l.blockable);
        if (l.result !== 0) return 'callNext';
        if (l.blockable) {
          w.bug('interval notifier ops->invalidate returned false in a blockable invalidation (WARN_ON)');
          return 'callNext';
        }
        mnItreeInvEnd(w, l.mm); // out_would_block
        return w.ret(-EAGAIN);
      },
    },
  },
});

/** Bookkeeping around every notifier callback: lockdep's invalidate map and non_block_start(). */
export function enterCallback(w: World, blockable: number): void {
  const t = w.obj(TASK, w.actor);
  t.inNotifier = t.inNotifier + 1;
  if (!blockable) w.nonblock(1);
}

export function leaveCallback(w: World, blockable: number): void {
  const t = w.obj(TASK, w.actor);
  t.inNotifier = t.inNotifier - 1;
  if (!blockable) w.nonblock(-1);
}
