/**
 * Migration / compaction of one anonymous page (mm/migrate.c:migrate_pages for a single folio):
 *
 *   isolate → alloc dst → folio_lock(src), folio_trylock(dst) → try_to_migrate (per mapping:
 *   start(CLEAR) → pte := migration entry → end) → folio_mapped? → __migrate_folio (refcount
 *   check, copy, move anon metadata and swap cache) → remove_migration_ptes(src, dst) (no
 *   notifier: the slots are non-present) → unlock dst, put dst → unlock src, put src (freed).
 *
 * On failure (a mapping the walk missed, or an extra reference such as a GUP pin) the migration
 * entries are turned back into ptes of the source (remove_migration_ptes(src, src)), as
 * migrate_folio_undo_src does, and dst is freed.
 *
 * A migration pte holds `migration = src pfn` (present 0, pfn 0) and keeps the original `write`
 * bit (make_writable_migration_entry / make_readable_migration_entry); a fault on it sleeps in
 * migration_entry_wait until the entry is replaced (ops/fault.ts).
 *
 * Simplifications:
 *   - one attempt: the kernel retries a -EAGAIN up to NR_MAX_MIGRATE_PAGES_RETRY passes (keeping or
 *     re-establishing migration entries) before undoing; the model undoes at once, which is the
 *     kernel's final outcome, and the window in which faults wait on the entries is still there;
 *   - the folio lock stands for the anon_vma lock (see reclaim.ts), isolation is not exclusive;
 *   - the v6.18 order of __migrate_folio (refcount check, folio_mc_copy, __folio_migrate_mapping)
 *     is one step: the source is locked and unmapped, so nobody can take a reference between them.
 */
import { refuseLargeFolio } from '../huge.js';
import { EAGAIN, EBUSY, ENOMEM, GFP_NOWAIT } from '../flags.js';
import { folioLock, mutexLock, mutexTrylock, mutexUnlock, ptl, spinLock, spinUnlock } from '../locks.js';
import { allocPage, getPage, pageDupRmap, putPage } from '../page.js';
import { pte, setDevicePrivatePte, setPte } from '../pgtable.js';
import { isDevicePrivatePage } from '../memremap.js';
import { PAGE } from '../structs.js';
import { isNone, NONE } from '../ref.js';
import { defineRmapUnmap, migrationEntryOf, rmapNextMm } from './rmap.js';
import { tlbDefer } from '../tlb.js';
import { KERNEL } from '../library.js';
import { dirtyAccessed } from '../dirty.js';

/** mm/rmap.c:try_to_migrate — every pte mapping the page becomes a migration entry. */
export const tryToMigrate = defineRmapUnmap({
  name: 'try_to_migrate',
  oneAt: 'mm/rmap.c:try_to_migrate_one',
  flushEach: 'mm/rmap.c:try_to_migrate_one ptep_clear_flush',
  replace: (w, mm, vpn, pfn) => {
    const p = pte(w, mm, vpn);
    p.present = 0;
    p.pfn = 0;
    p.special = 0;
    p.swap = NONE;
    p.gen = 0;
    p.migration = pfn; // the write bit stays: it is part of the migration entry (protnone too: mprotect.ts)
    // MIGRATE_SYNC: try_to_migrate(src, 0), no TTU_BATCH_FLUSH (migrate_folio_unmap): ptep_clear_flush,
    // in the walk's `flush` step (flushEach).
    tlbDefer(w, mm, vpn);
  },
});

/**
 * mm/migrate.c:remove_migration_ptes(src, dst) — every migration entry for `src` in the source's
 * anon_vma becomes a present pte of `dst` (folio_get, folio_add_anon_rmap_pte, set_pte_at). No
 * notifier: the slot held no present pte. One mapping per step, each under its ptl. A device-private
 * `dst` (mm/migrate_device.c) becomes a device-private entry (remove_migration_pte:
 * is_device_private_page(new) → make_{writable,readable}_device_private_entry).
 */
export const removeMigrationPtes = KERNEL.routine({
  name: 'remove_migration_ptes',
  params: ['src', 'dst'],
  locals: ['next'],
  steps: {
    restore: {
      at: 'mm/migrate.c:remove_migration_pte',
      run: (w, l) => {
        const mm = rmapNextMm(w, l.src, l.next, migrationEntryOf);
        if (mm < 0) return w.ret(0);
        const b = spinLock(w, ptl(w, mm)); // page_vma_mapped_walk: pte_offset_map_lock
        if (b) return b;
        const vpn = w.obj(PAGE, l.src).index;
        const { write, protnone } = pte(w, mm, vpn);
        const bits = dirtyAccessed(w) ? [pte(w, mm, vpn).dirty, pte(w, mm, vpn).young] : undefined;
        getPage(w, l.dst);
        pageDupRmap(w, l.dst);
        // A device-private page is mapped by a device-private entry (migrate_device.c's pages).
        if (isDevicePrivatePage(w, l.dst)) setDevicePrivatePte(w, mm, vpn, l.dst, write === 1);
        else {
          setPte(w, mm, vpn, l.dst, write === 1, false);
          pte(w, mm, vpn).protnone = protnone; // mk_pte(new, vma->vm_page_prot): PAGE_NONE in a PROT_NONE VMA
          if (bits) {
            // The migration entry kept the bits (make_migration_entry_dirty / _young): "if
            // (folio_test_dirty(folio) && is_migration_entry_dirty(entry)) pte = pte_mkdirty(pte)";
            // "if (!is_migration_entry_young(entry)) pte = pte_mkold(pte)". try_to_migrate_one
            // dirtied the folio, and the migration moved PG_dirty to the new one.
            [pte(w, mm, vpn).dirty, pte(w, mm, vpn).young] = bits;
          }
        }
        spinUnlock(w, ptl(w, mm));
        l.next = mm + 1;
        return 'restore';
      },
    },
  },
});

/**
 * Migrates anonymous page `src` to the lowest free pfn. Returns 0 on success (src freed), -EBUSY
 * if src is not an LRU anon page, -ENOMEM without a free page, -EAGAIN when it stayed mapped or
 * had an unexpected reference (the ptes are restored to src).
 */
export const migratePages = KERNEL.routine({
  name: 'migrate_pages',
  params: ['src'],
  locals: ['dst', 'rc'],
  steps: {
    // The migrator's own reference (isolate_migratepages_block / folio_isolate_lru).
    isolate: {
      at: 'mm/vmscan.c:folio_isolate_lru',
      run: (w, l) => {
        const page = w.obj(PAGE, l.src);
        if (page.refcount <= 0 || page.anon !== 1) return w.ret(-EBUSY);
        refuseLargeFolio(w, l.src, 'migrate_pages');
        getPage(w, l.src);
        return 'allocDst';
      },
    },
    allocDst: {
      at: 'mm/migrate.c:migrate_folio_unmap get_new_folio',
      run: (w, l) => {
        l.dst = allocPage(w, GFP_NOWAIT); // compaction_alloc: a page the free scanner isolated, never reclaim
        if (l.dst === 0) {
          putPage(w, l.src);
          return w.ret(-ENOMEM);
        }
        return 'lock';
      },
    },
    // MIGRATE_SYNC: folio_lock(src) sleeps; dst is private, so its trylock cannot fail.
    lock: {
      at: 'mm/migrate.c:migrate_folio_unmap folio_lock',
      run: (w, l) => {
        const b = mutexLock(w, folioLock(w, l.src)); // folio_lock(src)
        if (b) return b;
        if (!mutexTrylock(w, folioLock(w, l.dst))) w.bug(`migrate_folio_unmap: new folio pfn ${l.dst} already locked`);
        return w.call(tryToMigrate, 'unmapped', l.src);
      },
    },
    unmapped: {
      at: 'mm/migrate.c:migrate_folio_unmap',
      lockless: ['page.mapcount'], // folio_mapped(src)
      run: (w, l) => {
        if (w.obj(PAGE, l.src).mapcount === 0) return 'move';
        l.rc = -EAGAIN;
        return w.call(removeMigrationPtes, 'undo', l.src, l.src);
      },
    },
    // __migrate_folio: folio_mc_copy first, then __folio_migrate_mapping freezes the refcount at
    // the expected references (ours, +1 for the swap cache) — anything else (a GUP pin) fails with
    // -EAGAIN — and hands page->mapping/index and the swap cache entry over to dst. dst is the
    // migration's own until remove_migration_ptes maps it (no pte, no cache entry refers to it).
    move: {
      at: 'mm/migrate.c:__migrate_folio folio_mc_copy',
      run: (w, l) => {
        w.own(PAGE, l.dst);
        w.obj(PAGE, l.dst).contents = w.obj(PAGE, l.src).contents;
        return 'freeze';
      },
    },
    freeze: {
      at: 'mm/migrate.c:__folio_migrate_mapping folio_ref_freeze',
      run: (w, l) => {
        w.own(PAGE, l.dst);
        const src = w.obj(PAGE, l.src);
        const dst = w.obj(PAGE, l.dst);
        const expected = 1 + (isNone(src.swap) ? 0 : 1);
        if (src.refcount !== expected) {
          l.rc = -EAGAIN;
          return w.call(removeMigrationPtes, 'undo', l.src, l.src);
        }
        if (dirtyAccessed(w)) {
          // Frozen: no pte, secondary or reference can reach src, whose PG_dirty moves to dst
          // ("if (folio_test_dirty(folio)) { folio_clear_dirty(folio); folio_set_dirty(newfolio); }").
          w.own(PAGE, l.src);
          dst.dirty = src.dirty;
          src.dirty = 0;
        }
        dst.anon = 1;
        dst.anonVma = src.anonVma;
        dst.index = src.index;
        if (!isNone(src.swap)) {
          dst.swap = src.swap;
          dst.refcount = dst.refcount + 1;
          src.swap = NONE;
          src.refcount = src.refcount - 1; // folio_ref_unfreeze(src, expected - nr)
        }
        return w.call(removeMigrationPtes, 'unlockDst', l.src, l.dst);
      },
    },
    // migrate_folio_move: folio_unlock(dst), folio_put(dst) — the mappings now hold dst; then
    // migrate_folio_done: folio_unlock(src), folio_put(src), its last reference. A put after an
    // unlock is a step of its own (another CPU can take the lock between them).
    unlockDst: {
      at: 'mm/migrate.c:migrate_folio_move folio_unlock',
      run: (w, l) => {
        mutexUnlock(w, folioLock(w, l.dst));
        return 'putDst';
      },
    },
    putDst: {
      at: 'mm/migrate.c:migrate_folio_move folio_put',
      run: (w, l) => {
        putPage(w, l.dst);
        mutexUnlock(w, folioLock(w, l.src)); // migrate_folio_done
        return 'putSrc';
      },
    },
    putSrc: {
      at: 'mm/migrate.c:migrate_folio_done folio_put',
      run: (w, l) => {
        putPage(w, l.src); // the last reference: src is freed
        return w.ret(0);
      },
    },
    // migrate_folio_undo_src (ptes already restored) then migrate_folio_undo_dst; src goes back
    // to the LRU (putback_movable_pages drops the isolation reference).
    undo: {
      at: 'mm/migrate.c:migrate_folio_undo_src folio_unlock',
      run: (w, l) => {
        mutexUnlock(w, folioLock(w, l.src));
        return 'undoPutSrc';
      },
    },
    undoPutSrc: {
      at: 'mm/migrate.c:migrate_folio_undo_src putback',
      run: (w, l) => {
        putPage(w, l.src);
        mutexUnlock(w, folioLock(w, l.dst)); // migrate_folio_undo_dst
        return 'undoPutDst';
      },
    },
    undoPutDst: {
      at: 'mm/migrate.c:migrate_folio_undo_dst folio_put',
      run: (w, l) => {
        putPage(w, l.dst);
        const rc = l.rc;
        l.rc = 0;
        return w.ret(rc);
      },
    },
  },
});
