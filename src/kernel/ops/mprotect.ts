/**
 * mprotect(start, end, prot) with prot PROT_READ, PROT_READ|PROT_WRITE or PROT_NONE (mm/mprotect.c,
 * v6.18): do_mprotect_pkey takes mmap_write_lock; per VMA, mprotect_fixup splits at the range ends,
 * updates vm_flags and vm_page_prot (before touching ptes), and change_protection brackets the pte
 * changes with start/end(PROTECTION_VMA) on the VMA's mm; change_pte_range gives every present pte
 * (normal and special) the new protection, pte_modify(oldpte, vm_page_prot): no write without
 * VM_WRITE, protnone under PAGE_NONE (the MMU then faults on every access, and the fault finds a
 * VMA without VM_READ: SIGSEGV), accessible again otherwise; writable migration entries become
 * readable; swap entries are left alone.
 *
 * PROT_READ|PROT_WRITE sets VM_WRITE and runs the same bracket (change_pmd_range opens it for every
 * populated range whatever the new protection) but leaves the ptes read-only: the kernel upgrades
 * a pte in place only under MM_CP_TRY_CHANGE_WRITABLE when can_change_pte_writable holds (a
 * private page must be PageAnonExclusive, which the model does not track), and otherwise leaves it
 * to the next write fault (do_wp_page), which reuses an exclusive page or copies a shared one — the
 * same final state, one fault later, and never an in-place write to a COW-shared frame (cow.c's
 * "mprotect() optimization" variants check exactly that).
 *
 * Simplifications: the range must be fully mapped or nothing is done (-ENOMEM; the kernel
 * changes the VMAs before the hole and then fails); VMAs are not merged afterwards; the kernel
 * opens the bracket lazily per populated PUD (change_pud_range), the model always once per VMA;
 * no VM_MAY* check (-EACCES), no PROT_EXEC. A migration entry carries the protnone its pte will get
 * back (the kernel's remove_migration_pte reads vm_page_prot then): change_pte_range sets it too.
 */
import type { World } from '../../world/world.js';
import { calcVmProtBits, ENOMEM, MMU_NOTIFY_PROTECTION_VMA, VM_READ, VM_WRITE, vmPageProtNone } from '../flags.js';
import { assertHeld, downWrite, mmapLock, ptl, spinLock, spinUnlock, upWrite } from '../locks.js';
import { mmuNotifierInvalidateRangeEnd, mmuNotifierInvalidateRangeStart } from '../notifier/mmu-notifier.js';
import { pte, vma, vmaIndex } from '../pgtable.js';
import { splitVmasAround, vmasIn } from './vma-split.js';
import { tlbDefer, tlbFlushStep, tlbOn } from '../tlb.js';
import { KERNEL } from '../library.js';
import { partialHugePmd, splitHugePmd } from '../huge.js';

/** Whether used VMAs of `mm` cover every page of [start, end). */
function fullyMapped(w: World, mm: number, start: number, end: number): boolean {
  const vmas = vmasIn(w, mm, start, end).map((i) => vma(w, i));
  for (let vpn = start; vpn < end; vpn++) if (!vmas.some((v) => v.start <= vpn && vpn < v.end)) return false;
  return true;
}

/** mm/mprotect.c:change_pte_range with newprot = vm_get_page_prot(`flags`): pte_modify of every present pte and migration entry. */
function changePteRange(w: World, mm: number, start: number, end: number, flags: number): void {
  assertHeld(w, ptl(w, mm), 'change_pte_range');
  const protnone = vmPageProtNone(flags) ? 1 : 0;
  for (let vpn = start; vpn < end; vpn++) {
    const p = pte(w, mm, vpn);
    if (!p.present && !p.migration) continue; // pte_none or a swap entry: left alone
    if (!(flags & VM_WRITE)) p.write = 0; // PROT_WRITE added: ptes left to the write fault (file comment)
    p.protnone = protnone;
    if (p.present) tlbDefer(w, mm, vpn); // tlb_flush_pte_range: flushed in tlb_finish_mmu
  }
}

/** mprotect(mm, start, end, prot): 0 or -ENOMEM. */
export const doMprotectPkey = KERNEL.routine({
  name: 'do_mprotect_pkey',
  params: ['mm', 'start', 'end', 'prot'],
  locals: ['k', 'vma', 'err'],
  steps: {
    lock: {
      at: 'mm/mprotect.c:do_mprotect_pkey mmap_write_lock_killable',
      run: (w, l) => {
        const b = downWrite(w, mmapLock(w, l.mm)); // mmap_write_lock_killable
        if (b) return b;
        if (l.start >= l.end) return 'unlock';
        l.err = fullyMapped(w, l.mm, l.start, l.end) ? splitVmasAround(w, l.mm, l.start, l.end) : -ENOMEM;
        if (l.err) return 'unlock';
        return 'fixup';
      },
    },
    fixup: {
      at: 'mm/mprotect.c:mprotect_fixup',
      lockless: ['pte.huge'], // split_huge_pmd's pmd_trans_huge test, re-checked under the pmd lock (thp layer)
      run: (w, l) => {
        // __split_vma → vma_adjust_trans_huge → split_huge_pmd_address: a PMD a new VMA boundary
        // cuts is split (thp layer, huge.ts), one at a time, this step running again after each;
        // change_pte_range then changes the slots of a whole PMD together, as change_huge_pmd does.
        const haddr = partialHugePmd(w, l.mm, l.start, l.end);
        if (haddr >= 0) return w.call(splitHugePmd, 'fixup', l.mm, haddr);
        for (let k = l.k; k < w.layout.dims.vmasPerMm; k++) {
          const i = vmaIndex(w, l.mm, k);
          const v = vma(w, i);
          if (!v.used || v.end <= l.start || v.start >= l.end) continue;
          l.k = k + 1;
          const newflags = (v.flags & ~(VM_READ | VM_WRITE)) | calcVmProtBits(l.prot); // mask_off_old_flags, calc_vm_prot_bits
          if (newflags === v.flags) continue; // nothing to change: *pprev = vma
          v.flags = newflags; // vm_flags_reset under the write lock, before the ptes
          l.vma = i;
          return w.call(mmuNotifierInvalidateRangeStart, 'change', l.mm, v.start, v.end, MMU_NOTIFY_PROTECTION_VMA, 1);
        }
        return tlbOn(w) ? 'tlbFlush' : 'unlock';
      },
    },
    change: {
      at: 'mm/mprotect.c:change_pte_range',
      run: (w, l) => {
        const b = spinLock(w, ptl(w, l.mm)); // pte_offset_map_lock
        if (b) return b;
        const v = vma(w, l.vma);
        changePteRange(w, l.mm, v.start, v.end, v.flags); // newprot = vma->vm_page_prot
        spinUnlock(w, ptl(w, l.mm));
        l.result = 0;
        return w.call(mmuNotifierInvalidateRangeEnd, 'fixup', l.mm, v.start, v.end, MMU_NOTIFY_PROTECTION_VMA, 1);
      },
    },
    unlock: {
      at: 'mm/mprotect.c:do_mprotect_pkey mmap_write_unlock',
      run: (w, l) => {
        upWrite(w, mmapLock(w, l.mm));
        return w.ret(l.err);
      },
    },
    // do_mprotect_pkey's tlb_finish_mmu after the VMA loop (change_protection gathers into its
    // mmu_gather since v6.1): the flush_tlb_range of every pte changed, after their notifier
    // brackets closed and before mmap_write_unlock. Only with the cpu-tlb layer (kernel/tlb.ts).
    tlbFlush: tlbFlushStep('mm/mprotect.c:do_mprotect_pkey tlb_finish_mmu', 'unlock'),
  },
});
