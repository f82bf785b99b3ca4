/**
 * The OOM reaper (mm/oom_kill.c:oom_reap_task_mm / __oom_reap_task_mm, v6.18). It holds only
 * mm_count, takes mmap_read_trylock (fails → "try again later", returns false), and for each VMA
 * that is not VM_HUGETLB|VM_PFNMAP and is anonymous or private opens a NON-blockable UNMAP bracket
 * (mmu_notifier_invalidate_range_start_nonblock). If that fails with -EAGAIN the VMA is skipped
 * WITHOUT calling end (tlb_finish_mmu with nothing gathered; ret = false); otherwise
 * unmap_page_range, end (non-blockable too: the range has no BLOCKABLE flag), tlb_finish_mmu.
 * Callbacks that sleep while non-blockable are reported by the runner.
 *
 * Not modelled: MMF_OOM_SKIP / MMF_UNSTABLE (see exit.ts), the retry loop of oom_reap_task.
 */
import { MMU_NOTIFY_UNMAP, VM_ANON, VM_HUGETLB, VM_PFNMAP, VM_SHARED } from '../flags.js';
import { downReadTrylock, mmapLock, ptl, spinLock, spinUnlock, upRead } from '../locks.js';
import { mmuNotifierInvalidateRangeEnd, mmuNotifierInvalidateRangeStart } from '../notifier/mmu-notifier.js';
import { vma, vmaIndex } from '../pgtable.js';
import { tlbFinishFrom, tlbFinishOne, tlbFlushMmuStep, zapPteRange } from './zap.js';
import { KERNEL } from '../library.js';

/** oom_reap_task_mm(mm): 1 if the whole mm was reaped, 0 if it must be retried. */
export const oomReapTaskMm = KERNEL.routine({
  name: 'oom_reap_task_mm',
  params: ['mm'],
  locals: ['k', 'vma', 'failed', 'gather'],
  steps: {
    lock: {
      at: 'mm/oom_kill.c:oom_reap_task_mm mmap_read_trylock',
      run: (w, l) => {
        if (!downReadTrylock(w, mmapLock(w, l.mm))) return w.ret(0); // mmap_read_trylock failed: trace_skip_task_reaping
        return 'nextVma';
      },
    },
    nextVma: {
      at: 'mm/oom_kill.c:__oom_reap_task_mm for_each_vma',
      run: (w, l) => {
        const per = w.layout.dims.vmasPerMm;
        for (let k = l.k; k < per; k++) {
          const i = vmaIndex(w, l.mm, k);
          const v = vma(w, i);
          if (!v.used) continue;
          if (v.flags & (VM_HUGETLB | VM_PFNMAP)) continue;
          // "Only anonymous pages have a good chance to be dropped without additional steps"
          if (!(v.flags & VM_ANON) && v.flags & VM_SHARED) continue;
          l.k = k + 1;
          l.vma = i;
          return w.call(mmuNotifierInvalidateRangeStart, 'zap', l.mm, v.start, v.end, MMU_NOTIFY_UNMAP, 0);
        }
        l.k = 0;
        l.vma = 0;
        return 'unlock';
      },
    },
    zap: {
      at: 'mm/oom_kill.c:__oom_reap_task_mm unmap_page_range',
      run: (w, l) => {
        if (l.result !== 0) {
          // start_nonblock failed: tlb_finish_mmu(empty); ret = false; continue — and no end.
          l.failed = 1;
          l.result = 0;
          return 'nextVma';
        }
        const b = spinLock(w, ptl(w, l.mm)); // pte_offset_map_lock
        if (b) return b;
        const v = vma(w, l.vma);
        l.gather = zapPteRange(w, l.mm, v.start, v.end, 1, l.gather);
        spinUnlock(w, ptl(w, l.mm));
        return w.call(mmuNotifierInvalidateRangeEnd, tlbFinishFrom(w, 'tlbFinish'), l.mm, v.start, v.end, MMU_NOTIFY_UNMAP, 0);
      },
    },
    tlbFinish: {
      at: 'mm/mmu_gather.c:tlb_finish_mmu',
      run: (w, l) => {
        l.gather = tlbFinishOne(w, l.gather);
        return l.gather ? 'tlbFinish' : 'nextVma';
      },
    },
    unlock: {
      at: 'mm/oom_kill.c:oom_reap_task_mm mmap_read_unlock',
      run: (w, l) => {
        upRead(w, mmapLock(w, l.mm));
        return w.ret(l.failed ? 0 : 1);
      },
    },
    tlbFlush: tlbFlushMmuStep('tlbFinish'),
  },
});
