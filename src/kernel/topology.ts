/**
 * Declares the kernel's objects in a layout and builds the initial world: every page free, every
 * mm alive with its subscriptions idle (invalidate_seq = 2, mm/mmu_notifier.c). Higher layers
 * (KVM, the mirror) add their own regions through `extraRegions` before the stacks are sealed.
 */
import { Layout, type ActorRole } from '../world/layout.js';
import { Model, type Library } from '../world/registry.js';
import { KERNEL } from './library.js';
import { World } from '../world/world.js';
import { HMM_MIRROR, HMM_RANGE, LOCK, MIN, MM, MN, PAGE, PTE, SWAP, TASK, VMA } from './structs.js';
import { ref } from './ref.js';
import { checkLifetimes } from './lifetime.js';
import { HMM_RANGE_NOW } from './hmm/hmm-range.js';
import { MIGRATE_VMA } from './ops/migrate-device.js';

export interface KernelTopology {
  /** Physical page frames; pfns are 1..pages. */
  readonly pages: number;
  /** Address-space size of every mm, in pages (vpns 0..mmPages-1). */
  readonly mmPages: number;
  readonly mms: readonly string[];
  /** VMA slots per mm. */
  readonly vmasPerMm?: number;
  readonly swapSlots?: number;
  readonly mmuNotifiers?: number;
  readonly intervalNotifiers?: number;
  readonly hmmMirrors?: number;
  readonly hmmRanges?: number;
  /** Named driver locks (mutexes / spinlocks). */
  readonly locks?: readonly string[];
  readonly actors: readonly string[];
  /** Each actor's role for the termination check (default: all clients). */
  readonly roles?: readonly ActorRole[];
  /** Deepest call stack any actor may reach. */
  readonly stackDepth?: number;
  /**
   * The libraries whose routines this world runs (with the libraries they use); default: the
   * kernel's. A driver's or a test's routines are callable only if their library is listed.
   */
  readonly libraries?: readonly Library[];
}

export const DEFAULT_STACK_DEPTH = 16;

/** Adds the kernel's regions to `layout` and records the sizes routines index by. */
export function declareKernel(layout: Layout, t: KernelTopology): void {
  if (t.mms.length === 0) throw new Error('topology needs at least one mm');
  if (t.pages < 1) throw new Error('topology needs at least one page frame');
  const vmasPerMm = t.vmasPerMm ?? 4;
  layout.dims.mmPages = t.mmPages;
  layout.dims.vmasPerMm = vmasPerMm;
  const pageNames = Array.from({ length: t.pages + 1 }, (_, i) => (i === 0 ? 'none' : `pfn${i}`));
  layout.add(PAGE, t.pages + 1, pageNames);
  layout.add(MM, t.mms.length, t.mms);
  layout.add(
    PTE,
    t.mms.length * t.mmPages,
    t.mms.flatMap((m) => Array.from({ length: t.mmPages }, (_, v) => `${m}@${v}`)),
  );
  layout.add(
    VMA,
    t.mms.length * vmasPerMm,
    t.mms.flatMap((m) => Array.from({ length: vmasPerMm }, (_, k) => `${m}#${k}`)),
  );
  layout.add(SWAP, (t.swapSlots ?? 2) + 1);
  layout.add(MN, t.mmuNotifiers ?? 2);
  layout.add(MIN, t.intervalNotifiers ?? 2);
  layout.add(HMM_MIRROR, t.hmmMirrors ?? 1);
  layout.add(HMM_RANGE, t.hmmRanges ?? 2);
  const locks = t.locks ?? [];
  if (locks.length) layout.add(LOCK, locks.length, locks);
  layout.add(TASK, t.actors.length, t.actors);
  layout.add(HMM_RANGE_NOW, t.actors.length, t.actors); // each actor's struct hmm_range, on its stack
  layout.add(MIGRATE_VMA, t.actors.length, t.actors); // and its struct migrate_vma
}

/**
 * Builds the world for a topology: kernel regions, then `extraRegions` (other layers), then the
 * actors' stacks, sealed with the model of `t.libraries`: frames are sized by its routine with the
 * most locals, and a routine outside it cannot be called (a model error, not a corrupt frame).
 */
export function buildWorld(t: KernelTopology, extraRegions?: (layout: Layout) => void): World {
  const layout = new Layout();
  declareKernel(layout, t);
  extraRegions?.(layout);
  layout.addStacks(t.actors, t.stackDepth ?? DEFAULT_STACK_DEPTH, new Model(t.libraries ?? [KERNEL]), t.roles);
  const w = new World(layout);
  checkLifetimes(w); // objects freed at run time (a driver's state): a view of a freed one is a use after free
  for (let pfn = 1; pfn <= t.pages; pfn++) w.obj(PAGE, pfn).free = 1;
  for (let m = 0; m < t.mms.length; m++) {
    const mm = w.obj(MM, m);
    mm.users = 1;
    mm.count = 1;
    mm.invalidateSeq = 2; // mmu_notifier_subscriptions init: "invalidate_seq = 2"
    mm.anonVma = ref(m); // its own anon_vma root until fork links it into a parent's
  }
  return w;
}

export function mmIndex(w: World, name: string): number {
  const i = w.layout.region(MM).names!.indexOf(name);
  if (i < 0) throw new Error(`no mm named ${name} (mms: ${w.layout.region(MM).names!.join(', ')})`);
  return i;
}

export function lockIndex(w: World, name: string): number {
  const names = w.layout.has(LOCK) ? w.layout.region(LOCK).names! : [];
  const i = names.indexOf(name);
  if (i < 0) throw new Error(`no lock named ${name} (locks: ${names.join(', ') || 'none'})`);
  return i;
}
