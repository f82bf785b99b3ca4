/** Parsers of the command's option values: each rejects what it cannot use with one sentence (exit 2). */
import { InvalidArgumentError } from 'commander';
import { availableParallelism } from 'node:os';
import { parseShard, type Shard } from '../check/shard.js';

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n <= 0) throw new InvalidArgumentError(`expected a positive integer, got "${value}"`);
  return n;
}

export function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError(`expected a non-negative integer, got "${value}"`);
  return n;
}

/** A positive byte size such as 512M, 2G, 1.5G or a plain number of bytes. */
export function byteSize(value: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?$/i.exec(value.trim());
  if (!m) throw new InvalidArgumentError(`expected a size such as 512M or 2G, got "${value}"`);
  const scale = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 }[m[2].toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
  const n = Math.round(Number(m[1]) * scale);
  if (!(n >= 1)) throw new InvalidArgumentError(`expected a positive size such as 512M or 2G, got "${value}"`);
  return n;
}

export function seconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`expected a positive number of seconds, got "${value}"`);
  return n;
}

export function shardArg(value: string): Shard {
  let s: Shard;
  try {
    s = parseShard(value);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
  if (!Number.isSafeInteger(s.count)) throw new InvalidArgumentError(`shard "${value}": N is too large`);
  return s;
}

/**
 * A number of worker threads: a positive integer, at most the machine's cores (more only share
 * them, and cost memory), or `auto`: a thread per core this process may use.
 */
export function workerCount(value: string): number {
  const cores = availableParallelism();
  if (value === 'auto') return cores;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n <= 0) throw new InvalidArgumentError(`expected a positive integer or auto, got "${value}"`);
  if (n > cores) throw new InvalidArgumentError(`${n} workers on ${cores} core${cores === 1 ? '' : 's'}: use at most ${cores}`);
  return n;
}
