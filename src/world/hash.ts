/**
 * The 64-bit state fingerprint, kept as two independent 32-bit lanes.
 *
 * It is a Zobrist-style hash: every slot `o` holding a non-zero value `v` contributes
 * `z(o, v)`, and the contributions are XORed together. Because XOR is order-free and a write
 * only swaps one contribution for another, the fingerprint is updated in O(1) per write
 * (see `World.set`) and does not depend on the order in which objects were created or written.
 * Zero contributes nothing, so the all-zero array has fingerprint 0.
 *
 * `z` must mix well: DESIGN.md records a weak source silently merging 0.6 % of distinct states.
 * Both lanes run the full murmur3 finaliser over a different combination of (o, v).
 */

/** murmur3's 32-bit finaliser: full avalanche on 32 bits. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}

/** Low lane of the contribution of value `v` at slot `o` (v ≠ 0). */
export function zLo(o: number, v: number): number {
  return fmix32(Math.imul(o + 1, 0x9e3779b1) ^ fmix32(v ^ 0x5bd1e995));
}

/** High lane of the contribution of value `v` at slot `o` (v ≠ 0). */
export function zHi(o: number, v: number): number {
  return fmix32((Math.imul(o ^ 0x27d4eb2f, 0x85ebca77) + fmix32((v + 0x165667b1) | 0)) | 0);
}

/** Recomputes both lanes from scratch over `v[from..]`; the incremental hash must always equal it. */
export function fullHash(v: Int32Array, from: number): [number, number] {
  let lo = 0;
  let hi = 0;
  for (let o = from; o < v.length; o++) {
    const x = v[o];
    if (x !== 0) {
      lo ^= zLo(o, x);
      hi ^= zHi(o, x);
    }
  }
  return [lo, hi];
}
