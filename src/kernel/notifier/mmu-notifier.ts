/**
 * The invalidation entry points core mm calls around every pte removal, downgrade or
 * replacement (mm/mmu_notifier.c, v6.18): invalidate_range_start runs the interval tree first,
 * then the classic hlist; invalidate_range_end does the same in the same order; release runs
 * the interval notifiers with MMU_NOTIFY_RELEASE and then each hlist ->release, after which hlist
 * subscribers are unlinked and hear nothing more for this mm.
 *
 * Callback signatures (routine parameters):
 *   interval ops->invalidate(sub, start, end, event, blockable, curSeq)  -> 1 (true) / 0 (would block)
 *   ops->invalidate_range_start(mn, mm, start, end, event, blockable)   -> 0 / -EAGAIN
 *   ops->invalidate_range_end(mn, mm, start, end, event, blockable)     -> 0
 *   ops->release(mn, mm)                                                -> 0
 */
import type { AnyRoutine } from '../../world/routine.js';
import type { World } from '../../world/world.js';
import { EAGAIN, MMU_NOTIFY_RELEASE, VPN_MAX } from '../flags.js';
import { MM, MN } from '../structs.js';
import { isNone, NONE, ref, refersTo } from '../ref.js';
import { enterCallback, leaveCallback, mnItreeInvalidate, mnItreeInvEnd, SUBSCRIPTIONS_LOCK } from './interval.js';
import { KERNEL } from '../library.js';
import { dropRegistration } from '../mutation-hooks.js';
import { notifierMapAcquire } from '../lockdep.js';

/** Next classic subscription index ≥ from registered on mm with the given op, or -1 (the hlist walk under SRCU). */
export function nextHlist(w: World, mm: number, from: number, op: 'invalidateRangeStart' | 'invalidateRangeEnd' | 'release' | YoungOp): number {
  // One rcu_dereference of the next node under SRCU: the model's slots stand for the list.
  return w.single(() => {
    const n = w.count(MN);
    for (let i = from; i < n; i++) {
      const s = w.obj(MN, i);
      if (refersTo(s.mm, mm) && !isNone(s[op])) return i;
    }
    return -1;
  });
}

/**
 * include/linux/mmu_notifier.h:mmu_notifier_invalidate_range_start(_nonblock). Returns 0, or
 * -EAGAIN when a non-blockable invalidation would have to sleep; then the caller must skip the
 * range and must not call invalidate_range_end.
 */
export const mmuNotifierInvalidateRangeStart = KERNEL.routine({
  name: 'mmu_notifier_invalidate_range_start',
  params: ['mm', 'start', 'end', 'event', 'blockable'],
  locals: ['next', 'failed'],
  steps: {
    itree: {
      at: 'mm/mmu_notifier.c:__mmu_notifier_invalidate_range_start',
      run: (w, l) => {
        // include/linux/mmu_notifier.h: lock_map_acquire(&__mmu_notifier_invalidate_range_start_map), notifiers or not.
        if (w.lockOrder !== null) notifierMapAcquire(w);
        const m = w.obj(MM, l.mm);
        if (!m.hasNotifiers) return w.ret(0); // mm_has_notifiers()
        if (!m.hasItree) return 'hlist';
        return w.call(mnItreeInvalidate, 'itreeDone', l.mm, l.start, l.end, l.event, l.blockable);
      },
    },
    itreeDone: {
      at: 'mm/mmu_notifier.c:__mmu_notifier_invalidate_range_start',
      run: (w, l) => {
        if (l.result !== 0) return w.ret(l.result);
        return 'hlist';
      },
    },
    hlist: {
      at: 'mm/mmu_notifier.c:mn_hlist_invalidate_range_start',
      run: (w, l) => {
        const mn = nextHlist(w, l.mm, l.next, 'invalidateRangeStart');
        if (mn < 0) return l.failed ? 'undo' : w.ret(0);
        l.next = mn + 1;
        enterCallback(w, l.blockable);
        return w.callRef(w.obj(MN, mn).invalidateRangeStart, 'hlistReturned', mn, l.mm, l.start, l.end, l.event, l.blockable);
      },
    },
    hlistReturned: {
      at: 'mm/mmu_notifier.c:mn_hlist_invalidate_range_start',
      run: (w, l) => {
        leaveCallback(w, l.blockable);
        if (l.result !== 0) {
          const mn = l.next - 1;
          if (l.blockable || l.result !== -EAGAIN) w.bug(`invalidate_range_start of notifier ${mn} failed with ${l.result} in blockable context (WARN_ON)`);
          if (!isNone(w.obj(MN, mn).invalidateRangeEnd)) w.bug(`notifier ${mn} failed start but has invalidate_range_end (WARN_ON)`);
          l.failed = 1;
        }
        l.result = 0;
        return 'hlist';
      },
    },
    // "any that succeeded start are expecting their end to be called. Do so now."
    undo: {
      at: 'mm/mmu_notifier.c:mn_hlist_invalidate_range_start',
      run: (_w, l) => {
        l.next = 0;
        return 'undoNext';
      },
    },
    undoNext: {
      at: 'mm/mmu_notifier.c:mn_hlist_invalidate_range_start',
      run: (w, l) => {
        const mn = nextHlist(w, l.mm, l.next, 'invalidateRangeEnd');
        if (mn < 0) return w.ret(-EAGAIN);
        l.next = mn + 1;
        return w.callRef(w.obj(MN, mn).invalidateRangeEnd, 'undoNext', mn, l.mm, l.start, l.end, l.event, l.blockable);
      },
    },
  },
});

/** include/linux/mmu_notifier.h:mmu_notifier_invalidate_range_end — itree end first, then hlist. */
export const mmuNotifierInvalidateRangeEnd = KERNEL.routine({
  name: 'mmu_notifier_invalidate_range_end',
  params: ['mm', 'start', 'end', 'event', 'blockable'],
  locals: ['next'],
  steps: {
    itree: {
      at: 'mm/mmu_notifier.c:__mmu_notifier_invalidate_range_end',
      run: (w, l) => {
        const m = w.obj(MM, l.mm);
        if (!m.hasNotifiers) return w.ret(0);
        if (w.lockOrder !== null) notifierMapAcquire(w); // lock_map_acquire(&__mmu_notifier_invalidate_range_start_map)
        if (m.hasItree) mnItreeInvEnd(w, l.mm);
        return 'hlist';
      },
    },
    hlist: {
      at: 'mm/mmu_notifier.c:mn_hlist_invalidate_end',
      run: (w, l) => {
        const mn = nextHlist(w, l.mm, l.next, 'invalidateRangeEnd');
        if (mn < 0) return w.ret(0);
        l.next = mn + 1;
        enterCallback(w, l.blockable);
        return w.callRef(w.obj(MN, mn).invalidateRangeEnd, 'hlistReturned', mn, l.mm, l.start, l.end, l.event, l.blockable);
      },
    },
    hlistReturned: {
      at: 'mm/mmu_notifier.c:mn_hlist_invalidate_end',
      run: (w, l) => {
        leaveCallback(w, l.blockable);
        l.result = 0;
        return 'hlist';
      },
    },
  },
});

/**
 * mm/mmu_notifier.c:__mmu_notifier_release — called first thing in exit_mmap. Interval
 * notifiers get invalidate(RELEASE, 0..ULONG_MAX) inside a normal epoch and stay subscribed;
 * hlist subscribers get ->release, then all are unlinked (hlist_del_init_rcu + synchronize_srcu).
 */
export const mmuNotifierRelease = KERNEL.routine({
  name: 'mmu_notifier_release',
  params: ['mm'],
  locals: ['next'],
  steps: {
    itree: {
      at: 'mm/mmu_notifier.c:mn_itree_release',
      run: (w, l) => {
        const m = w.obj(MM, l.mm);
        if (!m.hasNotifiers) return w.ret(0);
        if (!m.hasItree) return 'hlist';
        return w.call(mnItreeInvalidate, 'itreeEnd', l.mm, 0, VPN_MAX, MMU_NOTIFY_RELEASE, 1);
      },
    },
    itreeEnd: {
      at: 'mm/mmu_notifier.c:mn_itree_release',
      run: (w, l) => {
        mnItreeInvEnd(w, l.mm);
        l.result = 0;
        return 'hlist';
      },
    },
    hlist: {
      at: 'mm/mmu_notifier.c:mn_hlist_release',
      run: (w, l) => {
        const mn = nextHlist(w, l.mm, l.next, 'release');
        if (mn < 0) return 'unlink';
        l.next = mn + 1;
        enterCallback(w, 1);
        return w.callRef(w.obj(MN, mn).release, 'hlistReturned', mn, l.mm);
      },
    },
    hlistReturned: {
      at: 'mm/mmu_notifier.c:mn_hlist_release',
      run: (w, l) => {
        leaveCallback(w, 1);
        l.result = 0;
        return 'hlist';
      },
    },
    unlink: {
      at: 'mm/mmu_notifier.c:mn_hlist_release hlist_del_init_rcu',
      within: [SUBSCRIPTIONS_LOCK],
      run: (w, l) => {
        const n = w.count(MN);
        for (let i = 0; i < n; i++) if (refersTo(w.obj(MN, i).mm, l.mm)) w.obj(MN, i).mm = NONE;
        return w.ret(0);
      },
    },
  },
});

export interface MmuNotifierOps {
  readonly invalidateRangeStart?: AnyRoutine;
  readonly invalidateRangeEnd?: AnyRoutine;
  readonly release?: AnyRoutine;
  /** The aging ops, each (mn, mm, start, end) -> 1 if young, else 0 (young.ts). */
  readonly clearFlushYoung?: AnyRoutine;
  readonly clearYoung?: AnyRoutine;
  readonly testYoung?: AnyRoutine;
}

/** The ops pointers of the aging entry points (young.ts). */
export type YoungOp = 'clearFlushYoung' | 'clearYoung' | 'testYoung';

/**
 * mm/mmu_notifier.c:mmu_notifier_register — as a setup action (the kernel serialises it against
 * every invalidation with mmap_write_lock + mm_take_all_locks, so no interleaving is lost by
 * doing it before the actors start). Classic subscription `mn` on `mm`, mmgrab.
 */
/** `priv` is the subscriber's own object index (stored as a reference). */
export function mmuNotifierRegister(w: World, mn: number, mm: number, ops: MmuNotifierOps, priv: number): void {
  if (w.mutation !== null && dropRegistration(w)) return;
  const s = w.obj(MN, mn);
  if (!isNone(s.mm)) throw new Error(`mmu notifier ${mn} is already registered`);
  const m = w.obj(MM, mm);
  if (m.users <= 0) w.bug(`mmu_notifier_register on mm ${mm} without mm_users (BUG_ON)`);
  m.hasNotifiers = 1;
  m.count = m.count + 1;
  s.mm = ref(mm);
  s.invalidateRangeStart = w.routineRef(ops.invalidateRangeStart);
  s.invalidateRangeEnd = w.routineRef(ops.invalidateRangeEnd);
  s.release = w.routineRef(ops.release);
  s.priv = ref(priv);
  s.clearFlushYoung = w.routineRef(ops.clearFlushYoung);
  s.clearYoung = w.routineRef(ops.clearYoung);
  s.testYoung = w.routineRef(ops.testYoung);
}
