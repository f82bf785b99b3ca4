/**
 * munmap (mm/mmap.c:__vm_munmap → mm/vma.c:do_vmi_munmap / do_vmi_align_munmap, v6.18):
 * mmap_write_lock; VMAs straddling the range are split (__split_vma); vms_clear_ptes runs
 * unmap_vmas (one UNMAP bracket over [start, end)) and free_pgtables (the VMAs leave the rmap);
 * tlb_finish_mmu puts the pages, after end; remove_vma; unlock.
 *
 * Simplifications: the kernel detaches the VMAs from the mm's tree before clearing ptes and then
 * downgrades to mmap_read_lock (munmap's `unlock` = true), so faults and GUP may run during the
 * zap and find no VMA there. The model keeps the write lock to the end and removes the VMAs at
 * free_pgtables, which is where rmap walkers (reclaim, migration, unmap_mapping_range) stop
 * seeing them in the kernel too. Lock holders observe the same thing; only the downgrade's extra
 * interleavings of readers with the zap are lost.
 */
import { downWrite, mmapLock, upWrite } from '../locks.js';
import { splitVmasAround, vmasIn } from './vma-split.js';
import { vmaClear } from '../pgtable.js';
import { tlbFinishFrom, tlbFinishOne, tlbFlushMmuStep, unmapVmas } from './zap.js';
import { KERNEL } from '../library.js';
import { partialHugePmd, splitHugePmd } from '../huge.js';

/** munmap(mm, start, end): 0, or a split's error: -EINVAL (vm_ops->may_split refused) or -ENOMEM (no VMA slot). */
export const vmMunmap = KERNEL.routine({
  name: '__vm_munmap',
  params: ['mm', 'start', 'end'],
  locals: ['gather', 'err'],
  steps: {
    lock: {
      at: 'mm/mmap.c:__vm_munmap mmap_write_lock_killable',
      run: (w, l) => {
        const b = downWrite(w, mmapLock(w, l.mm)); // mmap_write_lock_killable
        if (b) return b;
        return 'split';
      },
    },
    split: {
      at: 'mm/vma.c:vms_gather_munmap_vmas',
      lockless: ['pte.huge'], // split_huge_pmd's pmd_trans_huge test, re-checked under the pmd lock (thp layer)
      run: (w, l) => {
        if (vmasIn(w, l.mm, l.start, l.end).length === 0) return 'unlock'; // nothing mapped: 0
        l.err = splitVmasAround(w, l.mm, l.start, l.end);
        if (l.err) return 'unlock';
        // __split_vma → vma_adjust_trans_huge → split_huge_pmd_address: a PMD the new boundary
        // cuts is split (thp layer, huge.ts), one at a time, this step running again after each
        // (the VMAs are split already: splitVmasAround then does nothing).
        const haddr = partialHugePmd(w, l.mm, l.start, l.end);
        if (haddr >= 0) return w.call(splitHugePmd, 'split', l.mm, haddr);
        return w.call(unmapVmas, 'freePgtables', l.mm, l.start, l.end);
      },
    },
    freePgtables: {
      at: 'mm/memory.c:free_pgtables',
      run: (w, l) => {
        l.gather = l.result;
        l.result = 0;
        // unlink_anon_vmas / unlink_file_vma, then remove_vma: after the split, exactly the VMAs
        // inside [start, end) go.
        for (const i of vmasIn(w, l.mm, l.start, l.end)) vmaClear(w, i); // mm/vma.c:remove_vma
        return tlbFinishFrom(w, 'tlbFinish');
      },
    },
    tlbFinish: {
      at: 'mm/mmu_gather.c:tlb_finish_mmu',
      run: (w, l) => {
        l.gather = tlbFinishOne(w, l.gather);
        return l.gather ? 'tlbFinish' : 'unlock';
      },
    },
    unlock: {
      at: 'mm/vma.c:vms_complete_munmap_vmas mmap_unlock',
      run: (w, l) => {
        upWrite(w, mmapLock(w, l.mm));
        return w.ret(l.err);
      },
    },
    tlbFlush: tlbFlushMmuStep('tlbFinish'),
  },
});
