/**
 * Page tables and VMAs of an mm. Ptes are indexed by (mm, vpn); every mm has `mmPages` of them and
 * `vmasPerMm` VMA slots (see topology.ts). Helpers here are atomic (they run inside one step, under
 * whatever lock the calling step holds).
 */
import type { View, World } from '../world/world.js';
import { PTE, VMA } from './structs.js';
import { pageGen } from './page.js';
import { assertHeld, assertWriteHeld, mmapLock, ptl } from './locks.js';
import { isNone, NONE } from './ref.js';
import { dirtyAccessed } from './dirty.js';

export type PteView = View<(typeof PTE.fields)[number]>;
export type VmaView = View<(typeof VMA.fields)[number]>;

export function pte(w: World, mm: number, vpn: number): PteView {
  const n = w.layout.dims.mmPages;
  if (vpn < 0 || vpn >= n) throw new Error(`vpn ${vpn} outside the address space (0..${n - 1})`);
  return w.obj(PTE, mm * n + vpn);
}

export function vma(w: World, index: number): VmaView {
  return w.obj(VMA, index);
}

/** Global VMA index of slot `k` of mm `mm`. */
export function vmaIndex(w: World, mm: number, k: number): number {
  return mm * w.layout.dims.vmasPerMm + k;
}

/** Index of the mm owning the VMA with global index `index`. */
export function vmaMm(w: World, index: number): number {
  return Math.floor(index / w.layout.dims.vmasPerMm);
}

/** kernel/fork.c:vm_area_dup — every field of VMA `from` copied into slot `to` (under mmap_write_lock of its mm). */
export function vmaDup(w: World, from: number, to: number): void {
  assertWriteHeld(w, mmapLock(w, vmaMm(w, to)), 'vm_area_dup');
  const r = w.layout.region(VMA);
  for (let k = 0; k < r.stride; k++) w.set(r.base + to * r.stride + k, w.get(r.base + from * r.stride + k));
}

/** The slot of a removed VMA (under mmap_write_lock of its mm): every field zero. */
export function vmaClear(w: World, index: number): void {
  assertWriteHeld(w, mmapLock(w, vmaMm(w, index)), 'remove_vma');
  const r = w.layout.region(VMA);
  for (let k = 0; k < r.stride; k++) w.set(r.base + index * r.stride + k, 0);
}

/** mm/mmap.c: find_vma (exact containment) — global VMA index, or -1. */
export function findVma(w: World, mm: number, vpn: number): number {
  const per = w.layout.dims.vmasPerMm;
  for (let k = 0; k < per; k++) {
    const i = mm * per + k;
    const v = w.obj(VMA, i);
    if (v.used === 1 && v.start <= vpn && vpn < v.end) return i;
  }
  return -1;
}

/** A free VMA slot of `mm` (global index), or -1. */
export function freeVmaSlot(w: World, mm: number): number {
  const per = w.layout.dims.vmasPerMm;
  for (let k = 0; k < per; k++) if (w.obj(VMA, mm * per + k).used === 0) return mm * per + k;
  return -1;
}

/**
 * set_pte_at of a present pte, under the ptl; records the page generation as ghost state. The pte
 * is accessible (not protnone): every caller installs from a fault or an insert into a VMA the
 * access was allowed in (mk_pte with a readable vm_page_prot); remove_migration_pte puts back the
 * protnone its entry carries.
 */
export function setPte(w: World, mm: number, vpn: number, pfn: number, write: boolean, special: boolean): void {
  assertHeld(w, ptl(w, mm), 'set_pte_at');
  const p = pte(w, mm, vpn);
  p.pfn = pfn;
  p.present = 1;
  p.write = write ? 1 : 0;
  p.special = special ? 1 : 0;
  p.swap = NONE;
  p.migration = 0;
  p.devPrivate = 0;
  p.gen = pageGen(w, pfn);
  p.protnone = 0;
  if (dirtyAccessed(w)) {
    // mk_pte with vm_page_prot (x86's protections carry _PAGE_ACCESSED): young; a write fault's
    // entry is maybe_mkwrite(pte_mkdirty(entry)) (do_anonymous_page, wp_page_copy, wp_page_reuse,
    // do_swap_page, insert_pfn with mkwrite): writable ptes are made dirty, others clean.
    p.young = 1;
    p.dirty = write ? 1 : 0;
  }
}

/**
 * set_pte_at of a device-private entry (make_writable_device_private_entry /
 * make_readable_device_private_entry, swp_entry_to_pte), under the ptl: non-present for the CPU, it
 * names device page `pfn` and keeps the write bit; records the page generation as ghost state.
 */
export function setDevicePrivatePte(w: World, mm: number, vpn: number, pfn: number, write: boolean): void {
  assertHeld(w, ptl(w, mm), 'set_pte_at');
  const p = pte(w, mm, vpn);
  p.pfn = 0;
  p.present = 0;
  p.write = write ? 1 : 0;
  p.special = 0;
  p.swap = NONE;
  p.migration = 0;
  p.devPrivate = pfn;
  p.gen = pageGen(w, pfn);
  p.protnone = 0;
}

/** pte_clear / ptep_get_and_clear, under the ptl: the slot becomes none. */
export function clearPte(w: World, mm: number, vpn: number): void {
  assertHeld(w, ptl(w, mm), 'ptep_get_and_clear');
  const p = pte(w, mm, vpn);
  p.pfn = 0;
  p.present = 0;
  p.write = 0;
  p.special = 0;
  p.swap = NONE;
  p.migration = 0;
  p.devPrivate = 0;
  p.gen = 0;
  p.protnone = 0;
  if (dirtyAccessed(w)) {
    p.dirty = 0;
    p.young = 0;
  }
}

/** pte_none(): no present page and no swap, migration or device-private entry. */
export function pteNone(p: PteView): boolean {
  return p.present === 0 && isNone(p.swap) && p.migration === 0 && p.devPrivate === 0;
}
