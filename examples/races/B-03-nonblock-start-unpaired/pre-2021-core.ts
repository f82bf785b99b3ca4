/**
 * The notifier core before "mm/mmu_notifiers: ensure range_end() is paired with range_start()"
 * (c2655835fd8c, v5.12): mn_hlist_invalidate_range_start calls every subscriber's start and,
 * when one fails a non-blockable start with -EAGAIN, returns the error without calling
 * invalidate_range_end on the subscribers whose start succeeded. The OOM reaper then skips the
 * range and never calls end either: a counting subscriber such as KVM stays "in progress" forever.
 *
 * Only this routine changes; every caller (the OOM reaper, munmap, reclaim, ...) runs it.
 */
import { defineEra, EAGAIN, enterCallback, KERNEL, leaveCallback, Library, MM, MN, mnItreeInvalidate, nextHlist, notifierMapAcquire } from 'vmamirror';

const lib = new Library('era-pre-2021-core', [KERNEL], { kind: 'kernel' });

const start = lib.routine({
  name: 'mmu_notifier_invalidate_range_start_v5_11',
  params: ['mm', 'start', 'end', 'event', 'blockable'],
  locals: ['next', 'ret'],
  steps: {
    itree: {
      at: 'mm/mmu_notifier.c:__mmu_notifier_invalidate_range_start',
      run: (w, l) => {
        if (w.lockOrder !== null) notifierMapAcquire(w);
        const m = w.obj(MM, l.mm);
        if (!m.hasNotifiers) return w.ret(0);
        if (!m.hasItree) return 'hlist';
        return w.call(mnItreeInvalidate, 'itreeDone', l.mm, l.start, l.end, l.event, l.blockable);
      },
    },
    itreeDone: {
      at: 'mm/mmu_notifier.c:__mmu_notifier_invalidate_range_start',
      run: (w, l) => (l.result !== 0 ? w.ret(l.result) : 'hlist'),
    },
    hlist: {
      at: 'mm/mmu_notifier.c:mn_hlist_invalidate_range_start',
      run: (w, l) => {
        const mn = nextHlist(w, l.mm, l.next, 'invalidateRangeStart');
        // v5.11: "return ret;" — no end for the subscribers whose start succeeded.
        if (mn < 0) return w.ret(l.ret);
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
          if (l.blockable || l.result !== -EAGAIN) w.bug(`invalidate_range_start of notifier ${l.next - 1} failed with ${l.result} in blockable context (WARN_ON)`);
          l.ret = l.result;
        }
        l.result = 0;
        return 'hlist';
      },
    },
  },
});
lib.replace('mmu_notifier_invalidate_range_start', start);

export default defineEra({
  name: 'pre-2021-core',
  summary: 'v5.11 notifier core: a failed non-blockable invalidate_range_start returns -EAGAIN without pairing the succeeded starts with their end',
  library: lib,
});
