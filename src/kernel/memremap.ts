/**
 * ZONE_DEVICE memory (mm/memremap.c, include/linux/memremap.h): device-private pages. A driver
 * hands a range of device memory to memremap_pages with a `struct dev_pagemap` it embeds in its
 * own state (lib/test_hmm.c: dmirror_chunk.pagemap): MEMORY_DEVICE_PRIVATE, an `owner` (the driver's
 * cookie, dmirror's mdevice) and `ops->migrate_to_ram`, which do_swap_page calls on a CPU fault on
 * a device-private entry. The frames get struct pages (`page.pgmap`) but are never on the buddy
 * allocator's free lists: a device page is handed out by its driver (zone_device_page_init) and,
 * when its last reference goes, comes back to the driver (free_zone_device_folio →
 * pgmap->ops->page_free), not to the free lists.
 *
 * The model's frames are one pool: memremap_pages, at set-up, takes the highest free frames out of
 * it for good (so the buddy allocator hands out the same pfns as in a world without device memory),
 * and the driver's free list of device pages is "the pgmap's frames without a reference".
 * Simplification: the device's data lives in the device page itself (dmirror keeps it in a system
 * page behind it, BACKING_PAGE); no device-coherent pages, no folios larger than a page.
 */
import type { World } from '../world/world.js';
import { defineStruct } from '../world/layout.js';
import { ModelError } from '../world/errors.js';
import { PAGE } from './structs.js';
import { deref, isNone, NONE, ref, refersTo } from './ref.js';
import { prepNewPage, putPage } from './page.js';

/** struct dev_pagemap (include/linux/memremap.h), MEMORY_DEVICE_PRIVATE: its owner and ops->migrate_to_ram. */
export const DEV_PAGEMAP = defineStruct('devPagemap', ['owner', 'migrateToRam'] as const, {
  // Filled by memremap_pages before any page of the map exists, read-only after.
  owner: 'stable',
  migrateToRam: 'stable',
});

/**
 * mm/memremap.c:memremap_pages — set-up code (a driver's attach): dev_pagemap `pgmap` gets
 * `owner` and ops->migrate_to_ram (a routine ref, w.routineRef) and `nframes` frames, the highest
 * free ones, which leave the free lists for good. Throws if the world has too few free frames.
 */
export function memremapPages(w: World, pgmap: number, owner: number, migrateToRam: number, nframes: number): void {
  if (owner === NONE) throw new ModelError(`memremap_pages: dev_pagemap ${pgmap} needs an owner`);
  const m = w.obj(DEV_PAGEMAP, pgmap);
  m.owner = owner;
  m.migrateToRam = migrateToRam;
  let left = nframes;
  for (let pfn = w.count(PAGE) - 1; pfn >= 1 && left > 0; pfn--) {
    const p = w.obj(PAGE, pfn);
    if (p.free !== 1) continue;
    p.free = 0;
    p.pgmap = ref(pgmap);
    left--;
  }
  if (left > 0) throw new ModelError(`memremap_pages: ${nframes} device frames asked for dev_pagemap ${pgmap}, only ${nframes - left} free`);
}

/** include/linux/memremap.h:is_device_private_page (every ZONE_DEVICE page of the model is device-private). */
export function isDevicePrivatePage(w: World, pfn: number): boolean {
  return !isNone(w.obj(PAGE, pfn).pgmap);
}

/** page_pgmap(page)->owner; NONE for a normal page. */
export function pgmapOwner(w: World, pfn: number): number {
  const pgmap = w.obj(PAGE, pfn).pgmap;
  return isNone(pgmap) ? NONE : w.obj(DEV_PAGEMAP, deref(pgmap, 'page.pgmap')).owner;
}

/** page_pgmap(page)->ops->migrate_to_ram: a routine ref. */
export function pgmapMigrateToRam(w: World, pfn: number): number {
  return w.obj(DEV_PAGEMAP, deref(w.obj(PAGE, pfn).pgmap, 'page.pgmap')).migrateToRam;
}

/** What the scan for a free device page stands for (listed among a proof's assumptions). */
const DEVMEM_FREE_LIST = "a driver's free list of device pages (lib/test_hmm.c: mdevice->free_folios under mdevice->lock) is read as the frames of its dev_pagemap that hold no reference";

/**
 * A free page of dev_pagemap `pgmap` off its driver's free list, then
 * mm/memremap.c:zone_device_page_init — refcount 1, locked by the caller (lock_page), a new
 * generation, zeroed. The page is the caller's own until it publishes it. Returns 0 when the device
 * memory is exhausted.
 */
export function zoneDevicePageAlloc(w: World, pgmap: number): number {
  const n = w.count(PAGE);
  const pfn = w.standIn(DEVMEM_FREE_LIST, () => {
    for (let f = 1; f < n; f++) {
      const p = w.obj(PAGE, f);
      if (refersTo(p.pgmap, pgmap) && p.refcount === 0) return f;
    }
    return 0;
  });
  if (pfn === 0) return 0;
  prepNewPage(w, pfn);
  w.obj(PAGE, pfn).locked = w.self; // zone_device_page_init: lock_page on a page nobody else can reach
  return pfn;
}

/**
 * put_page of a device page: the last reference runs mm/memremap.c:free_zone_device_folio —
 * mapping and index cleared, pgmap->ops->page_free gives the frame back to its driver (never to
 * the free lists).
 */
export function putDevicePage(w: World, pfn: number): void {
  const p = w.obj(PAGE, pfn);
  if (p.refcount <= 0) {
    w.bug(`put_page on free device pfn ${pfn} (refcount underflow)`);
    return;
  }
  p.refcount = p.refcount - 1;
  if (p.refcount !== 0) return;
  w.own(PAGE, pfn);
  if (p.mapcount !== 0) w.bug(`free_zone_device_folio: device pfn ${pfn} freed while mapcount is ${p.mapcount} (bad page state)`);
  if (p.locked !== 0) w.bug(`free_zone_device_folio: device pfn ${pfn} freed while locked`);
  p.anon = 0;
  p.anonVma = NONE;
  p.index = 0;
}

/**
 * include/linux/mm.h:folio_put where the page may be a device page (__folio_put:
 * folio_is_zone_device → free_zone_device_folio). Reads page.pgmap, which is stable: the generic
 * putPage, which never meets a device page, does not.
 */
export function folioPut(w: World, pfn: number): void {
  if (isDevicePrivatePage(w, pfn)) putDevicePage(w, pfn);
  else putPage(w, pfn);
}
