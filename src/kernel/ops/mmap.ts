/**
 * mmap(addr, len, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED_NOREPLACE) of pages
 * [start, end) (v6.18): mm/util.c:vm_mmap_pgoff takes mmap_write_lock_killable and calls
 * mm/mmap.c:do_mmap, which fails with -EEXIST if a VMA intersects the range (MAP_FIXED_NOREPLACE:
 * find_vma_intersection), then mm/vma.c:__mmap_region → __mmap_new_vma: vm_area_alloc (-ENOMEM),
 * vma_set_range, vm_flags_init, vm_page_prot, vma_set_anonymous (no vm_ops), vma_iter_store_new
 * (the VMA is in the mm's tree). An anonymous VMA starts with no ptes and no anon_vma: its pages
 * come from do_anonymous_page at the first fault. Installing a VMA over an empty range fires no
 * notifier (kernel-semantics.md §5: nothing was mapped there).
 *
 * The fixed address stands for what hmm-tests.c's mmap(NULL, …) gets after a munmap: the
 * top-down allocator hands the freed range out again (get_unmapped_area). A scenario names the
 * range; a range still mapped is the kernel's -EEXIST, not a replacement (no MAP_FIXED unmap).
 *
 * Simplifications: no VMA merge with an anonymous neighbour (vma_merge_new_range; VMAs are not
 * merged anywhere in the model), no accounting (may_expand_vm, security_vm_enough_memory_mm), no
 * MAP_POPULATE; the model's slots bound the VMAs an mm has (-ENOMEM, as vm_area_alloc failing).
 */
import { EEXIST, ENOMEM, ESRCH, VM_ANON, VM_READ, VM_WRITE } from '../flags.js';
import { downWrite, mmapLock, upWrite } from '../locks.js';
import { freeVmaSlot, vma } from '../pgtable.js';
import { vmasIn } from './vma-split.js';
import { KERNEL } from '../library.js';
import { MM } from '../structs.js';

/** mmap of an anonymous private read-write VMA over [start, end) of `mm`: 0, -EEXIST, -ENOMEM, or -ESRCH for an mm no process uses. */
export const vmMmapPgoff = KERNEL.routine({
  name: 'vm_mmap_pgoff',
  params: ['mm', 'start', 'end'],
  locals: ['err'],
  steps: {
    lock: {
      at: 'mm/util.c:vm_mmap_pgoff mmap_write_lock_killable',
      run: (w, l) => {
        const b = downWrite(w, mmapLock(w, l.mm)); // mmap_write_lock_killable
        if (b) return b;
        // No thread of the mm's process exists (a scenario may name the fork child before its fork,
        // or a process after its exit, whose exit_mmap dropped mm_users before taking this lock):
        // there is no current->mm to map into.
        if (w.obj(MM, l.mm).users === 0) {
          l.err = -ESRCH;
          return 'unlock';
        }
        // do_mmap → __mmap_region → __mmap_new_vma, all under the write lock: one step
        if (vmasIn(w, l.mm, l.start, l.end).length > 0) {
          l.err = -EEXIST; // do_mmap: MAP_FIXED_NOREPLACE and find_vma_intersection
          return 'unlock';
        }
        const i = freeVmaSlot(w, l.mm); // vm_area_alloc
        if (i < 0) {
          l.err = -ENOMEM;
          return 'unlock';
        }
        const v = vma(w, i);
        // vma_set_range(vma, addr, end, pgoff): an anonymous private mapping's pgoff is addr >> PAGE_SHIFT (do_mmap)
        v.start = l.start;
        v.end = l.end;
        v.pgoff = l.start;
        v.flags = VM_ANON | VM_READ | VM_WRITE; // vm_flags_init: calc_vm_prot_bits(PROT_READ|PROT_WRITE); vma_set_anonymous
        v.used = 1; // vma_iter_store_new: find_vma sees it from here
        return 'unlock';
      },
    },
    unlock: {
      at: 'mm/util.c:vm_mmap_pgoff mmap_write_unlock',
      run: (w, l) => {
        upWrite(w, mmapLock(w, l.mm));
        return w.ret(l.err);
      },
    },
  },
});
