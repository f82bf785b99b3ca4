/**
 * The mirroring device (the seed thread's /dev/kvm-mirroring-device): an introspector process
 * mmaps (source mm, source address, length) and gets a device VMA whose pages are filled on fault
 * from the source's page tables and torn down when the source's notifier fires. How the fault
 * and teardown are done is the design variant (one file each in this folder).
 */
import { defineStruct } from '../world/layout.js';
import type { World } from '../world/world.js';
import type { AnyRoutine, Step, StepResult } from '../world/routine.js';
import type { Library } from '../world/registry.js';
import { addVma } from '../kernel/setup.js';
import { vma } from '../kernel/pgtable.js';
import { driverMutex, mutexLockIfBlockable, mutexUnlock, WOULD_BLOCK, type Mutex } from '../kernel/locks.js';
import { deref, ref, refOrNone } from '../kernel/ref.js';
import { MIN } from '../kernel/structs.js';
import { intervalNotifierInsert } from '../kernel/notifier/interval.js';
import { zapVmaPtes } from '../kernel/ops/zap.js';
import { VM_DONTCOPY, VM_DONTDUMP, VM_IO, VM_NO_SPLIT, VM_PFNMAP, VM_READ, VM_SHARED, VM_WRITE } from '../kernel/flags.js';
import { asDriverSetup, driverVmaFlags } from '../kernel/mutation-hooks.js';
import type { Mutation } from '../world/mutation.js';
import type { EraState } from '../driver/era.js';
import type { Property } from '../engine/verdict.js';
import type { Balanced } from '../check/balance.js';
import type { DriverState } from '../driver/define.js';

/** The device's state; object fields are refs (src/kernel/ref.ts), none where a variant needs no such object. */
export const MIRROR = defineStruct(
  'mirror',
  [
    'srcMm', // the source mm
    'srcStart', // first mirrored source vpn
    'npages',
    'intrMm', // the introspector mm
    'vma', // the device VMA in the introspector (global VMA index)
    'lock', // the driver's update lock (topology lock index)
    'sub', // its interval notifier (interval-based variants)
    'mn', // its classic notifier (start-only, v5.3 struct hmm)
    'hmirror', // its v5.3 hmm_mirror
    'install', // interval-based variants: the install step run under the update lock (routine ref)
  ] as const,
  { srcMm: 'stable', srcStart: 'stable', npages: 'stable', intrMm: 'stable', vma: 'stable', lock: 'stable', sub: 'stable', mn: 'stable', hmirror: 'stable', install: 'stable' },
);

/**
 * The flags of a mirror VMA that maps the source's pages as raw pfns (every design but anon-vma):
 * special ptes core mm neither refcounts nor reverse-maps (VM_PFNMAP | VM_IO), not copied on fork
 * (VM_DONTCOPY) nor dumped, shared, readable and writable.
 */
export const MIRROR_VMA_FLAGS = VM_PFNMAP | VM_IO | VM_DONTCOPY | VM_DONTDUMP | VM_SHARED | VM_READ | VM_WRITE;

export interface MirrorVariant {
  /** The name a scenario picks it by. */
  readonly name: string;
  /** One sentence: what this variant is. */
  readonly summary: string;
  /** Which races of the reference catalogue it reproduces (empty for the corrected design). */
  readonly reproduces: readonly string[];
  /** Flags of the device VMA in the introspector. */
  readonly vmaFlags: number;
  /** vm_ops->fault: (vma, vpn, write) -> vm_fault_t. */
  readonly fault: AnyRoutine;
  /**
   * vm_ops->pfn_mkwrite: asked when a write hits a read-only mirror pte. Without one the kernel
   * just makes the pte writable (wp_pfn_shared → wp_page_reuse), whatever the source maps.
   */
  readonly pfnMkwrite?: AnyRoutine;
  /**
   * vm_ops->may_split: false if it refuses every split of the device VMA (-EINVAL to a munmap or
   * mprotect of part of it); absent or true: no may_split, splits go ahead and the driver must cope
   * with a VMA it did not create (a design that assumes one VMA per device cannot).
   */
  readonly maySplit?: boolean;
  /** The library its routines are defined in (with the libraries it uses): what a world runs. */
  readonly library: Library;
  /** The driver's own routines, fault path first (what `vmamirror explain` prints). */
  readonly routines: readonly AnyRoutine[];
  /** Resources it needs from the topology. */
  readonly needs: { readonly intervalNotifier?: boolean; readonly mmuNotifier?: boolean; readonly hmm?: boolean };
  /** Subscribes to the source mm at mmap time (the device's .mmap / ioctl). */
  attach(w: World, dev: number): void;
  /**
   * Mutants of this design that survive because they are valid designs too, each with the reason
   * (`vmamirror mutate` reports them as accepted), by mutant id (`category@routine:label`).
   */
  readonly acceptedMutants?: Readonly<Record<string, string>>;
  /** Set on a mutant of the design (src/check/mutate.ts): the plan the scenario builder puts on the world. */
  readonly mutation?: Mutation;
  /** Set on a design run on a kernel era (src/driver/era.ts): the design's own name, which scenario files select it by. */
  readonly base?: string;
  /** Set on a design run on a kernel era that keeps objects of its own (src/driver/era.ts `EraState`): regions of every world. */
  readonly eraState?: readonly EraState[];
  /** Set on designs run side by side (combined.ts): device i is devices[i]. */
  readonly devices?: readonly MirrorVariant[];
  /** The design's own objects (src/driver/define.ts `DriverState`): regions of every world it runs in. */
  readonly state?: readonly DriverState[];
  /** Its own properties, checked after PROPERTIES (src/check/properties.ts `propertiesOf`). */
  readonly properties?: readonly Property[];
  /** Its counters and in-progress flags that must be 0 once every actor has finished (`unbalanced`). */
  readonly balanced?: readonly Balanced[];
}

export interface MirrorMapping {
  readonly srcMm: number;
  readonly srcStart: number;
  readonly npages: number;
  readonly intrMm: number;
  readonly intrStart: number;
  /** Index of the driver's update lock in the topology. */
  readonly lock: number;
  /** Slots the variant may use (the scenario builder assigns them). */
  readonly sub?: number;
  readonly mn?: number;
  readonly hmirror?: number;
  /**
   * false: the device's file is opened by an actor while the scenario runs (its driver's open
   * operation), not at set-up, so `attach` is not run — the fork child's own device, whose mm
   * exists only once fork has run. Default true.
   */
  readonly opened?: boolean;
}

/** The device's .mmap: creates the device VMA in the introspector and subscribes to the source (unless opened later). */
export function mirrorMmap(w: World, dev: number, variant: MirrorVariant, m: MirrorMapping): void {
  const d = w.obj(MIRROR, dev);
  d.srcMm = ref(m.srcMm);
  d.srcStart = m.srcStart;
  d.npages = m.npages;
  d.intrMm = ref(m.intrMm);
  d.lock = ref(m.lock);
  d.sub = refOrNone(m.sub);
  d.mn = refOrNone(m.mn);
  d.hmirror = refOrNone(m.hmirror);
  const v = addVma(w, m.intrMm, {
    start: m.intrStart,
    end: m.intrStart + m.npages,
    flags: driverVmaFlags(w, variant.vmaFlags, 'mirror_mmap:vma') | (variant.maySplit === false ? VM_NO_SPLIT : 0),
    fault: variant.fault,
    pfnMkwrite: variant.pfnMkwrite,
    priv: dev,
    file: dev,
    pgoff: m.srcStart,
  });
  d.vma = ref(v);
  if (m.opened !== false) asDriverSetup(w, 'mirror_mmap:attach', () => variant.attach(w, dev));
}

/** The device's update lock (`mirror.update`): a mutex. */
export function updateLock(w: World, dev: number): Mutex {
  return driverMutex(w, deref(w.obj(MIRROR, dev).lock, 'mirror.lock'));
}

/** The device a mirror VMA shows (its vm_private_data). */
export function deviceOfVma(w: World, vmaIndex: number): number {
  return deref(vma(w, vmaIndex).priv, 'vma.priv');
}

/** The device an interval notifier subscription belongs to (its priv). */
export function deviceOfSub(w: World, sub: number): number {
  return deref(w.obj(MIN, sub).priv, 'mmu_interval_notifier.priv');
}

/** The source vpn a mirror vpn shows (vm_pgoff holds the source address). */
export function mirrorToSource(w: World, vmaIndex: number, vpn: number): number {
  const v = vma(w, vmaIndex);
  return v.pgoff + (vpn - v.start);
}

/** The mirror range [start, end) in the introspector that shows source range [start, end), clipped; empty if none. */
export function sourceRangeToMirror(w: World, dev: number, start: number, end: number): [number, number] {
  const d = w.obj(MIRROR, dev);
  const a = Math.max(start, d.srcStart);
  const b = Math.min(end, d.srcStart + d.npages);
  if (a >= b) return [0, 0];
  // vma->vm_start, read in the notifier callback without the mirror mm's mmap_lock (READ_ONCE):
  // every design assumes its VMA is not split or moved while the device maps it (no partial
  // munmap or mremap of the mirror; see the designs' notes).
  const vmStart = w.readOnce(() => vma(w, deref(d.vma, 'mirror.vma')).start);
  return [vmStart + (a - d.srcStart), vmStart + (b - d.srcStart)];
}

/**
 * An interval callback takes its device's update lock (params `sub` and `blockable`, a local
 * `dev`): mutex_lock, or mutex_trylock when the invalidation may not block, which on contention
 * returns false as the kernel's contract says (the core ends the epoch and fails the invalidation
 * with -EAGAIN). 0 when it holds the lock, `l.dev` set; else what the step returns as it is.
 */
export function lockUpdateForCallback(w: World, l: { sub: number; blockable: number; dev: number }): StepResult {
  const dev = deviceOfSub(w, l.sub);
  const b = mutexLockIfBlockable(w, updateLock(w, dev), l.blockable);
  if (b === WOULD_BLOCK) return w.ret(0);
  if (b) return b;
  l.dev = dev;
  return 0;
}

/** An interval callback's first step: `lockUpdateForCallback`, then on to `next` holding the lock. */
export function updateLockStep(at: string, next: string): Step<{ sub: number; blockable: number; dev: number }> {
  return { at, run: (w, l) => lockUpdateForCallback(w, l) || next };
}

/** A callback's last step (a local `dev`, the device): mutex_unlock of its update lock, then return `value`. */
export function updateUnlockStep(at: string, value: number): Step<{ dev: number }> {
  return {
    at,
    run: (w, l) => {
      mutexUnlock(w, updateLock(w, l.dev));
      return w.ret(value);
    },
  };
}

/**
 * A callback's teardown of the mirror for source range [start, end): zap_vma_ptes of the mirror
 * pages that show it (which notifies the introspector's mm), resuming at `resume`; straight to
 * `resume` if the device shows none of the range.
 */
export function zapMirror(w: World, dev: number, start: number, end: number, resume: string): StepResult {
  const [a, b] = sourceRangeToMirror(w, dev, start, end);
  return a === b ? resume : w.call(zapVmaPtes, resume, deref(w.obj(MIRROR, dev).vma, 'mirror.vma'), a, b);
}

/**
 * The .mmap of a design on an interval notifier: `install` becomes the device's install step (the
 * routine its fault path calls under the update lock, through `MIRROR.install`) and the device
 * subscribes to its source range with mmu_interval_notifier_insert, `invalidate` as ops->invalidate.
 */
export function attachInterval(w: World, dev: number, install: AnyRoutine, invalidate: AnyRoutine): void {
  const d = w.obj(MIRROR, dev);
  d.install = w.routineRef(install);
  intervalNotifierInsert(w, deref(d.sub, 'mirror.sub'), deref(d.srcMm, 'mirror.srcMm'), d.srcStart, d.npages, invalidate, dev);
}

/** What an install routine returns when mmu_interval_read_retry said the snapshot is stale. */
export const INSTALL_RETRY = 1;
