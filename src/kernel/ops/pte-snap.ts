/**
 * A pte value as fault paths remember it (`vmf->orig_pte`) and compare it later under the ptl
 * (`pte_same`). Frames hold only numbers, so the entry is packed into two locals: `pfnOrEntry`
 * (the pfn if present, else the swap entry, else the migration pfn, else the device-private pfn) and `bits`.
 */
import type { World } from '../../world/world.js';
import { pte, type PteView } from '../pgtable.js';

export const SNAP_PRESENT = 1;
export const SNAP_WRITE = 2;
export const SNAP_SPECIAL = 4;
export const SNAP_SWAP = 8;
export const SNAP_MIGRATION = 16;
export const SNAP_DEVICE_PRIVATE = 32;

/** The bits half of a pte snapshot (0 = pte_none). */
export function pteBits(p: PteView): number {
  if (p.present) return SNAP_PRESENT | (p.write ? SNAP_WRITE : 0) | (p.special ? SNAP_SPECIAL : 0);
  if (p.swap) return SNAP_SWAP;
  if (p.migration) return SNAP_MIGRATION | (p.write ? SNAP_WRITE : 0); // the entry keeps the write bit
  if (p.devPrivate) return SNAP_DEVICE_PRIVATE | (p.write ? SNAP_WRITE : 0); // so does a device-private entry
  return 0;
}

/** The value half of a pte snapshot. */
export function pteValue(p: PteView): number {
  if (p.present) return p.pfn;
  if (p.swap) return p.swap;
  if (p.migration) return p.migration;
  return p.devPrivate;
}

/** include/linux/pgtable.h:pte_same — against a snapshot taken earlier. The ghost `gen` is not compared: the kernel cannot see it either. */
export function pteSame(w: World, mm: number, vpn: number, value: number, bits: number): boolean {
  const p = pte(w, mm, vpn);
  return pteBits(p) === bits && pteValue(p) === value;
}
