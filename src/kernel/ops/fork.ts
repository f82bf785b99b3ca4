/**
 * fork's address-space copy (kernel/fork.c:dup_mmap → mm/memory.c:copy_page_range, v6.18).
 * The child is a pre-declared, empty mm of the topology. Under the parent's mmap_write_lock (and
 * the child's, nested), every parent VMA is duplicated except VM_DONTCOPY; a VM_WIPEONFORK VMA
 * is duplicated empty. copy_page_range runs only where vma_needs_copy (PFNMAP/MIXEDMAP, or the
 * VMA has an anon_vma); for a COW mapping it brackets the copy with start/end(PROTECTION_PAGE)
 * on the PARENT mm and write-protects both copies (__copy_present_ptes). Normal pages get
 * get_page + rmap dup; special ptes (vm_normal_page() == NULL) are copied as-is with no
 * accounting — R7: the child inherits mirror ptes nobody tracks. Swap and migration entries are
 * copied (COW: writable migration entries become readable in both).
 *
 * A pinned exclusive anon page (src/kernel/pin.ts) is not shared: copy_present_page gives the child
 * a copy at once and leaves the parent's pte as it was (still writable), so the pin keeps seeing
 * what the parent writes. The copy is allocated with both ptls dropped (copy_pte_range's
 * -EAGAIN → folio_prealloc → again), and the loop resumes at that pte.
 *
 * Simplifications: anon_vma_fork is the child sharing the parent's anon_vma root (mm.anonVma);
 * the child's pte gen (ghost) is the parent pte's, so a stale parent mapping stays recognisably
 * stale; a failed allocation of that copy ends copy_page_range with -ENOMEM but dup_mmap goes on
 * (the kernel tears the half-built child down and fork fails).
 */
import { refuseLargeFolio } from '../huge.js';
import type { World } from '../../world/world.js';
import { ENOMEM, isCowMapping, MMU_NOTIFY_PROTECTION_PAGE, VM_ANON, VM_DONTCOPY, VM_MIXEDMAP, VM_PFNMAP, VM_SHARED, VM_WIPEONFORK, VM_WRITE } from '../flags.js';
import { assertHeld, downWriteNested, mmapLock, ptl, spinLockNested, spinUnlock, upWrite } from '../locks.js';
import { mmuNotifierInvalidateRangeEnd, mmuNotifierInvalidateRangeStart } from '../notifier/mmu-notifier.js';
import { allocPage, getPage, pageAddNewAnonRmap, pageDupRmap, pageGen, putPage } from '../page.js';
import { folioNeedsCowForDma, pageAnonExclusive } from '../pin.js';
import { NONE } from '../ref.js';
import { freeVmaSlot, pte, vma, vmaDup, vmaIndex, vmaMm } from '../pgtable.js';
import { MM, PAGE } from '../structs.js';
import { tlbDefer, tlbFlushStep, tlbOn } from '../tlb.js';
import { KERNEL } from '../library.js';
import { hasFiles, mappingOfFile } from '../filemap.js';

/** mm/memory.c:vma_needs_copy — "Don't copy ptes where a page fault will fill them correctly." */
function vmaNeedsCopy(w: World, src: number): boolean {
  const v = vma(w, src);
  if (v.flags & (VM_PFNMAP | VM_MIXEDMAP)) return true;
  if (v.flags & VM_ANON) return true; // an anonymous VMA that was touched has an anon_vma
  // A MAP_SHARED mapping of a shmem file never has an anon_vma (no COW): its ptes are not copied.
  // (Asked only in a world with page-cache files, so no other world's step reads more.)
  if (hasFiles(w) && v.flags & VM_SHARED && mappingOfFile(w, v.file) >= 0) return false;
  const mm = vmaMm(w, src);
  for (let vpn = v.start; vpn < v.end; vpn++) {
    const p = pte(w, mm, vpn);
    if (p.present && !p.special && w.obj(PAGE, p.pfn).anon) return true; // a COWed private file page
  }
  return false;
}

/**
 * mm/memory.c:copy_present_page — the child gets its own copy `newPfn` (the preallocated page) of
 * the parent's pinned exclusive page at `vpn`, mapped as the child's VMA allows; the parent's pte
 * is left as it was.
 */
function copyPresentPage(w: World, dstMm: number, srcMm: number, vpn: number, newPfn: number, dstVmaFlags: number): void {
  const s = pte(w, srcMm, vpn);
  w.obj(PAGE, newPfn).contents = w.obj(PAGE, s.pfn).contents; // copy_mc_user_highpage
  pageAddNewAnonRmap(w, newPfn, dstMm, vpn); // folio_add_new_anon_rmap(RMAP_EXCLUSIVE)
  w.obj(PAGE, newPfn).anonExclusive = 1;
  const d = pte(w, dstMm, vpn);
  d.pfn = newPfn; // set_pte_at(maybe_mkwrite(pte_mkdirty(mk_pte(new, dst_vma->vm_page_prot))))
  d.present = 1;
  d.write = dstVmaFlags & VM_WRITE ? 1 : 0;
  d.special = 0;
  d.swap = NONE;
  d.migration = 0;
  d.devPrivate = 0;
  d.gen = pageGen(w, newPfn);
  d.protnone = s.protnone;
}

/**
 * One iteration of mm/memory.c:copy_pte_range under both ptls: the child's pte at `vpn` from the
 * parent's. Each iteration takes its own reference on the page (folio_ref_inc, an atomic another
 * CPU can see between two of them), so each is a step of its own, the ptls held across. Returns
 * COPIED, or, copying nothing, COPY_PAGE when the page must be copied into `prealloc` (a step of
 * its own: the copy reads the page, which a DMA or another thread may be writing) or EAGAIN when
 * it must be copied and no page is preallocated.
 */
function copyOnePte(w: World, dst: number, src: number, vpn: number, cow: boolean, prealloc: number): number {
  const dstMm = vmaMm(w, dst);
  const srcMm = vmaMm(w, src);
  assertHeld(w, ptl(w, dstMm), 'copy_pte_range');
  assertHeld(w, ptl(w, srcMm), 'copy_pte_range');
  const s = pte(w, srcMm, vpn);
  if (!s.present && !s.swap && !s.migration && !s.devPrivate) return COPIED;
  if (s.huge) refuseLargeFolio(w, s.pfn, 'fork (copy_huge_pmd)');
  const d = pte(w, dstMm, vpn);
  if (s.present && !s.special && w.obj(PAGE, s.pfn).anon && pageAnonExclusive(w, s.pfn)) {
    // folio_try_dup_anon_rmap_pte on an exclusive page: a maybe-pinned one is copied now
    // (copy_present_page); otherwise it becomes shared (ClearPageAnonExclusive) and is dup'd below.
    if (folioNeedsCowForDma(w, vma(w, src).flags, srcMm, s.pfn)) {
      return prealloc === 0 ? EAGAIN : COPY_PAGE;
    }
    w.obj(PAGE, s.pfn).anonExclusive = 0;
  }
  if (s.present && !s.special) {
    // copy_present_ptes: vm_normal_page != NULL → folio_ref_inc + folio_try_dup_anon_rmap / dup_file_rmap
    getPage(w, s.pfn);
    pageDupRmap(w, s.pfn);
  }
  if (s.devPrivate) {
    // copy_nonpresent_pte, is_device_private_entry: folio_get + folio_try_dup_anon_rmap_pte; a
    // writable entry of a COW mapping becomes readable in both (below).
    getPage(w, s.devPrivate);
    pageDupRmap(w, s.devPrivate);
  }
  // copy_nonpresent_pte: swap_duplicate is implicit (the model's swap count is the ptes).
  if (cow && s.write) {
    s.write = 0; // wrprotect_ptes in the parent; the child copy is read-only too
    if (s.present) tlbDefer(w, srcMm, vpn); // the parent's CPUs keep the writable entry until dup_mmap's flush_tlb_mm
  }
  d.pfn = s.pfn;
  d.present = s.present;
  d.write = s.write;
  d.special = s.special;
  d.swap = s.swap;
  d.migration = s.migration;
  d.devPrivate = s.devPrivate;
  d.gen = s.gen;
  d.protnone = s.protnone; // the pte is copied whole: a PROT_NONE VMA's child ptes stay protnone
  return COPIED;
}
const COPIED = 0;
const EAGAIN = 1;
const COPY_PAGE = 2;

type CopyLocals = { dst: number; src: number; srcMm: number; dstMm: number; cow: number; vpn: number; prealloc: number; err: number; result: number };

/**
 * Copies the pte at `l.vpn`; the loop goes on at `next`, or, after the last, unlocks and ends the
 * bracket. A page that must be copied first drops both ptls to preallocate it (`prealloc`).
 */
function copyNext(w: World, l: CopyLocals): string | number {
  const r = copyOnePte(w, l.dst, l.src, l.vpn, l.cow === 1, l.prealloc);
  if (r === EAGAIN) {
    spinUnlock(w, ptl(w, l.srcMm)); // break out of the loop, drop both ptls
    spinUnlock(w, ptl(w, l.dstMm));
    return 'prealloc';
  }
  if (r === COPY_PAGE) return 'copyPage';
  return advance(w, l);
}

/** The loop's next pte (`next`), or after the last one, both ptls dropped and the bracket ended. */
function advance(w: World, l: CopyLocals): string | number {
  const v = vma(w, l.src);
  l.vpn = l.vpn + 1;
  if (l.vpn < v.end) return 'next';
  spinUnlock(w, ptl(w, l.srcMm));
  spinUnlock(w, ptl(w, l.dstMm));
  return endCopy(w, l, 0);
}

/**
 * The end of copy_pte_range (an unused preallocated page goes back: folio_put(prealloc)) and of
 * copy_page_range: the notifier bracket closed (COW), `rc` returned.
 */
function endCopy(w: World, l: CopyLocals, rc: number): string | number {
  const v = vma(w, l.src);
  if (l.prealloc) {
    w.own(PAGE, l.prealloc); // never published (folio_prealloc's folio): no other CPU can reach it
    putPage(w, l.prealloc);
  }
  l.prealloc = 0;
  l.vpn = 0;
  l.result = 0;
  if (!l.cow) return w.ret(rc);
  l.err = rc;
  return w.call(mmuNotifierInvalidateRangeEnd, 'done', l.srcMm, v.start, v.end, MMU_NOTIFY_PROTECTION_PAGE, 1);
}

/** mm/memory.c:copy_page_range(dst_vma, src_vma) */
export const copyPageRange = KERNEL.routine({
  name: 'copy_page_range',
  params: ['dst', 'src'],
  locals: ['srcMm', 'dstMm', 'cow', 'vpn', 'prealloc', 'err'],
  steps: {
    begin: {
      at: 'mm/memory.c:copy_page_range',
      run: (w, l) => {
        if (!vmaNeedsCopy(w, l.src)) return w.ret(0);
        const v = vma(w, l.src);
        l.srcMm = vmaMm(w, l.src);
        l.dstMm = vmaMm(w, l.dst);
        if (!isCowMapping(v.flags)) return 'copy';
        l.cow = 1;
        // mmu_notifier_range_init(MMU_NOTIFY_PROTECTION_PAGE, 0, src_mm, addr, end)
        return w.call(mmuNotifierInvalidateRangeStart, 'copy', l.srcMm, v.start, v.end, MMU_NOTIFY_PROTECTION_PAGE, 1);
      },
    },
    copy: {
      at: 'mm/memory.c:copy_pte_range',
      run: (w, l) => {
        // pte_alloc_map_lock(dst_ptl); spin_lock_nested(src_ptl, SINGLE_DEPTH_NESTING): both or neither
        const b = spinLockNested(w, ptl(w, l.dstMm), ptl(w, l.srcMm));
        if (b) return b;
        l.vpn = vma(w, l.src).start;
        return copyNext(w, l);
      },
    },
    // The next pte of the loop, both ptls still held.
    next: { at: 'mm/memory.c:copy_pte_range', run: (w, l) => copyNext(w, l) },
    // copy_present_page into the preallocated page, both ptls still held; then the loop goes on.
    copyPage: {
      at: 'mm/memory.c:copy_present_page',
      run: (w, l) => {
        w.own(PAGE, l.prealloc); // ours until set_pte_at publishes it
        copyPresentPage(w, l.dstMm, l.srcMm, l.vpn, l.prealloc, vma(w, l.dst).flags);
        l.prealloc = 0; // *prealloc = NULL: taken over
        return advance(w, l);
      },
    },
    // -EAGAIN: the copy of a pinned page is allocated without the ptls (it may sleep), then again.
    prealloc: {
      at: 'mm/memory.c:copy_pte_range folio_prealloc',
      run: (w, l) => {
        l.prealloc = allocPage(w);
        if (l.prealloc === 0) return endCopy(w, l, -ENOMEM);
        return 'again';
      },
    },
    again: {
      at: 'mm/memory.c:copy_pte_range again',
      run: (w, l) => {
        const b = spinLockNested(w, ptl(w, l.dstMm), ptl(w, l.srcMm));
        if (b) return b;
        return copyNext(w, l);
      },
    },
    done: {
      at: 'mm/memory.c:copy_page_range',
      run: (w, l) => {
        const rc = l.err;
        l.err = 0;
        return w.ret(rc);
      },
    },
  },
});

/** kernel/fork.c:dup_mmap(child, parent): the child's VMAs and ptes. Returns 0 or -ENOMEM. */
export const dupMmap = KERNEL.routine({
  name: 'dup_mmap',
  params: ['parent', 'child'],
  locals: ['k'],
  steps: {
    lock: {
      at: 'kernel/fork.c:dup_mmap mmap_write_lock_killable',
      run: (w, l) => {
        // mmap_write_lock_killable(oldmm); mmap_write_lock_nested(mm, SINGLE_DEPTH_NESTING). The
        // parent's lock can be contended; the child's cannot (not yet visible), but both are taken
        // in one step or neither, so that a blocked step writes nothing.
        // The child mm is not yet visible to anyone (mm_alloc): the step's own.
        w.own(MM, l.child);
        const b = downWriteNested(w, mmapLock(w, l.parent), mmapLock(w, l.child));
        if (b) return b;
        const per = w.layout.dims.vmasPerMm;
        for (let k = 0; k < per; k++) if (vma(w, vmaIndex(w, l.child, k)).used) throw new Error(`fork: child mm ${l.child} is not empty`);
        const p = w.obj(MM, l.parent);
        const c = w.obj(MM, l.child);
        // mm_init: a fresh mm with one user and the one mm_count reference the users hold together
        // (__mmput drops it with mmdrop); anon_vma_fork links it into the parent's anon_vma tree.
        c.users = 1;
        c.count = 1;
        c.anonVma = p.anonVma;
        return 'nextVma';
      },
    },
    nextVma: {
      at: 'kernel/fork.c:dup_mmap for_each_vma',
      run: (w, l) => {
        const per = w.layout.dims.vmasPerMm;
        for (let k = l.k; k < per; k++) {
          const src = vmaIndex(w, l.parent, k);
          const s = vma(w, src);
          if (!s.used) continue;
          l.k = k + 1;
          if (s.flags & VM_DONTCOPY) continue;
          const dst = freeVmaSlot(w, l.child);
          vmaDup(w, src, dst);
          if (s.flags & VM_WIPEONFORK) continue; // a clean slate in the child: no copy_page_range
          return w.call(copyPageRange, 'nextVma', dst, src);
        }
        return tlbOn(w) ? 'tlbFlush' : 'unlock';
      },
    },
    unlock: {
      at: 'kernel/fork.c:dup_mmap mmap_write_unlock',
      run: (w, l) => {
        upWrite(w, mmapLock(w, l.child));
        upWrite(w, mmapLock(w, l.parent));
        return w.ret(0);
      },
    },
    // flush_tlb_mm(oldmm) before mmap_write_unlock(oldmm): the parent's threads may write through
    // an entry that copy_present_ptes write-protected until here, not after fork returns. Only with
    // the cpu-tlb layer (kernel/tlb.ts).
    tlbFlush: tlbFlushStep('kernel/fork.c:dup_mmap flush_tlb_mm', 'unlock'),
  },
});
