/**
 * A user-space load or store by a thread of `mm` (what the CPU and arch/x86/mm/fault.c do): the
 * access goes through the pte if it allows it; otherwise the arch handler takes mmap_read_lock,
 * checks the VMA (access_error), calls handle_mm_fault and retries the instruction.
 *
 * Returns the value read (or written), or -EFAULT for what would be SIGSEGV/SIGBUS.
 * A fault handler returning VM_FAULT_RETRY must already have released mmap_lock (as the kernel's
 * FAULT_FLAG_ALLOW_RETRY contract says); the access is then retried from the top.
 */
import { EFAULT, VM_FAULT_RETRY, VM_READ, VM_WRITE } from '../flags.js';
import { downRead, mmapLock, upRead } from '../locks.js';
import { findVma, pte, vma } from '../pgtable.js';
import { PAGE } from '../structs.js';
import { handleMmFault, VM_FAULT_ERROR } from './fault.js';
import { KERNEL } from '../library.js';
import { flushTlbPage, tlbEntry, tlbFill, tlbOn } from '../tlb.js';
import { dirtyAccessed } from '../dirty.js';
import type { World } from '../../world/world.js';
import type { PteView } from '../pgtable.js';

/** The load or store itself, through a translation of (mm, vpn) to `pfn` made at page generation `gen`. */
function load(w: World, l: { mm: number; vpn: number; write: number; value: number }, pfn: number, gen: number, through: string): number {
  const pg = w.obj(PAGE, pfn);
  if (w.instrument(() => pg.free || pg.gen !== gen)) w.bug(`user access to mm ${l.mm} vpn ${l.vpn} through a stale ${through} (pfn ${pfn} was freed or reused)`);
  if (l.write) {
    pg.contents = l.value;
    return w.ret(l.value);
  }
  return w.ret(pg.contents);
}

/** The dirty-accessed layer: SDM vol. 3 §4.8, the walk sets Accessed on any access, Dirty on a write, in the entry. */
function markYoungDirty(w: World, p: PteView, write: number): void {
  if (!dirtyAccessed(w)) return;
  p.young = 1;
  if (write) p.dirty = 1;
}

export const cpuAccess = KERNEL.routine({
  name: 'cpu_access',
  params: ['mm', 'vpn', 'write', 'value'],
  steps: {
    // The load/store itself: one atomic access through the (TLB-cached) pte.
    access: {
      at: 'hw: user load/store',
      // The hardware page walk takes no lock; with the dirty-accessed layer it also sets the pte's
      // accessed (and, for a store, dirty) bit: a locked update of the entry (hw step).
      lockless: ['pte.pfn', 'pte.present', 'pte.write', 'pte.special', 'pte.swap', 'pte.migration', 'pte.protnone', 'pte.young', 'pte.dirty'],
      // One instruction: the translation and the load/store retire together, and a TLB shootdown
      // IPI is taken between instructions — one access for the lock discipline (w.single).
      run: (w, l) =>
        w.single(() => {
          if (tlbOn(w)) {
            // The cpu-tlb layer (kernel/tlb.ts): a hit uses the cached translation without walking
            // the pte. A write to an entry without write permission is a page fault, and the CPU
            // drops the entry before it (x86: "invalidates TLB entries for that linear address"):
            // then it walks as on a miss.
            const e = tlbEntry(w, l.mm, l.vpn);
            if (e.pfn !== 0 && (!l.write || e.write)) {
              if (!l.write || !dirtyAccessed(w)) return load(w, l, e.pfn, e.gen, 'CPU TLB entry');
              // With dirty bits too, the entry is taken to cache D = 0: a store walks to set the
              // pte's dirty bit (SDM §4.8) and faults if the pte is gone — a store through an entry
              // with D cached is not modelled (the pte was dirty then, so reclaim and zap already
              // move it to the folio; only that interleaving is left out).
              const q = pte(w, l.mm, l.vpn);
              if (q.present && !q.protnone && q.pfn === e.pfn) {
                markYoungDirty(w, q, 1);
                return load(w, l, e.pfn, e.gen, 'CPU TLB entry');
              }
            }
          }
          const p = pte(w, l.mm, l.vpn);
          if (!p.present || p.protnone || (l.write && !p.write)) {
            flushTlbPage(w, l.mm, l.vpn); // a fault leaves no entry for the address
            return 'lock'; // a protnone pte lacks _PAGE_PRESENT: the MMU faults
          }
          markYoungDirty(w, p, l.write);
          tlbFill(w, l.mm, l.vpn, p.pfn, p.write, p.gen);
          return load(w, l, p.pfn, p.gen, 'pte');
        }),
    },
    lock: {
      at: 'arch/x86/mm/fault.c:do_user_addr_fault mmap_read_lock',
      run: (w, l) => {
        const b = downRead(w, mmapLock(w, l.mm)); // mmap_read_lock
        if (b) return b;
        const vi = findVma(w, l.mm, l.vpn);
        const flags = vi < 0 ? 0 : vma(w, vi).flags;
        if (vi < 0 || !(flags & (l.write ? VM_WRITE : VM_READ))) {
          upRead(w, mmapLock(w, l.mm)); // bad_area / access_error: SIGSEGV
          return w.ret(-EFAULT);
        }
        return w.call(handleMmFault, 'faulted', l.mm, l.vpn, l.write);
      },
    },
    faulted: {
      at: 'arch/x86/mm/fault.c:do_user_addr_fault',
      run: (w, l) => {
        const r = l.result;
        l.result = 0;
        if (r & VM_FAULT_RETRY) return 'access'; // mmap_lock already dropped by the handler
        upRead(w, mmapLock(w, l.mm));
        if (r & VM_FAULT_ERROR) return w.ret(-EFAULT);
        return 'access';
      },
    },
  },
});
