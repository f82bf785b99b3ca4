/**
 * Scenario set-up: the state before any actor runs (VMAs mapped, pages faulted in). These write
 * the world directly; they model what the processes did before the interesting part began, so
 * they are not steps and leave no trace.
 */
import type { AnyRoutine } from '../world/routine.js';
import type { World } from '../world/world.js';
import { VM_ANON, VM_READ, VM_WRITE } from './flags.js';
import { allocPage, getPage, pageAddNewAnonRmap, pageDupRmap, putPage } from './page.js';
import { findVma, freeVmaSlot, setPte, vma } from './pgtable.js';
import { iPagesSlot, mappingOfFile, shmemAddToPageCache } from './filemap.js';
import { PAGE } from './structs.js';
import { refOrNone } from './ref.js';

export interface VmaSpec {
  readonly start: number;
  readonly end: number;
  /** VM_* bits; anonymous private read-write by default. */
  readonly flags?: number;
  /** vm_ops->fault for device/file VMAs. */
  readonly fault?: AnyRoutine;
  /** vm_ops->pfn_mkwrite: asked before a write upgrades a special pte of a shared VMA. */
  readonly pfnMkwrite?: AnyRoutine;
  /** vm_private_data: the driver's object index. */
  readonly priv?: number;
  /** vm_file: the file / address_space id, for unmap_mapping_range. */
  readonly file?: number;
  readonly pgoff?: number;
}

/** mmap: adds a VMA to `mm`; returns its global index. */
export function addVma(w: World, mm: number, spec: VmaSpec): number {
  if (spec.start >= spec.end) throw new Error(`VMA [${spec.start}, ${spec.end}) is empty`);
  if (spec.end > w.layout.dims.mmPages) throw new Error(`VMA [${spec.start}, ${spec.end}) exceeds the address space of ${w.layout.dims.mmPages} pages`);
  const i = freeVmaSlot(w, mm);
  if (i < 0) throw new Error(`mm ${mm} has no free VMA slot`);
  const v = vma(w, i);
  v.used = 1;
  v.start = spec.start;
  v.end = spec.end;
  v.flags = spec.flags ?? VM_ANON | VM_READ | VM_WRITE;
  v.fault = w.routineRef(spec.fault);
  v.pfnMkwrite = w.routineRef(spec.pfnMkwrite);
  v.priv = refOrNone(spec.priv);
  v.file = refOrNone(spec.file);
  v.pgoff = spec.pgoff ?? 0;
  return i;
}

/** An anonymous page already faulted in at `vpn` (do_anonymous_page before the scenario). Returns its pfn. */
export function populateAnon(w: World, mm: number, vpn: number, contents: number, write = true): number {
  const pfn = allocPage(w);
  if (pfn === 0) throw new Error('out of page frames while populating the scenario');
  pageAddNewAnonRmap(w, pfn, mm, vpn);
  w.obj(PAGE, pfn).contents = contents;
  setPte(w, mm, vpn, pfn, write, false);
  return pfn;
}

/**
 * A page of shmem file `m` already faulted in at `vpn` of `mm`, whose VMA maps the file shared
 * (shmem_fault before the scenario): the folio at the VMA's file index, allocated and added to
 * the page cache if it is not there yet, then mapped. Returns its pfn.
 */
export function populateShmem(w: World, mm: number, vpn: number, contents: number): number {
  const vi = findVma(w, mm, vpn);
  if (vi < 0) throw new Error(`no VMA of mm ${mm} at page ${vpn} to populate`);
  const v = vma(w, vi);
  const m = mappingOfFile(w, v.file);
  if (m < 0) throw new Error(`the VMA of mm ${mm} at page ${vpn} maps no shmem file`);
  const index = v.pgoff + (vpn - v.start);
  let pfn = iPagesSlot(w, m, index).folio;
  if (pfn === 0) {
    pfn = allocPage(w);
    if (pfn === 0) throw new Error('out of page frames while populating the scenario');
    w.obj(PAGE, pfn).locked = 1; // __folio_set_locked, around shmem_add_to_page_cache (set-up: no actor)
    shmemAddToPageCache(w, m, index, pfn);
    w.obj(PAGE, pfn).locked = 0;
    putPage(w, pfn); // the allocation's reference; the pte takes its own below
    w.obj(PAGE, pfn).contents = contents;
  }
  getPage(w, pfn); // the pte's reference
  pageDupRmap(w, pfn); // folio_add_file_rmap_pte
  setPte(w, mm, vpn, pfn, (v.flags & VM_WRITE) !== 0, false);
  return pfn;
}
