/**
 * VMA slot helpers for munmap, mprotect and exit. mm/vma.c:__split_vma: a VMA is cut at a page boundary into two VMAs with
 * the same flags, ops and file; the upper part takes a free slot of the same mm and its pgoff
 * moves with it. Callers hold mmap_write_lock. VMA merging (vma_merge_*) is not modelled.
 */
import type { World } from '../../world/world.js';
import { EINVAL, ENOMEM, VM_NO_SPLIT } from '../flags.js';
import { freeVmaSlot, vma, vmaDup, vmaIndex } from '../pgtable.js';

/** Splits VMA `index` at `at` (start < at < end); returns the index of the upper part, or -1 if no slot is free. */
export function splitVma(w: World, mm: number, index: number, at: number): number {
  const v = vma(w, index);
  if (!(v.start < at && at < v.end)) throw new Error(`split of VMA ${index} [${v.start}, ${v.end}) at ${at}`);
  const j = freeVmaSlot(w, mm);
  if (j < 0) return -1;
  vmaDup(w, index, j);
  const u = vma(w, j);
  u.start = at;
  u.pgoff = v.pgoff + (at - v.start);
  v.end = at;
  return j;
}

/** Free VMA slots `mm` has. */
function freeSlots(w: World, mm: number): number {
  let n = 0;
  for (let k = 0; k < w.layout.dims.vmasPerMm; k++) if (!vma(w, vmaIndex(w, mm, k)).used) n++;
  return n;
}

/**
 * Splits every VMA of `mm` straddling `start` or `end` so that [start, end) is covered by whole
 * VMAs: 0, or the error of mm/vma.c:__split_vma with nothing changed (all or nothing) — -EINVAL
 * when a VMA's vm_ops->may_split refuses (VM_NO_SPLIT), -ENOMEM when the mm lacks the slots
 * (vm_area_dup failing), checked in that order as __split_vma does.
 */
export function splitVmasAround(w: World, mm: number, start: number, end: number): number {
  const per = w.layout.dims.vmasPerMm;
  let need = 0;
  let refused = false;
  for (let k = 0; k < per; k++) {
    const v = vma(w, vmaIndex(w, mm, k));
    if (!v.used || v.end <= start || v.start >= end) continue;
    const splits = (v.start < start ? 1 : 0) + (v.end > end ? 1 : 0);
    need += splits;
    if (splits && v.flags & VM_NO_SPLIT) refused = true;
  }
  if (refused) return -EINVAL;
  if (need > freeSlots(w, mm)) return -ENOMEM;
  for (let k = 0; k < per; k++) {
    const i = vmaIndex(w, mm, k);
    const v = vma(w, i);
    if (v.used && v.start < start && start < v.end) splitVma(w, mm, i, start);
  }
  for (let k = 0; k < per; k++) {
    const i = vmaIndex(w, mm, k);
    const v = vma(w, i);
    if (v.used && v.start < end && end < v.end) splitVma(w, mm, i, end);
  }
  return 0;
}

/** Global indices of the used VMAs of `mm` overlapping [start, end), in slot order. */
export function vmasIn(w: World, mm: number, start: number, end: number): number[] {
  const out: number[] = [];
  for (let k = 0; k < w.layout.dims.vmasPerMm; k++) {
    const i = vmaIndex(w, mm, k);
    const v = vma(w, i);
    if (v.used && v.start < end && start < v.end) out.push(i);
  }
  return out;
}
