/**
 * References between objects in the state. A field that points at another object (an mm, a VMA, a
 * subscription, a driver's object, a lock of the topology, an actor owning a lock) stores the
 * object's index + 1, so that 0 — what every slot holds before it is set — means "none". Model
 * code does not write that arithmetic: it says `ref(mm)` to store a reference, `deref(s.mm,
 * 'mmu_notifier.mm')` to follow one (a none reference is a model error that names the field),
 * `isNone(r)` to test for none and `refersTo(r, mm)` to compare.
 *
 * Swap entries are references to swap slots with the kernel's names: `swpEntry(slot)` is what a
 * swap pte and a swap-cache page hold, `swpOffset(entry)` the slot it names (slot 0, the swap
 * header, is never handed out, but the entry for it would still not be 0).
 *
 * Not references in this sense: pfns (pfn 0 is never allocated and means "no page"), vpns, and
 * the routine references of ops pointers (`w.routineRef`, `w.callRef`: id + 1, 0 for none), which
 * the world encodes; `isNone` reads those too.
 */
import { ModelError } from '../world/errors.js';

/** A stored reference: the index of the object + 1, or NONE. */
export type Ref = number;

/** No object. */
export const NONE: Ref = 0;

/** The reference to object `index`. */
export function ref(index: number): Ref {
  return index + 1;
}

/** The reference to object `index`, or NONE when there is none (an optional argument). */
export function refOrNone(index: number | undefined): Ref {
  return index === undefined ? NONE : ref(index);
}

export function isNone(r: Ref): boolean {
  return r === NONE;
}

/** Whether `r` refers to object `index`. */
export function refersTo(r: Ref, index: number): boolean {
  return r === index + 1;
}

/** The index `r` refers to. Following a none reference is a model error naming `what` (the field). */
export function deref(r: Ref, what: string): number {
  if (r <= NONE) throw new ModelError(`${what} is ${r === NONE ? 'none' : `not a reference (${r})`}: nothing to dereference`);
  return r - 1;
}

/** include/linux/swapops.h:swp_entry — the entry for swap slot `offset` (never 0). */
export function swpEntry(offset: number): Ref {
  return ref(offset);
}

/** include/linux/swapops.h:swp_offset — the swap slot of `entry` (not none). */
export function swpOffset(entry: Ref): number {
  return deref(entry, 'swap entry');
}
