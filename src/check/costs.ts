/**
 * What each catalogue cell costs, as measured: [states, transitions] of its exhaustive search
 * (the catalogue test pins them, so this table moves only with a model change, in its commit: the
 * corrected design's install split into read_retry, then the insert, added 5.7 % in all, 6.4 % on
 * introspect-nested/interval).
 * `--shard i/N` deals cells to shards by these costs, not round-robin: the cost of a cell spans four
 * orders of magnitude (introspect-nested/interval alone is most of the catalogue's work).
 */
import { checkShard } from '../engine/shards.js';

export const MEASURED_COUNTS: Readonly<Record<string, readonly [number, number]>> = {
  'introspect/interval': [13805, 37196],
  'introspect/seed-2019-literal': [536, 1310],
  'introspect/seed-2019-fixed': [6054, 15964],
  'introspect/start-only': [1925, 5100],
  'introspect/raw-clear': [12925, 34801],
  'introspect/anon-vma': [352, 826],
  'introspect-nested/interval': [1668357, 5330388],
  'introspect-nested/seed-2019-literal': [2260, 6888],
  'introspect-nested/seed-2019-fixed': [136970, 474167],
  'introspect-nested/start-only': [34686, 122529],
  'introspect-nested/raw-clear': [35688, 122546],
  'introspect-nested/anon-vma': [1287, 3741],
  'cow/interval': [1076, 1998],
  'cow/seed-2019-literal': [97, 161],
  'cow/seed-2019-fixed': [1458, 2704],
  'cow/start-only': [181, 322],
  'cow/raw-clear': [879, 1642],
  'cow/anon-vma': [80, 133],
  'munmap/interval': [341, 615],
  'munmap/seed-2019-literal': [97, 161],
  'munmap/seed-2019-fixed': [629, 1164],
  'munmap/start-only': [156, 280],
  'munmap/raw-clear': [273, 494],
  'munmap/anon-vma': [81, 133],
  'exit/interval': [358, 618],
  'exit/seed-2019-literal': [45, 71],
  'exit/seed-2019-fixed': [196, 332],
  'exit/start-only': [121, 210],
  'exit/raw-clear': [265, 455],
  'exit/anon-vma': [70, 113],
  'fork-introspector/interval': [637, 1128],
  'fork-introspector/seed-2019-literal': [91, 157],
  'fork-introspector/seed-2019-fixed': [474, 850],
  'fork-introspector/start-only': [221, 396],
  'fork-introspector/raw-clear': [542, 953],
  'fork-introspector/anon-vma': [67, 111],
  'swap-cycle/interval': [3037, 6807],
  'swap-cycle/seed-2019-literal': [195, 429],
  'swap-cycle/seed-2019-fixed': [1201, 2713],
  'swap-cycle/start-only': [444, 982],
  'swap-cycle/raw-clear': [2877, 6437],
  'swap-cycle/anon-vma': [144, 308],
  'mirror-write/interval': [855, 1550],
  'mirror-write/seed-2019-literal': [97, 161],
  'mirror-write/seed-2019-fixed': [757, 1398],
  'mirror-write/start-only': [170, 301],
  'mirror-write/raw-clear': [685, 1240],
  'mirror-write/anon-vma': [80, 133],
  'mprotect/interval': [325, 582],
  'mprotect/seed-2019-literal': [97, 161],
  'mprotect/seed-2019-fixed': [593, 1095],
  'mprotect/start-only': [149, 265],
  'mprotect/raw-clear': [257, 461],
  'mprotect/anon-vma': [81, 133],
};

/** The cost assumed for a cell that was never measured (a scenario file): a small catalogue cell's. */
const UNMEASURED = 1000;

/** A cell's expected cost (`scenario/variant`): its measured transitions. */
export function cellCost(name: string): number {
  return MEASURED_COUNTS[name]?.[1] ?? UNMEASURED;
}

/**
 * The shard of each cell when `names` (cells, in order) are split into `count` shards: costliest
 * first, each to the least loaded shard so far (longest-processing-time first; ties go to the
 * earlier cell and the lower shard). A pure function of the names and the count.
 */
export function shardOfCells(names: readonly string[], count: number): number[] {
  checkShard({ index: 0, count });
  const order = names.map((n, i) => ({ i, cost: cellCost(n) })).sort((a, b) => b.cost - a.cost || a.i - b.i);
  const load = new Array<number>(count).fill(0);
  const shardOf = new Array<number>(names.length);
  for (const { i, cost } of order) {
    let best = 0;
    for (let s = 1; s < count; s++) if (load[s] < load[best]) best = s;
    shardOf[i] = best;
    load[best] += cost;
  }
  return shardOf;
}
