/**
 * The visited set: 64-bit state fingerprints in one open-addressed Int32Array (two slots per
 * entry, linear probing). No per-state objects, no strings: DESIGN.md measured a JS Set of string
 * keys ~5x slower and capped at ~16.7 M entries. 8 bytes per slot; the table doubles at 75 % load
 * (linear probing stays within a cache line or two at that load), so a stored state costs
 * 10.7–21.3 bytes.
 */
export class FingerprintSet {
  private table: Int32Array;
  private mask: number;
  size = 0;

  constructor(initialCapacity = 1 << 16) {
    let cap = 1;
    while (cap < initialCapacity) cap <<= 1;
    this.table = new Int32Array(cap * 2);
    this.mask = cap - 1;
  }

  /** Adds (lo, hi); returns true if it was not there. (0, 0) is stored as (1, 0): zero marks empty. */
  add(lo: number, hi: number): boolean {
    if (lo === 0 && hi === 0) lo = 1;
    let t = this.table;
    let i = (lo ^ Math.imul(hi, 0x9e3779b1)) & this.mask;
    for (;;) {
      const k = i << 1;
      const a = t[k];
      const b = t[k + 1];
      if (a === 0 && b === 0) {
        t[k] = lo;
        t[k + 1] = hi;
        if (++this.size * 4 > (this.mask + 1) * 3) this.grow(); // grow at 75 % load
        return true;
      }
      if (a === lo && b === hi) return false;
      i = (i + 1) & this.mask;
      t = this.table;
    }
  }

  has(lo: number, hi: number): boolean {
    if (lo === 0 && hi === 0) lo = 1;
    const t = this.table;
    let i = (lo ^ Math.imul(hi, 0x9e3779b1)) & this.mask;
    for (;;) {
      const k = i << 1;
      if (t[k] === 0 && t[k + 1] === 0) return false;
      if (t[k] === lo && t[k + 1] === hi) return true;
      i = (i + 1) & this.mask;
    }
  }

  /** Bytes held by the table. */
  get bytes(): number {
    return this.table.byteLength;
  }

  private grow(): void {
    const old = this.table;
    const cap = (this.mask + 1) * 2;
    this.table = new Int32Array(cap * 2);
    this.mask = cap - 1;
    this.size = 0;
    for (let k = 0; k < old.length; k += 2) {
      if (old[k] !== 0 || old[k + 1] !== 0) this.add(old[k], old[k + 1]);
    }
  }
}

/**
 * An upper bound on the probability that hash compaction hid a state (the question TLC answers
 * after every run): two of the `n` distinct states explored sharing a 64-bit fingerprint, treating
 * the fingerprints as independent and uniform — the birthday bound n(n-1)/2 / 2^64. A collision can
 * only prune: a "holds" is then a proof up to this probability; a violation is always real (its
 * schedule replays). The termination graph keys a subset of these states by the same fingerprints,
 * and the preemption-bounded search salts them per (state, preemptions, last actor): one bound over
 * its keys covers them.
 */
export function collisionBound(n: number): number {
  return n <= 1 ? 0 : Math.min(1, (n * (n - 1)) / 2 ** 65);
}
