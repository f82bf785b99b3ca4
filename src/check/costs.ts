/**
 * What each catalogue cell costs, as measured: [states, transitions] of its exhaustive search
 * (the catalogue test pins them, so this table moves only with a model change, in its commit: the
 * corrected design's install split into read_retry, then the insert, added 5.7 % in all, 6.4 % on
 * introspect-nested/interval). KVM's mmu_lock made state (an rwlock: the fault's read_lock, its
 * staleness check, its spte install and its read_unlock are steps of their own, each invalidate
 * callback takes, holds and drops the write lock in three) grew only the two vCPU scenarios, with
 * no verdict moving: 42 % more states and 43 % more transitions in all (1935324 → 2749058 states,
 * 6195813 → 8884337 transitions); introspect/interval +28 % (13805 → 17646 states),
 * introspect-nested/interval +40 % (1668357 → 2335285 states, 5330388 → 7502851 transitions),
 * the most on introspect-nested/seed-2019-fixed and /start-only (+72 % and +74 % states), the
 * least on the cells whose violation is found within a few steps (anon-vma, seed-2019-literal).
 * The lock discipline (src/world/discipline.ts) cut the kernel's steps where the C can be preempted
 * — a put after an unlock is a step of its own (reclaim's keep path, migration, swap-in's retry),
 * reclaim's folio_mapped check before pageout, release_pages one put at a time, migration's copy
 * before its refcount freeze — and, with no verdict moving, grew the catalogue by 34 % in states
 * and 39 % in transitions (2749058 → 3686894 states, 8884337 → 12337943 transitions):
 * introspect-nested/interval +39 % (2335285 → 3252084; a quarter of it reclaim's keep path, whose
 * put back of the isolation reference another CPU can now see pending), swap-cycle/interval +21 %,
 * introspect/interval +18 %, fork-introspector/interval +8 %; the cells without reclaim or COW
 * moved by at most two states.
 * `--shard i/N` deals cells to shards by these costs, not round-robin: the cost of a cell spans four
 * orders of magnitude (introspect-nested/interval alone is most of the catalogue's work).
 */
import { checkShard } from '../engine/shards.js';

export const MEASURED_COUNTS: Readonly<Record<string, readonly [number, number]>> = {
  'introspect/interval': [20863, 56870],
  'introspect/seed-2019-literal': [546, 1328],
  'introspect/seed-2019-fixed': [8351, 22151],
  'introspect/start-only': [2374, 6334],
  'introspect/raw-clear': [19743, 53800],
  'introspect/anon-vma': [353, 827],
  'introspect-nested/interval': [3252084, 10888318],
  'introspect-nested/seed-2019-literal': [2275, 6918],
  'introspect-nested/seed-2019-fixed': [247678, 867631],
  'introspect-nested/start-only': [60476, 216650],
  'introspect-nested/raw-clear': [48704, 168893],
  'introspect-nested/anon-vma': [1288, 3742],
  'cow/interval': [1120, 2084],
  'cow/seed-2019-literal': [97, 161],
  'cow/seed-2019-fixed': [1500, 2779],
  'cow/start-only': [181, 322],
  'cow/raw-clear': [923, 1728],
  'cow/anon-vma': [80, 133],
  'munmap/interval': [341, 615],
  'munmap/seed-2019-literal': [97, 161],
  'munmap/seed-2019-fixed': [631, 1167],
  'munmap/start-only': [156, 280],
  'munmap/raw-clear': [273, 494],
  'munmap/anon-vma': [81, 133],
  'exit/interval': [358, 618],
  'exit/seed-2019-literal': [45, 71],
  'exit/seed-2019-fixed': [198, 335],
  'exit/start-only': [121, 210],
  'exit/raw-clear': [265, 455],
  'exit/anon-vma': [70, 113],
  'fork-introspector/interval': [689, 1228],
  'fork-introspector/seed-2019-literal': [91, 157],
  'fork-introspector/seed-2019-fixed': [501, 898],
  'fork-introspector/start-only': [221, 396],
  'fork-introspector/raw-clear': [594, 1053],
  'fork-introspector/anon-vma': [67, 111],
  'swap-cycle/interval': [3680, 8468],
  'swap-cycle/seed-2019-literal': [195, 429],
  'swap-cycle/seed-2019-fixed': [1322, 3004],
  'swap-cycle/start-only': [445, 983],
  'swap-cycle/raw-clear': [3520, 8098],
  'swap-cycle/anon-vma': [144, 308],
  'mirror-write/interval': [856, 1551],
  'mirror-write/seed-2019-literal': [97, 161],
  'mirror-write/seed-2019-fixed': [760, 1402],
  'mirror-write/start-only': [170, 301],
  'mirror-write/raw-clear': [686, 1241],
  'mirror-write/anon-vma': [80, 133],
  'mprotect/interval': [325, 582],
  'mprotect/seed-2019-literal': [97, 161],
  'mprotect/seed-2019-fixed': [595, 1098],
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
