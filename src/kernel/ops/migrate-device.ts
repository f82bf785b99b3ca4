/**
 * Device memory migration (mm/migrate_device.c, v6.18): migrate_vma_setup, migrate_vma_pages,
 * migrate_vma_finalize over a `struct migrate_vma` the driver fills (MIGRATE_VMA: on the caller's
 * stack in the kernel, one per actor here, as struct hmm_range):
 *
 *   setup:    mmu_notifier_invalidate_range_start(MMU_NOTIFY_MIGRATE, owner = pgmap_owner);
 *             under the ptl, per pte (migrate_vma_collect_pmd): pte_none of an anonymous VMA →
 *             MIGRATE (a hole); a device-private entry of this owner (SELECT_DEVICE_PRIVATE), or a
 *             normal page (SELECT_SYSTEM) → folio_get, folio_trylock (the fault page is already
 *             locked), then the pte becomes a migration entry, the rmap and the mapping's
 *             reference go; invalidate_range_end; then migrate_device_unmap: try_to_migrate for
 *             mappings the walk did not reach, migrate_vma_check_page, and the pages that cannot
 *             go are restored (remove_migration_ptes(page, page), unlock, put);
 *   driver:   allocates the destination pages (locked), copies, fills dst[];
 *   pages:    __migrate_device_pages: folio_migrate_mapping (refcount check, mapping/index to the
 *             new page) for each src/dst pair;
 *   driver:   may update its own table (both pages are still locked);
 *   finalize: __migrate_device_finalize: remove_migration_ptes(src, dst or src) — a device page
 *             becomes a device-private entry — unlock and put both.
 *
 * The invalidation's owner: the model's notifier calls carry (mm, start, end, event, blockable),
 * not the struct mmu_notifier_range, so a callback asks `mmuNotifierRangeOwner` for range->owner;
 * the range lives on the stack of the task running migrate_vma_collect, beside its migrate_vma.
 *
 * Simplifications: migrate_vma_insert_page (populating a pte_none hole with the new page) is not
 * modelled: it always takes its abort path (src &= ~MIGRATE_PFN_MIGRATE), which the kernel takes
 * too when the pte changed; a swap-cache page is not migrated to device memory (folio_free_swap is
 * not modelled: the kernel's failure path); only anonymous pages are collected (a file page is
 * collected by the kernel and refused by __migrate_device_pages: the same outcome); the model has
 * no LRU, so folio_isolate_lru never fails and its reference replaces collect's (net nothing); no
 * THP, no PageAnonExclusive, no device-coherent pages; no TLB flush (no CPU TLB layer).
 */
import { refuseLargeFolio } from '../huge.js';
import type { World } from '../../world/world.js';
import { defineActorNames, defineStruct } from '../../world/layout.js';
import { ModelError } from '../../world/errors.js';
import { EINVAL, MMU_NOTIFY_MIGRATE, VM_ANON, VM_HUGETLB, VM_SPECIAL } from '../flags.js';
import { folioLock, mutexTrylock, mutexUnlock, ptl, spinLock, spinUnlock } from '../locks.js';
import { getPage, pageRemoveRmap, putPage } from '../page.js';
import { clearPte, pte, pteNone, vma, vmaMm } from '../pgtable.js';
import { PAGE } from '../structs.js';
import { isNone, NONE } from '../ref.js';
import { folioPut, isDevicePrivatePage, pgmapOwner } from '../memremap.js';
import { mmuNotifierInvalidateRangeEnd, mmuNotifierInvalidateRangeStart } from '../notifier/mmu-notifier.js';
import { removeMigrationPtes, tryToMigrate } from './migrate.js';
import { CPU_TLB_LAYER, tlbDefer, tlbFlushDeferred, tlbOn } from '../tlb.js';
import { KERNEL } from '../library.js';

/** migrate->src[i], migrate->dst[i], by i. */
const SRC = ['src0', 'src1', 'src2', 'src3'] as const;
const DST = ['dst0', 'dst1', 'dst2', 'dst3'] as const;
/** The most pages one migrate_vma covers (dmirror's src_pfns[64]; the model's address spaces are smaller). */
export const MIGRATE_VMA_PAGES = SRC.length;

/**
 * struct migrate_vma (include/linux/migrate.h): vma (global index + 1, a Ref), [start, end) in
 * vpns, npages and cpages, pgmap_owner, flags (MIGRATE_VMA_SELECT_*), fault_page (a pfn, 0 for
 * none), src[] and dst[] (migrate pfns, below). All private: the caller's stack.
 */
export const MIGRATE_VMA = defineStruct('migrateVma', ['vma', 'start', 'end', 'npages', 'cpages', 'pgmapOwner', 'flags', 'faultPage', ...SRC, ...DST] as const, {
  vma: 'private',
  start: 'private',
  end: 'private',
  npages: 'private',
  cpages: 'private',
  pgmapOwner: 'private',
  flags: 'private',
  faultPage: 'private',
  src0: 'private',
  src1: 'private',
  src2: 'private',
  src3: 'private',
  dst0: 'private',
  dst1: 'private',
  dst2: 'private',
  dst3: 'private',
});

// include/linux/migrate.h
export const MIGRATE_PFN_VALID = 1 << 0;
export const MIGRATE_PFN_MIGRATE = 1 << 1;
export const MIGRATE_PFN_WRITE = 1 << 3;
const MIGRATE_PFN_SHIFT = 6;
export const MIGRATE_VMA_SELECT_SYSTEM = 1 << 0;
export const MIGRATE_VMA_SELECT_DEVICE_PRIVATE = 1 << 1;

/** include/linux/migrate.h:migrate_pfn */
export function migratePfn(pfn: number): number {
  return (pfn << MIGRATE_PFN_SHIFT) | MIGRATE_PFN_VALID;
}

/** include/linux/migrate.h:migrate_pfn_to_page: 0 unless VALID. */
export function migratePfnToPage(mpfn: number): number {
  return mpfn & MIGRATE_PFN_VALID ? mpfn >>> MIGRATE_PFN_SHIFT : 0;
}

/** The running actor's struct migrate_vma (the one on its stack). */
export function migrateVmaOf(w: World): number {
  return w.actor;
}

/** What a driver writes into its struct migrate_vma before migrate_vma_setup (args.vma, start, end, pgmap_owner, flags, fault_page). */
export function migrateVmaInit(w: World, m: number, vmaIndex: number, start: number, end: number, owner: number, flags: number, faultPage = 0): void {
  if (end - start > MIGRATE_VMA_PAGES) throw new ModelError(`migrate_vma [${start}, ${end}): the model migrates at most ${MIGRATE_VMA_PAGES} pages at once`);
  const o = w.obj(MIGRATE_VMA, m);
  o.vma = vmaIndex + 1;
  o.start = start;
  o.end = end;
  o.pgmapOwner = owner;
  o.flags = flags;
  o.faultPage = faultPage;
}

/** args.src[i] / args.dst[i], i counted from args.start. */
export function migrateVmaSrc(w: World, m: number, i: number): number {
  return w.obj(MIGRATE_VMA, m)[SRC[i]];
}
export function migrateVmaDst(w: World, m: number, i: number): number {
  return w.obj(MIGRATE_VMA, m)[DST[i]];
}
export function migrateVmaSetDst(w: World, m: number, i: number, mpfn: number): void {
  w.obj(MIGRATE_VMA, m)[DST[i]] = mpfn;
}

/** Puts struct migrate_vma `m` back to zeroes, as its caller's frame dies (equal futures must give equal states). */
export function migrateVmaDone(w: World, m: number): void {
  const o = w.obj(MIGRATE_VMA, m);
  for (const f of MIGRATE_VMA.fields) o[f] = 0;
}

/**
 * range->owner of the invalidation the running task is making, for an interval notifier's
 * callback (mmu_notifier_range_init_owner): the pgmap_owner of its migrate_vma for
 * MMU_NOTIFY_MIGRATE (only migrate_vma_collect sends it in the model), none otherwise.
 */
export function mmuNotifierRangeOwner(w: World, event: number): number {
  return event === MMU_NOTIFY_MIGRATE ? w.obj(MIGRATE_VMA, migrateVmaOf(w)).pgmapOwner : NONE;
}

/** The frame: the struct, the collect's address, the page it works on, the loop index and migrate_device_unmap's counts. */
interface Frame {
  m: number;
  mm: number;
  addr: number;
  pfn: number;
  i: number;
  restore: number;
  unmapped: number;
}

const mv = (w: World, l: Frame) => w.obj(MIGRATE_VMA, l.m);
const vmaOf = (w: World, l: Frame) => mv(w, l).vma - 1;

/** migrate_vma_collect_pmd's `next:` — src[npages++] = mpfn, then the next pte, or the end of the walk. */
function collectNext(w: World, l: Frame, mpfn: number): string | number {
  const o = mv(w, l);
  o[DST[o.npages]] = 0;
  o[SRC[o.npages]] = mpfn;
  o.npages = o.npages + 1;
  l.addr = l.addr + 1;
  l.pfn = 0;
  if (l.addr < o.end) return 'collect';
  spinUnlock(w, ptl(w, l.mm)); // pte_unmap_unlock
  if (tlbOn(w)) return 'tlbFlush'; // the cpu-tlb layer (kernel/tlb.ts)
  return w.call(mmuNotifierInvalidateRangeEnd, 'collected', l.mm, o.start, o.end, MMU_NOTIFY_MIGRATE, 1);
}

/** migrate_vma_check_page's count of the references migration itself holds. */
function migrateExtraRefs(w: World, pfn: number, faultPage: number): number {
  // One from isolation (or collect, for a device page), one if it is the fault page, and one more
  // for a ZONE_DEVICE page; no mapping (anonymous pages only).
  return 1 + (pfn === faultPage ? 1 : 0) + (isDevicePrivatePage(w, pfn) ? 1 : 0);
}

/** migrate_vma_setup(args = MIGRATE_VMA[m]): 0 or -EINVAL. The caller holds mmap_lock of the VMA's mm. */
export const migrateVmaSetup = KERNEL.routine({
  name: 'migrate_vma_setup',
  params: ['m'],
  locals: ['mm', 'addr', 'pfn', 'i', 'restore', 'unmapped'],
  steps: {
    check: {
      at: 'mm/migrate_device.c:migrate_vma_setup',
      run: (w, l) => {
        const o = mv(w, l);
        if (o.vma === 0) return w.ret(-EINVAL);
        const v = vma(w, vmaOf(w, l));
        if (v.used !== 1 || v.flags & (VM_HUGETLB | VM_SPECIAL)) return w.ret(-EINVAL);
        if (o.end <= o.start || o.start < v.start || o.start >= v.end || o.end > v.end) return w.ret(-EINVAL);
        if (o.faultPage !== 0 && (!isDevicePrivatePage(w, o.faultPage) || w.obj(PAGE, o.faultPage).locked !== w.self)) return w.ret(-EINVAL);
        for (let i = 0; i < MIGRATE_VMA_PAGES; i++) o[SRC[i]] = 0; // memset(args->src, 0, ...)
        o.cpages = 0;
        o.npages = 0;
        // migrate_vma_collect: mmu_notifier_range_init_owner(&range, MMU_NOTIFY_MIGRATE, 0, mm, start, end, pgmap_owner)
        l.mm = vmaMm(w, vmaOf(w, l));
        return w.call(mmuNotifierInvalidateRangeStart, 'ptLock', l.mm, o.start, o.end, MMU_NOTIFY_MIGRATE, 1);
      },
    },
    ptLock: {
      at: 'mm/migrate_device.c:migrate_vma_collect_pmd pte_offset_map_lock',
      run: (w, l) => {
        const b = spinLock(w, ptl(w, l.mm));
        if (b) return b;
        l.addr = mv(w, l).start;
        return 'collect';
      },
    },
    // One pte per step, the ptl held throughout: folio_get is the step's one access outside it.
    collect: {
      at: 'mm/migrate_device.c:migrate_vma_collect_pmd ptep_get',
      run: (w, l) => {
        const o = mv(w, l);
        const p = pte(w, l.mm, l.addr);
        if (pteNone(p)) {
          if (!(vma(w, vmaOf(w, l)).flags & VM_ANON)) return collectNext(w, l, 0);
          o.cpages = o.cpages + 1;
          return collectNext(w, l, MIGRATE_PFN_MIGRATE);
        }
        let page: number;
        let mpfn: number;
        if (!p.present) {
          // Only a device-private entry of this owner, when asked for; swap and migration entries stay.
          if (p.devPrivate === 0) return collectNext(w, l, 0);
          page = p.devPrivate;
          if (!(o.flags & MIGRATE_VMA_SELECT_DEVICE_PRIVATE) || pgmapOwner(w, page) !== o.pgmapOwner) return collectNext(w, l, 0);
        } else {
          if (p.special) return collectNext(w, l, 0); // vm_normal_page() == NULL
          page = p.pfn;
          refuseLargeFolio(w, page, 'migrate_vma (migrate_vma_collect_huge_pmd)');
          if (!(o.flags & MIGRATE_VMA_SELECT_SYSTEM)) return collectNext(w, l, 0);
        }
        mpfn = migratePfn(page) | MIGRATE_PFN_MIGRATE | (p.write ? MIGRATE_PFN_WRITE : 0);
        if (w.obj(PAGE, page).anon !== 1) mpfn = 0; // !page->mapping (and the model's file pages: see the file comment)
        if (mpfn === 0) return collectNext(w, l, 0);
        getPage(w, page); // folio_get: pins the folio, which "freezes" the pte
        o[SRC[o.npages]] = mpfn;
        l.pfn = page;
        return 'trylock';
      },
    },
    trylock: {
      at: 'mm/migrate_device.c:migrate_vma_collect_pmd folio_trylock',
      run: (w, l) => {
        const o = mv(w, l);
        if (l.pfn !== o.faultPage && !mutexTrylock(w, folioLock(w, l.pfn))) return 'putFolio';
        o.cpages = o.cpages + 1;
        const mpfn = o[SRC[o.npages]];
        // ptep_get_and_clear, then set_pte_at of make_writable_migration_entry /
        // make_readable_migration_entry: the write bit stays in the entry.
        clearPte(w, l.mm, l.addr);
        tlbDefer(w, l.mm, l.addr); // flushed by the walk's flush_tlb_range (collectNext)
        const p = pte(w, l.mm, l.addr);
        p.write = mpfn & MIGRATE_PFN_WRITE ? 1 : 0;
        p.migration = l.pfn;
        // "This is like regular unmap: we remove the rmap and drop the folio refcount. The folio
        // won't be freed, as we took a reference just above."
        pageRemoveRmap(w, l.pfn);
        putPage(w, l.pfn);
        return collectNext(w, l, mpfn);
      },
    },
    putFolio: {
      at: 'mm/migrate_device.c:migrate_vma_collect_pmd folio_put',
      run: (w, l) => {
        folioPut(w, l.pfn); // the trylock failed: "best effort", this page is not migrated
        return collectNext(w, l, 0);
      },
    },
    // migrate->end = start + npages; if (args->cpages) migrate_vma_unmap(args)
    collected: {
      at: 'mm/migrate_device.c:migrate_vma_collect',
      run: (w, l) => {
        [l.addr, l.i, l.restore, l.unmapped] = [0, 0, 0, 0];
        return mv(w, l).cpages ? 'unmap' : w.ret(0);
      },
    },
    // migrate_device_unmap, first loop: one page per step (folio_mapped reads its mapcount).
    unmap: {
      at: 'mm/migrate_device.c:migrate_device_unmap',
      lockless: ['page.mapcount'], // folio_mapped(folio)
      run: (w, l) => {
        const o = mv(w, l);
        for (; l.i < o.npages; l.i++) {
          const mpfn = o[SRC[l.i]];
          const page = migratePfnToPage(mpfn);
          if (page === 0) {
            if (mpfn & MIGRATE_PFN_MIGRATE) l.unmapped = l.unmapped + 1;
            continue;
          }
          // Not ZONE_DEVICE: folio_isolate_lru (which cannot fail: no LRU in the model) takes the
          // reference collect's folio_put then drops — net nothing.
          l.pfn = page;
          if (w.obj(PAGE, page).mapcount > 0) return w.call(tryToMigrate, 'mapped', page); // mapped elsewhere (fork)
          return 'refs';
        }
        l.i = 0;
        return 'restore';
      },
    },
    mapped: {
      at: 'mm/migrate_device.c:migrate_device_unmap folio_mapped',
      lockless: ['page.mapcount'],
      run: (w, l) => {
        if (w.obj(PAGE, l.pfn).mapcount > 0) return unmapFailed(w, l);
        return 'refs';
      },
    },
    // migrate_vma_check_page: (folio_ref_count - extra) > folio_mapcount fails. The mapcount is 0
    // (just seen): a new mapping of a locked page needs its lock (remove_migration_ptes, swap-in).
    refs: {
      at: 'mm/migrate_device.c:migrate_vma_check_page',
      run: (w, l) => {
        if (w.obj(PAGE, l.pfn).refcount - migrateExtraRefs(w, l.pfn, mv(w, l).faultPage) > 0) return unmapFailed(w, l);
        l.unmapped = l.unmapped + 1;
        l.i = l.i + 1;
        return 'unmap';
      },
    },
    // migrate_device_unmap, second loop: the pages that cannot go get their ptes back.
    restore: {
      at: 'mm/migrate_device.c:migrate_device_unmap remove_migration_ptes',
      run: (w, l) => {
        const o = mv(w, l);
        for (; l.i < o.npages && l.restore > 0; l.i++) {
          const page = migratePfnToPage(o[SRC[l.i]]);
          if (page === 0 || o[SRC[l.i]] & MIGRATE_PFN_MIGRATE) continue;
          l.pfn = page;
          return w.call(removeMigrationPtes, 'restoreUnlock', page, page);
        }
        o.cpages = l.unmapped; // migrate_vma_unmap: migrate->cpages = migrate_device_unmap(...)
        [l.i, l.pfn, l.unmapped] = [0, 0, 0];
        return w.ret(0);
      },
    },
    restoreUnlock: {
      at: 'mm/migrate_device.c:migrate_device_unmap folio_unlock',
      run: (w, l) => {
        const o = mv(w, l);
        o[SRC[l.i]] = 0;
        if (l.pfn !== o.faultPage) mutexUnlock(w, folioLock(w, l.pfn));
        return 'restorePut';
      },
    },
    restorePut: {
      at: 'mm/migrate_device.c:migrate_device_unmap folio_put',
      run: (w, l) => {
        folioPut(w, l.pfn);
        l.restore = l.restore - 1;
        l.i = l.i + 1;
        return 'restore';
      },
    },
    // "Only flush the TLB if we actually modified any entries": flush_tlb_range after
    // pte_unmap_unlock, before the walk returns and invalidate_range_end runs.
    tlbFlush: {
      at: 'mm/migrate_device.c:migrate_vma_collect_pmd flush_tlb_range',
      layer: CPU_TLB_LAYER,
      run: (w, l) => {
        tlbFlushDeferred(w);
        const o = mv(w, l);
        return w.call(mmuNotifierInvalidateRangeEnd, 'collected', l.mm, o.start, o.end, MMU_NOTIFY_MIGRATE, 1);
      },
    },
  },
});

/** migrate_device_unmap: src_pfns[i] &= ~MIGRATE_PFN_MIGRATE; restore++ (the put back to the LRU is net nothing in the model). */
function unmapFailed(w: World, l: Frame): string {
  const o = mv(w, l);
  o[SRC[l.i]] = o[SRC[l.i]] & ~MIGRATE_PFN_MIGRATE;
  l.restore = l.restore + 1;
  l.i = l.i + 1;
  return 'unmap';
}

/**
 * migrate_vma_pages(migrate) — __migrate_device_pages: for each src/dst pair,
 * folio_migrate_mapping (the source's refcount must be what migration expects: 1, +1 for the
 * fault page) hands mapping and index to the new page; otherwise MIGRATE is cleared. One page per
 * step (its refcount).
 */
export const migrateVmaPages = KERNEL.routine({
  name: 'migrate_vma_pages',
  params: ['m'],
  locals: ['i'],
  steps: {
    page: {
      at: 'mm/migrate_device.c:__migrate_device_pages',
      run: (w, l) => {
        const o = w.obj(MIGRATE_VMA, l.m);
        for (; l.i < o.npages; l.i++) {
          const newpage = migratePfnToPage(o[DST[l.i]]);
          const page = migratePfnToPage(o[SRC[l.i]]);
          if (newpage === 0 || page === 0) {
            // No destination; or a hole, where migrate_vma_insert_page always aborts (see the file comment).
            o[SRC[l.i]] = o[SRC[l.i]] & ~MIGRATE_PFN_MIGRATE;
            continue;
          }
          const src = w.obj(PAGE, page);
          // To device memory, a page with a mapping (the swap cache) goes only if folio_free_swap
          // drops it, which the model does not: refused.
          if (isDevicePrivatePage(w, newpage) && !isNone(src.swap)) {
            o[SRC[l.i]] = o[SRC[l.i]] & ~MIGRATE_PFN_MIGRATE;
            continue;
          }
          // folio_migrate_mapping(NULL, newfolio, folio, extra_cnt): folio_expected_ref_count + extra_cnt
          if (src.refcount !== 1 + (o.faultPage === page ? 1 : 0)) {
            o[SRC[l.i]] = o[SRC[l.i]] & ~MIGRATE_PFN_MIGRATE;
            l.i = l.i + 1;
            return 'page';
          }
          // The new page is locked and unpublished: the migration's own.
          w.own(PAGE, newpage);
          const dst = w.obj(PAGE, newpage);
          dst.anon = src.anon;
          dst.anonVma = src.anonVma;
          dst.index = src.index;
          l.i = l.i + 1;
          return 'page';
        }
        l.i = 0;
        return w.ret(0);
      },
    },
  },
});

/**
 * migrate_vma_finalize(migrate) — __migrate_device_finalize: per entry, the migration entries
 * become ptes of the new page (a device page: a device-private entry), or of the old one if it did
 * not migrate; then both pages are unlocked and put (the old page's last reference: it is freed;
 * the fault page stays locked, its caller unlocks it). A put after an unlock is a step of its own.
 */
export const migrateVmaFinalize = KERNEL.routine({
  name: 'migrate_vma_finalize',
  params: ['m'],
  locals: ['i', 'src', 'dst'],
  steps: {
    entry: {
      at: 'mm/migrate_device.c:__migrate_device_finalize',
      run: (w, l) => {
        const o = w.obj(MIGRATE_VMA, l.m);
        for (; l.i < o.npages; l.i++) {
          const newpage = migratePfnToPage(o[DST[l.i]]);
          const page = migratePfnToPage(o[SRC[l.i]]);
          if (page === 0 && newpage === 0) continue;
          [l.src, l.dst] = [page, newpage];
          if (page === 0) return 'unlockDst'; // a hole: the unused new page goes back
          if (!(o[SRC[l.i]] & MIGRATE_PFN_MIGRATE) || newpage === 0) return newpage ? 'unlockUnused' : 'remove';
          return 'remove';
        }
        [l.i, l.src, l.dst] = [0, 0, 0];
        return w.ret(0);
      },
    },
    // The page did not migrate: its new page is unlocked and put, and the old one is mapped back.
    unlockUnused: {
      at: 'mm/migrate_device.c:__migrate_device_finalize folio_unlock(dst)',
      run: (w, l) => {
        mutexUnlock(w, folioLock(w, l.dst));
        return 'putUnused';
      },
    },
    putUnused: {
      at: 'mm/migrate_device.c:__migrate_device_finalize folio_put(dst)',
      run: (w, l) => {
        folioPut(w, l.dst);
        l.dst = l.src; // dst = src
        return 'remove';
      },
    },
    remove: {
      at: 'mm/migrate_device.c:__migrate_device_finalize remove_migration_ptes',
      run: (w, l) => w.call(removeMigrationPtes, 'unlockSrc', l.src, l.dst || l.src),
    },
    unlockSrc: {
      at: 'mm/migrate_device.c:__migrate_device_finalize folio_unlock(src)',
      run: (w, l) => {
        if (l.src !== w.obj(MIGRATE_VMA, l.m).faultPage) mutexUnlock(w, folioLock(w, l.src));
        return 'putSrc';
      },
    },
    putSrc: {
      at: 'mm/migrate_device.c:__migrate_device_finalize folio_put(src)',
      run: (w, l) => {
        folioPut(w, l.src);
        if (l.dst !== 0 && l.dst !== l.src) return 'unlockDst';
        l.i = l.i + 1;
        return 'entry';
      },
    },
    unlockDst: {
      at: 'mm/migrate_device.c:__migrate_device_finalize folio_unlock(dst)',
      run: (w, l) => {
        mutexUnlock(w, folioLock(w, l.dst));
        return 'putDst';
      },
    },
    putDst: {
      at: 'mm/migrate_device.c:__migrate_device_finalize folio_put(dst)',
      run: (w, l) => {
        folioPut(w, l.dst);
        l.i = l.i + 1;
        return 'entry';
      },
    },
  },
});

/** Each task's struct migrate_vma is on its stack: one row per actor (`migrateVmaOf`), named by the routines' `m` (layout.ts `ActorNames`). */
defineActorNames({
  name: 'migrate-vma',
  rows: [MIGRATE_VMA],
  locals: [migrateVmaSetup, migrateVmaPages, migrateVmaFinalize].map((r) => ({ routine: r.name, local: 'm', encoding: 'index' as const })),
});
