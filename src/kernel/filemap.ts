/**
 * The page cache of a shmem/memfd file (mm/filemap.c, include/linux/fs.h struct address_space):
 * `i_pages` maps a file index to the folio caching it, and every VMA whose vm_file is the file is
 * in `i_mmap` (the model finds them by `vma.file`, as unmap_mapping_range does: zap.ts).
 *
 * Reference rules (mm/filemap.c:__filemap_add_folio, filemap_free_folio): the cache holds one
 * reference on each folio it caches (folio_ref_add on insertion, folio_put_refs on removal) and
 * `folio->mapping` names the file while it does; each pte mapping the folio holds one more (and a
 * mapcount), taken by the fault that mapped it and put by the zap that clears it. So a folio
 * leaves the cache without being freed while a pte still maps it — which is why truncation unmaps
 * every pte (under the folio lock) before it removes the folio (truncate.ts).
 *
 * The address_space and its i_pages are regions only a scenario with a memfd has (`memory:
 * memfd`, src/scenario/build.ts): every other world's layout is unchanged.
 */
import { defineStruct, type Layout } from '../world/layout.js';
import type { World } from '../world/world.js';
import { PAGE } from './structs.js';
import { deref, NONE, ref, refersTo } from './ref.js';
import { putPage } from './page.js';
import { assertHeld, folioLock, type Mutex } from './locks.js';
import { EEXIST } from './flags.js';

/** A shmem inode with its address_space. */
export const ADDRESS_SPACE = defineStruct(
  'addressSpace',
  [
    'file', // the vm_file VMAs name it by (vma.file): a ref of the file id
    'size', // i_size, in pages
    'iRwsem', // inode->i_rwsem, taken for write (inode_lock) by ftruncate and fallocate: its owner
  ] as const,
  {
    file: 'stable',
    // Written under inode_lock (i_size_write); read without it by the fault path (i_size_read).
    size: 'lock:inode.i_rwsem',
    iRwsem: 'lock-word:inode.i_rwsem',
  },
);

/**
 * One slot of a mapping's i_pages xarray: the folio cached at that index (its pfn), 0 for none.
 * Stored under the xarray's lock (xa_lock, kept out of the state: `w.inside`); loaded under RCU by
 * filemap_get_entry and find_lock_entries (declared `lockless` where they do).
 */
export const I_PAGES = defineStruct('iPages', ['folio'] as const, { folio: 'lock:mapping.i_pages' });

/** The xarray lock's class, for `w.inside` around the stores. */
const XA_LOCK = 'mapping.i_pages';

/** Declares `files` shmem files of `pages` pages each (their inodes and page caches). */
export function declareFiles(layout: Layout, names: readonly string[], pages: number): void {
  layout.dims.filePages = pages;
  layout.add(ADDRESS_SPACE, names.length, names);
  layout.add(
    I_PAGES,
    names.length * pages,
    names.flatMap((n) => Array.from({ length: pages }, (_, i) => `${n}[${i}]`)),
  );
}

/** Whether the world has page-cache files at all. */
export function hasFiles(w: World): boolean {
  return w.layout.has(ADDRESS_SPACE);
}

/** The address_space of the file a VMA's vm_file names (`vma.file`), or -1 if it has none (a device file). */
export function mappingOfFile(w: World, file: number): number {
  if (!hasFiles(w)) return -1;
  for (let m = 0; m < w.count(ADDRESS_SPACE); m++) if (w.obj(ADDRESS_SPACE, m).file === file) return m;
  return -1;
}

/** The file id (as `vma.file` refers to it) of address_space `m`. */
export function fileOfMapping(w: World, m: number): number {
  return deref(w.obj(ADDRESS_SPACE, m).file, 'addressSpace.file');
}

/** The i_pages slot of index `index` of mapping `m`. */
export function iPagesSlot(w: World, m: number, index: number) {
  const n = w.layout.dims.filePages;
  if (index < 0 || index >= n) throw new Error(`file index ${index} outside the file's ${n} pages`);
  return w.obj(I_PAGES, m * n + index);
}

/** inode_lock(inode): i_rwsem for write, a sleeping exclusive lock in the model (no reader takes it). */
export function inodeLock(w: World, m: number): Mutex {
  return { kind: 'mutex', slot: w.layout.slot(ADDRESS_SPACE, m, 'iRwsem'), name: () => `inode[${w.layout.objectName(w.layout.region(ADDRESS_SPACE), m)}].i_rwsem` };
}

/**
 * mm/filemap.c:filemap_get_entry — xas_load under RCU, then folio_try_get, then xas_reload: a
 * folio freed or moved between the load and the get is retried, so load-and-get is one
 * linearisable access (`w.single`). Returns the folio with a reference taken, or 0.
 */
export function filemapGetEntry(w: World, m: number, index: number): number {
  return w.single(() => {
    const pfn = iPagesSlot(w, m, index).folio;
    if (pfn !== 0) {
      const p = w.obj(PAGE, pfn);
      p.refcount = p.refcount + 1; // folio_try_get: the slot's folio still holds the cache's reference
    }
    return pfn;
  });
}

/**
 * mm/shmem.c:shmem_add_to_page_cache (mm/filemap.c:__filemap_add_folio) of the new, locked folio
 * `pfn` at `index`: under xa_lock, -EEXIST if the slot is taken (another fault added one first);
 * else folio->mapping and ->index set and the cache's reference taken (folio_ref_add).
 */
export function shmemAddToPageCache(w: World, m: number, index: number, pfn: number): number {
  assertHeld(w, folioLock(w, pfn), 'shmem_add_to_page_cache'); // VM_BUG_ON_FOLIO(!folio_test_locked)
  return w.inside(XA_LOCK, () => {
    const slot = iPagesSlot(w, m, index);
    if (slot.folio !== 0) return -EEXIST;
    const p = w.obj(PAGE, pfn);
    p.mapping = ref(m);
    p.index = index;
    p.refcount = p.refcount + 1; // folio_ref_add(folio, nr): the page cache's reference
    slot.folio = pfn;
    return 0;
  });
}

/**
 * mm/filemap.c:filemap_remove_folio of locked folio `pfn` (__filemap_remove_folio under xa_lock:
 * the slot emptied, folio->mapping = NULL; then filemap_free_folio: folio_put_refs, the cache's
 * reference). The folio is freed here only if nothing else holds it.
 */
export function filemapRemoveFolio(w: World, m: number, pfn: number): void {
  assertHeld(w, folioLock(w, pfn), 'filemap_remove_folio'); // BUG_ON(!folio_test_locked(folio))
  const p = w.obj(PAGE, pfn);
  w.inside(XA_LOCK, () => {
    iPagesSlot(w, m, p.index).folio = 0;
    p.mapping = NONE;
  });
  putPage(w, pfn); // filemap_free_folio: folio_put_refs(folio, nr)
}

/** folio->mapping == mapping (the folio is still in `m`'s cache); read under the folio lock. */
export function folioInMapping(w: World, pfn: number, m: number): boolean {
  return refersTo(w.obj(PAGE, pfn).mapping, m);
}
