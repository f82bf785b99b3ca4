/**
 * How big a scenario the model can build, and how the builder sizes a world from a scenario.
 * The schema's bounds (schema.json, written from these by scripts/scenario-schema.ts) are these
 * numbers, so that a file the schema accepts is a world the model can run.
 */
import { GATHER_MAX_PFN } from '../kernel/ops/zap.js';

/**
 * Page frames of a world with `pages` source pages: the pages themselves, and for each a second
 * and a third frame (a COW copy, a migration target or a swap-in), plus two for allocations in
 * flight. Running out is not an error: allocation fails the way the kernel's does (VM_FAULT_OOM,
 * -ENOMEM).
 */
export function pageFrames(pages: number): number {
  return 3 * pages + 2;
}

/**
 * The most source pages a scenario may have. An mmu_gather of the model holds pfns
 * 1..GATHER_MAX_PFN only (src/kernel/ops/zap.ts: a 2-bit count per pfn in an int32 local), and any
 * frame can end up in one (munmap, exit, oom-reap, madvise zap every frame they find mapped): so
 * every frame of the world must be a pfn the gather can hold. With 3·P + 2 frames that is P ≤ 4.
 */
export const MAX_PAGES = Math.floor((GATHER_MAX_PFN - 2) / 3);

/** Actors per scenario and operations per actor: not limits of the model, but of what is worth exploring. */
export const MAX_ACTORS = 16;
export const MAX_OPS = 64;

/** The most operations an `any` adversary may run: each is a choice among dozens, so the search grows as their power. */
export const MAX_ANY_OPS = 8;
