/**
 * mm/hmm.c:hmm_invalidate_range_start before "mm/hmm: Fix error flows in
 * hmm_invalidate_range_start" (5a136b4ae327, v5.3), on the core of its time (B-03's era, which does
 * not call invalidate_range_end after a failed start):
 *   - when down_read_trylock(&hmm->mirrors_sem) fails it returns -EAGAIN without undoing
 *     hmm->notifiers++, so no range is ever valid again;
 *   - when a mirror's sync_cpu_device_pagetables returns -EAGAIN it stops, but the -EAGAIN lands in
 *     a shadowed inner `ret`, so the start returns 0 although the device kept its entries.
 */
import { defineEra, EAGAIN, HMM_MIRROR, HMM_RANGE, KERNEL, Library, MM, RANGES_LOCK, refersTo, trylockRefused } from 'vmamirror';
import preCore from '../B-03-nonblock-start-unpaired/pre-2021-core.js';

const lib = new Library('era-v5-2-hmm', [KERNEL, preCore.library], { kind: 'kernel' });

const start = lib.routine({
  name: 'hmm_invalidate_range_start_v5_2',
  params: ['mn', 'mm', 'start', 'end', 'event', 'blockable'],
  locals: ['next', 'ret'],
  steps: {
    mark: {
      at: 'mm/hmm.c:hmm_invalidate_range_start mutex_lock(&hmm->lock)',
      within: [RANGES_LOCK],
      run: (w, l) => {
        const m = w.obj(MM, l.mm);
        m.hmmNotifiers = m.hmmNotifiers + 1;
        for (let i = 0; i < w.count(HMM_RANGE); i++) {
          const r = w.obj(HMM_RANGE, i);
          if (!refersTo(r.mm, l.mm) || l.end < r.start || l.start >= r.end) continue;
          r.valid = 0;
        }
        // else if (!down_read_trylock(&hmm->mirrors_sem)) { ret = -EAGAIN; goto out; } — and out: does not decrement.
        if (!l.blockable && trylockRefused(w)) return w.ret(-EAGAIN);
        return 'sync';
      },
    },
    sync: {
      at: 'mm/hmm.c:hmm_invalidate_range_start mirror->ops->sync_cpu_device_pagetables',
      run: (w, l) => {
        let mi = l.next;
        while (mi < w.count(HMM_MIRROR) && !refersTo(w.obj(HMM_MIRROR, mi).mm, l.mm)) mi++;
        if (mi >= w.count(HMM_MIRROR)) return w.ret(0);
        l.next = mi + 1;
        return w.callRef(w.obj(HMM_MIRROR, mi).sync, 'synced', mi, l.start, l.end, l.event, l.blockable);
      },
    },
    synced: {
      at: 'mm/hmm.c:hmm_invalidate_range_start',
      run: (w, l) => {
        // `int ret = ...sync(...); if (!update.blockable && ret == -EAGAIN) { up_read; ret = -EAGAIN; goto out; }`:
        // the inner ret shadows the outer one, which stays 0.
        const stop = !l.blockable && l.result === -EAGAIN;
        l.result = 0;
        return stop ? w.ret(0) : 'sync';
      },
    },
  },
});
lib.replace('hmm_invalidate_range_start', start);

export default defineEra({
  name: 'v5-2-hmm',
  summary: "v5.2's hmm_invalidate_range_start (a failed mirrors_sem trylock leaks hmm->notifiers; a mirror's -EAGAIN is lost) on v5.11's notifier core",
  library: lib,
});
