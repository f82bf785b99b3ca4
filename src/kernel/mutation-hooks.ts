/**
 * Mutation testing's hooks in the kernel API (`vmamirror mutate`; src/check/mutate.ts makes the
 * mutants and judges them).
 *
 * A mutant is one change at one *site*: a call of a kernel-API function made by driver code — a
 * step of a routine whose library is a driver's (`cites.kind === 'driver'`) — named
 * `category@routine:label`, with `#k` for the k-th call of the same kind in one step (k ≥ 1); or a
 * call the driver makes while it sets up (its .mmap, with no actor running: `mirror_mmap:vma`,
 * `mirror_mmap:attach`). The plan (`MutationPlan`, on `World.mutation`) is not state; each public
 * kernel-API function consults it in one line at its top, only when a plan is set (`w.mutation !==
 * null`: normal runs pay that branch and nothing else). A plan without a target changes nothing
 * and records every site it sees: that is how a design's mutants are enumerated.
 *
 * Categories — what the call at the site does instead:
 *   drop-lock          a lock acquisition returns "taken" without taking it. The task's releases of
 *                      that lock then have nothing to release and are skipped (an exclusive lock or
 *                      an rwsem's write side: when the task does not hold it; a read side: the one
 *                      it skipped, remembered in the ghost `task.skippedRead`, since readers are not
 *                      named), and so is every lockdep_assert_held of driver code: a driver that
 *                      forgets a lock rarely keeps the assertion. The kernel's own assertions stay.
 *   drop-unlock        a release does nothing;
 *   drop-recheck       mmu_interval_read_retry answers "no retry", hmm_range_valid "valid";
 *   swap-set-seq       mmu_interval_set_seq is deferred to the task's next release of a lock from
 *                      driver code: the teardown the callback does meanwhile runs first, still
 *                      under the lock;
 *   set-seq-outside-lock  it is deferred further: it lands at the end of the task's step after
 *                      that release, so other tasks can run between the unlock and it;
 *   install-writable   vmf_insert_pfn_prot installs writable whatever pgprot says (vmf_insert_pfn
 *                      and vmf_insert_mixed: as their _mkwrite forms);
 *   drop-dontcopy      the driver's VMA loses VM_DONTCOPY;
 *   drop-registration  mmu_interval_notifier_insert / mmu_notifier_register does nothing;
 *   drop-barrier       not a hook: a driver step's declared lockless read without its barrier
 *                      (READ_ONCE), which a sequentially consistent model cannot distinguish.
 * What a mutant must remember across steps is state: the ghost fields of `task` (structs.ts), 0
 * in every normal run. The mutation's own accesses to them are not the design's and are kept out
 * of the footprint audit; they are tracked like any access, so the reduction stays sound.
 *
 * A kernel-API function that takes kernel-internal locks inside a driver's step (insert_pfn's
 * ptl) brackets them with `kernelApi(w, +1)` / `kernelApi(w, -1)`: those locks are not the
 * driver's sites.
 */
import type { Mutation } from '../world/mutation.js';
import type { World } from '../world/world.js';
import { VM_DONTCOPY } from './flags.js';
import type { AnyLock } from './locks.js';
import { deref, ref } from './ref.js';
import { MIN, TASK } from './structs.js';

/** Every category, in the order reports list them. */
export const MUTATION_CATEGORIES = [
  'drop-lock',
  'drop-unlock',
  'drop-recheck',
  'swap-set-seq',
  'set-seq-outside-lock',
  'install-writable',
  'drop-dontcopy',
  'drop-registration',
  'drop-barrier',
] as const;

export type MutationCategory = (typeof MUTATION_CATEGORIES)[number];

/** One mutant: what to change, and where (`routine:label`, `#k`). */
export interface MutantTarget {
  readonly category: MutationCategory;
  readonly site: string;
}

/** Kinds of hooked call: a site's `#k` counts the calls of one kind within one step. */
const KIND = { acquire: 0, release: 1, recheck: 2, setSeq: 3, insert: 4, register: 5, vmaFlags: 6 } as const;
const KINDS = Object.keys(KIND).length;

// task.deferredPhase of a deferred mmu_interval_set_seq.
const DEFERRED_NONE = 0;
/** Deferred, waiting for the task's next release of a lock from driver code. */
const DEFERRED_PENDING = 1;
/** set-seq-outside-lock: released in this step; lands at the end of the task's next one. */
const DEFERRED_RELEASED = 2;
const DEFERRED_LANDS = 3;

/** The plan of one mutant run (or of a recording run: no target). */
export class MutationPlan implements Mutation {
  /** The sites seen so far, as mutant ids (`category@routine:label`), when the plan records. */
  readonly seen: Set<string> | undefined;
  /** The driver's set-up code running (no actor): its site, else null. */
  setup: string | null = null;
  private readonly calls = new Int32Array(KINDS);
  private kernelDepth = 0;
  /** The target defers mmu_interval_set_seq (the step hooks have work to do). */
  private readonly defers: boolean;

  constructor(
    readonly target: MutantTarget | null,
    opts: { readonly record?: boolean } = {},
  ) {
    this.seen = opts.record ? new Set() : undefined;
    this.defers = target?.category === 'swap-set-seq' || target?.category === 'set-seq-outside-lock';
  }

  beginStep(): void {
    this.calls.fill(0);
    this.kernelDepth = 0;
  }

  endStep(w: World): void {
    if (this.defers) deferredAfterStep(w);
  }

  /** Enters (+1) or leaves (-1) a kernel-API function's own locking (see the header). */
  kernel(delta: 1 | -1): void {
    this.kernelDepth += delta;
  }

  /** Restarts the call counts for a set-up site. */
  enterSetup(where: string | null): void {
    this.setup = where;
    this.calls.fill(0);
  }

  /** The site of a hooked call of `kind` made now, or null when driver code did not make it. */
  siteOf(w: World, kind: number): string | null {
    let where: string;
    if (w.actor < 0) {
      if (this.setup === null) return null;
      where = this.setup;
    } else {
      if (this.kernelDepth > 0 || w.running?.library.cites?.kind !== 'driver') return null;
      where = w.site;
    }
    const k = this.calls[kind]++;
    return k === 0 ? where : `${where}#${k}`;
  }

  /** Whether the call at `where` is the mutated one, if it is a `category` site (recorded). */
  hits(category: MutationCategory, where: string): boolean {
    this.seen?.add(`${category}@${where}`);
    const t = this.target;
    return t !== null && t.category === category && t.site === where;
  }

  get category(): MutationCategory | undefined {
    return this.target?.category;
  }
}

/** The world's plan (hooks are called only when `w.mutation` is set). */
function planOf(w: World): MutationPlan | null {
  const m = w.mutation;
  return m instanceof MutationPlan ? m : null;
}

/** Runs `f` with the footprint audit off: the mutation's own accesses are not the design's. */
function unaudited<T>(w: World, f: () => T): T {
  const audit = w.auditing;
  w.auditing = false;
  try {
    return f();
  } finally {
    w.auditing = audit;
  }
}

/** Whether the call of `kind` driver code makes now is the mutated one of `category` (its site recorded). */
function mutatedCall(w: World, kind: number, category: MutationCategory): boolean {
  const m = planOf(w);
  const where = m?.siteOf(w, kind);
  return !!m && where != null && m.hits(category, where);
}

/** The owner word of an exclusive lock, or of an rwsem's write side. */
function ownerWord(lock: AnyLock): number {
  return lock.kind === 'rwsem' || lock.kind === 'rwlock' ? lock.writer : lock.slot;
}

// ---- locks (locks.ts) ----

/** drop-lock: whether this acquisition of `lock` is skipped (of both, for a nested pair: `lock` is the outer); `read`: an rwsem's read side. */
export function dropAcquire(w: World, lock: AnyLock, read = false): boolean {
  if (!mutatedCall(w, KIND.acquire, 'drop-lock')) return false;
  if (read && lock.kind === 'rwsem') unaudited(w, () => (w.obj(TASK, w.actor).skippedRead = lock.readers + 1));
  return true;
}

/** Whether this release of `lock` is skipped (drop-unlock, or the release of a lock drop-lock skipped); lands a set_seq deferred until it. */
export function skipRelease(w: World, lock: AnyLock, read = false): boolean {
  const m = planOf(w);
  if (!m) return false;
  const where = m.siteOf(w, KIND.release);
  if (where !== null) {
    deferredAtRelease(w, m);
    if (m.hits('drop-unlock', where)) return true;
  }
  if (m.category !== 'drop-lock' || w.actor < 0) return false;
  if (read && lock.kind === 'rwsem') {
    return unaudited(w, () => {
      const t = w.obj(TASK, w.actor);
      if (t.skippedRead !== lock.readers + 1) return false;
      t.skippedRead = 0;
      return true;
    });
  }
  return w.get(ownerWord(lock)) !== w.self;
}

/** drop-lock: the driver's lockdep_assert_held are skipped (it forgot the lock, and the assertion with it). */
export function skipAssert(w: World): boolean {
  const m = planOf(w);
  return m !== null && m.category === 'drop-lock' && w.actor >= 0 && w.running?.library.cites?.kind === 'driver';
}

/** Brackets a kernel-API function's own locking inside a driver's step (insert_pfn's ptl). */
export function kernelApi(w: World, delta: 1 | -1): void {
  planOf(w)?.kernel(delta);
}

// ---- the sequence protocol (notifier/interval.ts, hmm/hmm-v53.ts) ----

/** drop-recheck: mmu_interval_read_retry / hmm_range_valid answers that nothing changed. */
export function dropRecheck(w: World): boolean {
  return mutatedCall(w, KIND.recheck, 'drop-recheck');
}

/** swap-set-seq, set-seq-outside-lock: whether mmu_interval_set_seq(sub, curSeq) is deferred (then kept in the task's ghost fields). */
export function deferSetSeq(w: World, sub: number, curSeq: number): boolean {
  const m = planOf(w);
  const where = m?.siteOf(w, KIND.setSeq);
  if (!m || where == null) return false;
  const swap = m.hits('swap-set-seq', where);
  const outside = m.hits('set-seq-outside-lock', where);
  if (!swap && !outside) return false;
  unaudited(w, () => {
    landDeferred(w); // one still pending lands first
    const t = w.obj(TASK, w.actor);
    t.deferredSub = ref(sub);
    t.deferredSeq = curSeq;
    t.deferredPhase = DEFERRED_PENDING;
  });
  return true;
}

/** The task's deferred set_seq, if any, lands now. */
function landDeferred(w: World): void {
  const t = w.obj(TASK, w.actor);
  if (t.deferredPhase === DEFERRED_NONE) return;
  w.obj(MIN, deref(t.deferredSub, 'task.deferredSub')).seq = t.deferredSeq;
  t.deferredSub = 0;
  t.deferredSeq = 0;
  t.deferredPhase = DEFERRED_NONE;
}

/** A release from driver code: swap-set-seq lands before it; set-seq-outside-lock waits a step more. */
function deferredAtRelease(w: World, m: MutationPlan): void {
  if (w.actor < 0 || w.v[w.layout.slot(TASK, w.actor, 'deferredPhase')] !== DEFERRED_PENDING) return;
  unaudited(w, () => {
    if (m.category === 'swap-set-seq') landDeferred(w);
    else w.obj(TASK, w.actor).deferredPhase = DEFERRED_RELEASED;
  });
}

/** After each step of a set-seq-outside-lock run: the release step arms the write, the next one lands it. */
function deferredAfterStep(w: World): void {
  // Read untracked: the phase is the running task's own (no other task reads or writes it).
  const phase = w.v[w.layout.slot(TASK, w.actor, 'deferredPhase')];
  if (phase === DEFERRED_RELEASED) unaudited(w, () => (w.obj(TASK, w.actor).deferredPhase = DEFERRED_LANDS));
  else if (phase === DEFERRED_LANDS) unaudited(w, () => landDeferred(w));
}

// ---- installing ptes (ops/insert.ts) ----

/** install-writable: the insert maps the pfn writable whatever the driver asked. */
export function installWritable(w: World): boolean {
  return mutatedCall(w, KIND.insert, 'install-writable');
}

// ---- the driver's set-up (mirror/device.ts: its .mmap) ----

/** drop-registration: mmu_interval_notifier_insert / mmu_notifier_register does nothing. */
export function dropRegistration(w: World): boolean {
  return mutatedCall(w, KIND.register, 'drop-registration');
}

/** drop-dontcopy: the flags the driver's VMA gets (`where`: the set-up site that creates it). */
export function driverVmaFlags(w: World, flags: number, where: string): number {
  const m = planOf(w);
  if (!m || !(flags & VM_DONTCOPY)) return flags;
  m.enterSetup(where);
  const site = m.siteOf(w, KIND.vmaFlags);
  m.enterSetup(null);
  return site !== null && m.hits('drop-dontcopy', site) ? flags & ~VM_DONTCOPY : flags;
}

/** Runs the driver's set-up code `run` (no actor running) as the site `where`. */
export function asDriverSetup(w: World, where: string, run: () => void): void {
  const m = planOf(w);
  if (!m) {
    run();
    return;
  }
  m.enterSetup(where);
  try {
    run();
  } finally {
    m.enterSetup(null);
  }
}
