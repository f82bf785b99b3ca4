/**
 * A small seeded PRNG for simulation: xoshiro128** (Blackman & Vigna) seeded through splitmix32.
 *
 * Why this one: it is 32-bit native (every operation is `Math.imul`, shifts, xor and `>>> 0`, so
 * the stream is bit-identical on every machine and every JS engine, no floating point involved),
 * it has a 2^128 - 1 period and good statistical quality (the `**` scrambler removes the linearity
 * of the low bits), and it is a few lines. `Math.random` is never used: it cannot be seeded.
 *
 * Seeds are unsigned 32-bit integers. Per-run seeds are derived from (seed, run index) by a
 * bijection, so distinct runs of one seed never share a stream and any run can be recomputed alone
 * (this is what makes `--shard i/N` exact).
 */

/** murmur3's 32-bit finaliser: a bijection on uint32 with full avalanche. */
export function fmix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

const GOLDEN = 0x9e3779b9;

/** Checks and normalises a user seed to uint32 (accepts any safe non-negative integer, reduced mod 2^32). */
export function normalizeSeed(seed: number): number {
  if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`seed must be a non-negative integer, got ${seed}`);
  return seed % 0x1_0000_0000;
}

/**
 * The seed of run `run` (run >= -1; -1 is reserved for PCT's calibration run). For a fixed `seed`
 * it is injective in `run` for run + 1 < 2^32: x -> (run + 1) * GOLDEN is a bijection mod 2^32
 * (GOLDEN is odd), and xor with a constant and fmix32 are bijections.
 */
export function deriveSeed(seed: number, run: number): number {
  return fmix32(fmix32(seed >>> 0) ^ Math.imul(run + 1, GOLDEN));
}

/** xoshiro128**, state seeded by four outputs of splitmix32 (never all zero). */
export class Prng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(seed: number) {
    let x = seed >>> 0;
    const next = () => {
      x = (x + GOLDEN) >>> 0;
      return fmix32(x);
    };
    this.s0 = next() | 0;
    this.s1 = next() | 0;
    this.s2 = next() | 0;
    this.s3 = next() | 0;
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** The next uint32. */
  next(): number {
    const s1 = this.s1;
    const r = Math.imul(rotl(Math.imul(s1, 5), 7), 9);
    const t = s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return r >>> 0;
  }

  /** A uniform integer in [0, n), 1 <= n <= 2^32, without modulo bias (rejection sampling). */
  below(n: number): number {
    if (!(n >= 1 && n <= 0x1_0000_0000) || !Number.isInteger(n)) throw new RangeError(`below(${n})`);
    if (n === 1) return 0;
    // Reject the top (2^32 mod n) values so every residue is equally likely.
    const limit = 0x1_0000_0000 - (0x1_0000_0000 % n);
    for (;;) {
      const x = this.next();
      if (x < limit) return x % n;
    }
  }

  /** A uniformly random permutation of 0..n-1 (Fisher–Yates). */
  permutation(n: number): number[] {
    const p = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = this.below(i + 1);
      const t = p[i];
      p[i] = p[j];
      p[j] = t;
    }
    return p;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
