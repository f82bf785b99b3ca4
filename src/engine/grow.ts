/** Growable typed arrays for the engine's tables (no per-state allocation). */

/** A copy of `a` twice as long (the growable tables below), or longer if `atLeast` needs it. */
export function grow<T extends Int32Array<ArrayBuffer> | Uint8Array<ArrayBuffer>>(a: T, atLeast = 0): T {
  let n = a.length * 2;
  while (n < atLeast) n *= 2;
  const b = new (a.constructor as new (n: number) => T)(n);
  b.set(a);
  return b;
}
