/**
 * madvise(MADV_DONTNEED) (mm/madvise.c, v6.18): under mmap_read_lock, every VMA of the range is
 * zapped with zap_page_range_single (CLEAR on this mm); pages are put in tlb_finish_mmu after end.
 * madvise_dontneed_free_valid_vma refuses VM_PFNMAP (and VM_LOCKED, not modelled) with -EINVAL;
 * a hole in the range gives -ENOMEM after the mapped parts were done (madvise_walk_vmas).
 *
 * Simplification: v6.16+ may take a per-VMA lock instead of mmap_read_lock for a single-VMA
 * range; the model has no per-VMA locks and always takes mmap_read_lock.
 */
import { EINVAL, ENOMEM, VM_PFNMAP } from '../flags.js';
import { downRead, mmapLock, upRead } from '../locks.js';
import { vma, vmaIndex } from '../pgtable.js';
import { zapPageRangeSingle } from './zap.js';
import { KERNEL } from '../library.js';

/** mm/madvise.c:do_madvise(mm, start, len, MADV_DONTNEED) → madvise_dontneed_single_vma per VMA: returns 0, -EINVAL or -ENOMEM. */
export const madviseDontneed = KERNEL.routine({
  name: 'do_madvise', // behavior MADV_DONTNEED only
  params: ['mm', 'start', 'end'],
  locals: ['cur', 'err'],
  steps: {
    lock: {
      at: 'mm/madvise.c:madvise_lock mmap_read_lock',
      run: (w, l) => {
        const b = downRead(w, mmapLock(w, l.mm)); // mmap_read_lock
        if (b) return b;
        l.cur = l.start;
        return 'walk';
      },
    },
    walk: {
      at: 'mm/madvise.c:madvise_walk_vmas',
      run: (w, l) => {
        // `if (start >= end) break;`: a range ending inside a VMA is done once that VMA's part is.
        if (l.cur >= l.end) return 'unlock';
        // find_vma: the lowest VMA ending above cur.
        let best = -1;
        for (let k = 0; k < w.layout.dims.vmasPerMm; k++) {
          const i = vmaIndex(w, l.mm, k);
          const v = vma(w, i);
          if (v.used && v.end > l.cur && (best < 0 || v.start < vma(w, best).start)) best = i;
        }
        if (best < 0 || vma(w, best).start >= l.end) {
          if (l.cur < l.end) l.err = -ENOMEM; // unmapped tail
          return 'unlock';
        }
        const v = vma(w, best);
        if (v.start > l.cur) l.err = -ENOMEM; // hole before this VMA: keep going, report at the end
        if (v.flags & VM_PFNMAP) {
          l.err = -EINVAL;
          return 'unlock';
        }
        const s = Math.max(l.cur, v.start);
        const e = Math.min(l.end, v.end);
        l.cur = e;
        return w.call(zapPageRangeSingle, 'walk', l.mm, best, s, e);
      },
    },
    unlock: {
      at: 'mm/madvise.c:madvise_unlock mmap_read_unlock',
      run: (w, l) => {
        upRead(w, mmapLock(w, l.mm));
        return w.ret(l.err);
      },
    },
  },
});
