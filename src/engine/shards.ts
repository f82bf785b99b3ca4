/**
 * Shard i of N: the deterministic split any batch runner (GNU parallel, a CI matrix, a Kubernetes
 * indexed job) can run anywhere. Shards are numbered from 0; the split is a pure function of (i, N).
 */

/** Shard i of N (0 <= i < N). */
export interface Shard {
  readonly index: number;
  readonly count: number;
}

export class ShardSyntaxError extends Error {}

/** Parses `i/N` (0 <= i < N). */
export function parseShard(text: string): Shard {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  if (!m) throw new ShardSyntaxError(`shard "${text}": expected i/N, e.g. 0/4 (shards are numbered 0..N-1)`);
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1) throw new ShardSyntaxError(`shard "${text}": N must be at least 1`);
  if (index >= count) throw new ShardSyntaxError(`shard "${text}": i must be below N (shards are numbered 0..${count - 1})`);
  return { index, count };
}

export function formatShard(s: Shard): string {
  return `${s.index}/${s.count}`;
}

/** Whether item `j` of a deterministic list belongs to shard `s`. */
export function inShard(j: number, s: Shard): boolean {
  return j % s.count === s.index;
}

/** Runs r < runs of shard (i, N): r = i, i + N, ... */
export function shardRuns(runs: number, shard: Shard): number {
  return shard.index >= runs ? 0 : Math.floor((runs - 1 - shard.index) / shard.count) + 1;
}

export function checkShard(shard: Shard): void {
  if (!Number.isInteger(shard.count) || shard.count < 1) throw new RangeError(`shard count must be a positive integer, got ${shard.count}`);
  if (!Number.isInteger(shard.index) || shard.index < 0 || shard.index >= shard.count) {
    throw new RangeError(`shard index must be an integer in [0, ${shard.count - 1}], got ${shard.index}`);
  }
}
