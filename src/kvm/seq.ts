/**
 * kvm->mmu_invalidate_seq is an `unsigned long`: 64 bits on x86-64. A state slot holds 32, so the
 * sequence is two slots, `invalidateSeq` (the low word) and `invalidateSeqHi` (the high word), and
 * a fault's snapshot is two locals. Two words rather than one compared modulo 2^32: equality of
 * the low words alone would do for today's check (the sequence only grows, and no run of the model
 * bumps it 2^32 times), but not for a kernel whose snapshot was an `int` (B-21): sign-extending it
 * back to `unsigned long` gives a high word of all ones whenever bit 31 is set, which only a high
 * word of its own can tell apart from the sequence's (0, below 2^32). Both words stay constant
 * unless an invalidation ends, so the extra slot adds no state.
 */
import type { World } from '../world/world.js';
import { KVM } from './structs.js';

const WORD = 2 ** 32;

/** The two words of a sequence value 0..2^53-1: the low one as the int32 a slot holds. */
export function seqWords(value: number): { readonly lo: number; readonly hi: number } {
  return { lo: value | 0, hi: Math.floor(value / WORD) | 0 };
}

/** kvm->mmu_invalidate_seq++ (kvm_mmu_invalidate_end): the carry goes into the high word. */
export function bumpInvalidateSeq(w: World, k: number): void {
  const kvm = w.obj(KVM, k);
  const lo = (kvm.invalidateSeq + 1) | 0;
  kvm.invalidateSeq = lo;
  if (lo === 0) kvm.invalidateSeqHi = (kvm.invalidateSeqHi + 1) | 0;
}

/** READ_ONCE(kvm->mmu_invalidate_seq): one 64-bit load, which the layout spreads over two slots. */
export function readInvalidateSeq(w: World, k: number): { readonly lo: number; readonly hi: number } {
  const kvm = w.obj(KVM, k);
  return w.single(() => ({ lo: kvm.invalidateSeq, hi: kvm.invalidateSeqHi }));
}
