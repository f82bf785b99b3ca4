/**
 * Inserting raw pfns into a VM_PFNMAP / VM_MIXEDMAP VMA from a driver's ->fault
 * (mm/memory.c: vmf_insert_pfn_prot, vmf_insert_mixed(_mkwrite), insert_pfn).
 *
 * insert_pfn takes the ptl itself (get_locked_pte); if the pte is not none it leaves it alone,
 * otherwise it installs a *special* pte: no refcount, no mapcount, no rmap and no notifier
 * (nothing was mapped, so no secondary can hold a stale copy). Both paths return VM_FAULT_NOPAGE.
 *
 * Two forms:
 *  - the routines `vmf_insert_pfn` / `vmf_insert_mixed` (params vma, vpn, pfn, write): one step
 *    that spins while another actor holds the ptl, then does the whole ptl critical section;
 *  - the plain functions `vmfInsertPfn` / `vmfInsertPfnProt` / `vmfInsertMixed`, for a driver step that does more
 *    around the insert (e.g. under its own lock). That step must first return what
 *    `insertPfnBusy(w, vmaIndex)` returns when it is not 0 (BLOCK_SPIN), before writing anything;
 *    calling the function while the ptl is held throws (a model error, not a kernel one).
 * Since the ptl is taken and dropped inside one step, no other actor ever observes it held: the
 * critical section touches only the pte it protects.
 *
 * `write` selects the _mkwrite variants (vmf_insert_mixed_mkwrite): the pte is writable when the
 * VMA is VM_WRITE and either shared (vm_page_prot is writable) or mkwrite was asked; a mkwrite
 * insert over a present pte of the same pfn upgrades it to writable (an upgrade needs no
 * notifier).
 */
import type { World } from '../../world/world.js';
import { isCowMapping, VM_FAULT_NOPAGE, VM_FAULT_SIGBUS, VM_MIXEDMAP, VM_PFNMAP, VM_SHARED, VM_WRITE } from '../flags.js';
import { pte, pteNone, setPte, vma, vmaMm } from '../pgtable.js';
import { PAGE } from '../structs.js';
import { assertWriteHeld, mmapLock, ptl, spinLock, spinLockBusy, spinUnlock } from '../locks.js';
import { EBUSY } from '../flags.js';
import { getPage, pageDupRmap } from '../page.js';
import { ModelError } from '../../world/errors.js';
import { KERNEL } from '../library.js';
import { installWritable, kernelApi } from '../mutation-hooks.js';

/**
 * What a step about to call vmfInsertPfn/vmfInsertMixed on this VMA must return first: BLOCK_SPIN
 * while the ptl is held (by the caller itself: an AA deadlock, reported), else 0.
 */
export function insertPfnBusy(w: World, vmaIndex: number): number {
  return spinLockBusy(w, ptl(w, vmaMm(w, vmaIndex)));
}

/**
 * mm/memory.c:insert_pfn — under the ptl (taken and released here). `prot` is the pte's
 * writability from the pgprot (undefined: vma->vm_page_prot, writable for shared writable VMAs).
 */
function insertPfn(w: World, vmaIndex: number, vpn: number, pfn: number, mkwrite: boolean, what: string, prot?: boolean): number {
  const mm = vmaMm(w, vmaIndex);
  const lock = ptl(w, mm);
  // The ptl is the kernel's own lock, taken inside a driver's step: not a site of the driver's (mutation-hooks.ts).
  if (w.mutation !== null) kernelApi(w, 1);
  // get_locked_pte
  if (spinLock(w, lock)) throw new ModelError(`${what}: ${lock.name()} is held; the calling step must spin first (insertPfnBusy)`);
  const r = insertPfnLocked(w, vmaIndex, mm, vpn, pfn, mkwrite, what, prot);
  spinUnlock(w, lock); // pte_unmap_unlock
  if (w.mutation !== null) kernelApi(w, -1);
  return r;
}

/** insert_pfn's critical section, under the ptl of `mm`. */
function insertPfnLocked(w: World, vmaIndex: number, mm: number, vpn: number, pfn: number, mkwrite: boolean, what: string, prot?: boolean): number {
  const v = vma(w, vmaIndex);
  if (vpn < v.start || vpn >= v.end) return VM_FAULT_SIGBUS;
  const p = pte(w, mm, vpn);
  const pageProt = prot ?? ((v.flags & VM_WRITE) !== 0 && (v.flags & VM_SHARED) !== 0);
  const writable = pageProt || (mkwrite && (v.flags & VM_WRITE) !== 0); // maybe_mkwrite
  if (!pteNone(p)) {
    if (mkwrite && p.present && p.pfn === pfn && writable) p.write = 1;
    return VM_FAULT_NOPAGE;
  }
  // A raw pfn: the kernel does not look at the page, even if it is free (that is the caller's bug
  // to have, and the invariants' to find).
  if (pfn <= 0 || pfn >= w.count(PAGE)) throw new Error(`${what}: pfn ${pfn} outside the model's page frames`);
  setPte(w, mm, vpn, pfn, writable, true);
  return VM_FAULT_NOPAGE;
}

/** The BUG_ONs of vmf_insert_pfn_prot. */
function checkVmaFlags(w: World, vmaIndex: number, what: string): number {
  const flags = vma(w, vmaIndex).flags;
  if (!(flags & (VM_PFNMAP | VM_MIXEDMAP))) w.bug(`${what}: VMA has neither VM_PFNMAP nor VM_MIXEDMAP (BUG_ON)`);
  if ((flags & (VM_PFNMAP | VM_MIXEDMAP)) === (VM_PFNMAP | VM_MIXEDMAP)) w.bug(`${what}: VMA has both VM_PFNMAP and VM_MIXEDMAP (BUG_ON)`);
  if (flags & VM_PFNMAP && isCowMapping(flags)) w.bug(`${what}: VM_PFNMAP VMA is a COW mapping (BUG_ON)`);
  return flags;
}

/**
 * mm/memory.c:vmf_insert_pfn(_prot). Every model pfn has a struct page (pfn_valid), so on a
 * VM_MIXEDMAP VMA this hits BUG_ON(pfn_valid(pfn)): such drivers must use vmf_insert_mixed.
 */
export function vmfInsertPfn(w: World, vmaIndex: number, vpn: number, pfn: number, write: boolean): number {
  if (w.mutation !== null && installWritable(w)) write = true;
  const flags = checkVmaFlags(w, vmaIndex, 'vmf_insert_pfn');
  if (flags & VM_MIXEDMAP) w.bug('vmf_insert_pfn: pfn_valid pfn in a VM_MIXEDMAP VMA (BUG_ON)');
  return insertPfn(w, vmaIndex, vpn, pfn, write, 'vmf_insert_pfn');
}

/**
 * mm/memory.c:vmf_insert_pfn_prot with an explicit protection: `writable` says whether pgprot
 * allows writes (the driver chooses, e.g. from the source pte). Same BUG_ONs, no mkwrite.
 */
export function vmfInsertPfnProt(w: World, vmaIndex: number, vpn: number, pfn: number, writable: boolean): number {
  if (w.mutation !== null && installWritable(w)) writable = true;
  const flags = checkVmaFlags(w, vmaIndex, 'vmf_insert_pfn_prot');
  if (flags & VM_MIXEDMAP) w.bug('vmf_insert_pfn_prot: pfn_valid pfn in a VM_MIXEDMAP VMA (BUG_ON)');
  return insertPfn(w, vmaIndex, vpn, pfn, false, 'vmf_insert_pfn_prot', writable);
}

/**
 * mm/memory.c:vmf_insert_mixed(_mkwrite) → __vm_insert_mixed. No BUG_ONs here: vm_mixed_ok
 * refuses a VMA without VM_MIXEDMAP with SIGBUS. On x86 (pte_special) the insert also goes
 * through insert_pfn: a special, unrefcounted pte even though the pfn has a struct page
 * (insert_page is only for arches without pte_special).
 */
export function vmfInsertMixed(w: World, vmaIndex: number, vpn: number, pfn: number, write: boolean): number {
  if (w.mutation !== null && installWritable(w)) write = true;
  if (!(vma(w, vmaIndex).flags & VM_MIXEDMAP)) return VM_FAULT_SIGBUS; // !vm_mixed_ok
  return insertPfn(w, vmaIndex, vpn, pfn, write, 'vmf_insert_mixed');
}

export const vmfInsertPfnRoutine = KERNEL.routine({
  name: 'vmf_insert_pfn',
  params: ['vma', 'vpn', 'pfn', 'write'],
  steps: {
    insert: {
      at: 'mm/memory.c:insert_pfn get_locked_pte',
      run: (w, l) => {
        const b = insertPfnBusy(w, l.vma); // get_locked_pte: spin_lock
        if (b) return b;
        return w.ret(vmfInsertPfn(w, l.vma, l.vpn, l.pfn, l.write !== 0));
      },
    },
  },
});

export const vmfInsertMixedRoutine = KERNEL.routine({
  name: 'vmf_insert_mixed',
  params: ['vma', 'vpn', 'pfn', 'write'],
  steps: {
    insert: {
      at: 'mm/memory.c:insert_pfn get_locked_pte',
      run: (w, l) => {
        const b = insertPfnBusy(w, l.vma); // get_locked_pte: spin_lock
        if (b) return b;
        return w.ret(vmfInsertMixed(w, l.vma, l.vpn, l.pfn, l.write !== 0));
      },
    },
  },
});

/**
 * mm/memory.c:vm_insert_page → insert_page, from a driver's ->mmap (mmap_write_lock held:
 * BUG_ON(mmap_read_trylock)): VM_MIXEDMAP is set on the VMA, then under the ptl, into an empty pte
 * only, the page is mapped as a *normal* pte: folio_get, folio_add_file_rmap_pte (its mapcount),
 * set_pte_at(mk_pte(page, vma->vm_page_prot)) — writable only in a shared writable VMA (a private
 * one's vm_page_prot is read-only). vm_normal_page finds it: GUP, HMM, zap and fork treat it as a
 * page, unlike vmf_insert_mixed's special pte. Returns 0, or -EBUSY when the pte is not empty. The
 * calling step must first return what `insertPfnBusy` returns when it is not 0.
 */
export function vmInsertPage(w: World, vmaIndex: number, vpn: number, pfn: number): number {
  const mm = vmaMm(w, vmaIndex);
  assertWriteHeld(w, mmapLock(w, mm), 'vm_insert_page');
  const v = vma(w, vmaIndex);
  if (v.flags & VM_PFNMAP) w.bug('vm_insert_page: VM_PFNMAP VMA (BUG_ON)');
  v.flags = v.flags | VM_MIXEDMAP; // vm_flags_set(vma, VM_MIXEDMAP)
  const lock = ptl(w, mm);
  if (w.mutation !== null) kernelApi(w, 1);
  if (spinLock(w, lock)) throw new ModelError(`vm_insert_page: ${lock.name()} is held; the calling step must spin first (insertPfnBusy)`);
  let r = -EBUSY; // insert_page_into_pte_locked: !pte_none
  if (pteNone(pte(w, mm, vpn))) {
    getPage(w, pfn); // folio_get
    pageDupRmap(w, pfn); // folio_add_file_rmap_pte
    setPte(w, mm, vpn, pfn, (v.flags & (VM_SHARED | VM_WRITE)) === (VM_SHARED | VM_WRITE), false);
    r = 0;
  }
  spinUnlock(w, lock);
  if (w.mutation !== null) kernelApi(w, -1);
  return r;
}
