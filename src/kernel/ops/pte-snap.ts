/**
 * A pte value as fault paths remember it (`vmf->orig_pte`) and compare it later under the ptl
 * (`pte_same`). Frames hold only numbers, so the entry is packed into two locals: `pfnOrEntry`
 * (the pfn if present, else the swap slot + 1, else the migration pfn) and `bits`.
 */
import type { World } from '../../world/world.js';
import { pte, type PteView } from '../pgtable.js';
import { MM } from '../structs.js';

export const SNAP_PRESENT = 1;
export const SNAP_WRITE = 2;
export const SNAP_SPECIAL = 4;
export const SNAP_SWAP = 8;
export const SNAP_MIGRATION = 16;

/** The bits half of a pte snapshot (0 = pte_none). */
export function pteBits(p: PteView): number {
  if (p.present) return SNAP_PRESENT | (p.write ? SNAP_WRITE : 0) | (p.special ? SNAP_SPECIAL : 0);
  if (p.swap) return SNAP_SWAP;
  if (p.migration) return SNAP_MIGRATION | (p.write ? SNAP_WRITE : 0); // the entry keeps the write bit
  return 0;
}

/** The value half of a pte snapshot. */
export function pteValue(p: PteView): number {
  if (p.present) return p.pfn;
  if (p.swap) return p.swap;
  return p.migration;
}

/** include/linux/pgtable.h:pte_same — against a snapshot taken earlier. The ghost `gen` is not compared: the kernel cannot see it either. */
export function pteSame(w: World, mm: number, vpn: number, value: number, bits: number): boolean {
  const p = pte(w, mm, vpn);
  return pteBits(p) === bits && pteValue(p) === value;
}

/**
 * Whether a step that wants the page-table lock of `mm` must spin. Spinning on a lock the actor
 * holds itself is a self-deadlock: reported as a BUG (the step still spins, so the actor hangs).
 */
export function ptlWouldSpin(w: World, mm: number): boolean {
  const owner = w.obj(MM, mm).ptl;
  if (owner === 0) return false;
  if (owner === w.self) w.bug(`spin_lock(ptl of mm ${mm}) already held by this actor (self-deadlock)`);
  return true;
}

/** mmap_assert_locked: some actor holds mmap_lock of `mm` (the model counts readers, not which ones). */
export function mmapLocked(w: World, mm: number): boolean {
  const m = w.obj(MM, mm);
  return m.mmapReaders > 0 || m.mmapWriter !== 0;
}
