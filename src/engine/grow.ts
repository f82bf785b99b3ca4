/** Growable typed arrays for the engine's tables (no per-state allocation). */

/** A copy of `a` twice as long (the growable tables below). */
export function grow(a: Int32Array): Int32Array<ArrayBuffer> {
  const b = new Int32Array(a.length * 2);
  b.set(a);
  return b;
}
