/**
 * The public driver API: everything a mirror design written outside the package needs, from the
 * package entry (`import { defineDriver, … } from 'vmamirror'`), no deep imports. A driver is one
 * module whose default export is `defineDriver({...})`; `vmamirror check --driver FILE` runs it
 * (src/driver/load.ts). `examples/drivers/interval.ts` is the corrected design written this way.
 *
 * What a step may do, how it blocks and what it cites: docs/modelling.md.
 */

/** Checks a driver description and returns a design `check --driver` can run; `DriverError` says what was wrong. */
export { defineDriver, DriverError, isDriver, type DriverSpec } from './define.js';

/** A kernel era: old kernel routines replacing today's by name (`--era FILE`; `library.replace(name, routine)`). */
export { defineEra, type Era, type EraSpec } from './era.js';
/** KVM's routine library: an era that replaces a KVM routine uses it (`new Library(name, [KERNEL, KVM_LIB], { kind: 'kernel' })`). */
export { KVM_LIB } from '../kvm/library.js';
/**
 * For KVM eras: `struct kvm` (`KVM`: mmu_invalidate_seq as two words, invalidateSeq the low and
 * invalidateSeqHi the high one; mmu_invalidate_in_progress and its gfn range) and its mmu_lock.
 */
export { KVM } from '../kvm/structs.js';
export { kvmMmuLock } from '../kvm/topology.js';
/** mmu_invalidate_retry_gfn's range half: an invalidation in progress covers the gfn (under mmu_lock). */
export { invalidationCovers } from '../kvm/fault.js';
/** The memslot lookups (gfn → hva, hva range → gfn range), hva_to_pfn (a routine) and its packed result, READ_ONCE of the sequence. */
export { gfnToHva, hvaRangeToGfns } from '../kvm/topology.js';
export { hvaToPfn, unpackPfn } from '../kvm/hva-to-pfn.js';
export { readInvalidateSeq } from '../kvm/seq.js';
/** KVM's gfn→pfn cache (`GPC`, one per KVM, index = the KVM's), its gpc->lock, and the "no translation" value of its gfn and uhva. */
export { GPC, GPC_NONE, gpcLock } from '../kvm/gpc.js';
/** For eras: rwlock_t (read_lock/write_lock spin; KVM's mmu_lock, gpc->lock) and page references. */
export { readLock, readUnlock, writeLock, writeUnlock } from '../kernel/locks.js';
export { pageGen, putPage } from '../kernel/page.js';
/** A memslot update's publication (kvm_swap_active_memslots' rcu_assign_pointer): memslot object `slot` now maps gfns [gfn, gfn + npages) to the same hvas. */
export { publishMemslot } from '../kvm/memslot.js';

/** A named set of routine definitions: a driver makes its own, `new Library(name, [KERNEL], { kind: 'driver', sources: ['mirror'] })`. */
export { Library } from '../world/registry.js';
/** The kernel's routine library: the one a driver's library uses. */
export { KERNEL } from '../kernel/library.js';
/** A routine (made by `Library.routine`), the state a step runs on, and a step's block codes. */
export { type AnyRoutine, type Routine, type RoutineSpec, type Step, BLOCK_SLEEP, BLOCK_SPIN } from '../world/routine.js';
export type { World } from '../world/world.js';
export type { MirrorVariant } from '../mirror/device.js';

/** The mirroring device: its state (`MIRROR`: srcMm, srcStart, npages, intrMm, vma, lock, sub, mn, hmirror, install) and helpers. */
export { MIRROR, updateLock, deviceOfVma, deviceOfSub, mirrorToSource, sourceRangeToMirror } from '../mirror/device.js';
/** The .mmap of an interval-notifier design: `attachInterval(w, dev, install, invalidate)`; the install routine's "stale snapshot" return. */
export { attachInterval, INSTALL_RETRY } from '../mirror/interval.js';

/** Kernel flags and return codes: VMA flags, `VM_FAULT_*`, errnos, mmu_notifier events. */
export {
  VM_READ,
  VM_WRITE,
  VM_SHARED,
  VM_PFNMAP,
  VM_IO,
  VM_DONTCOPY,
  VM_DONTEXPAND,
  VM_MIXEDMAP,
  VM_DONTDUMP,
  VM_FAULT_OOM,
  VM_FAULT_SIGBUS,
  VM_FAULT_NOPAGE,
  VM_FAULT_RETRY,
  EFAULT,
  EBUSY,
  EINVAL,
  ENOMEM,
  EAGAIN,
  MMU_NOTIFY_UNMAP,
  MMU_NOTIFY_CLEAR,
  MMU_NOTIFY_PROTECTION_VMA,
  MMU_NOTIFY_PROTECTION_PAGE,
  MMU_NOTIFY_RELEASE,
  MMU_NOTIFY_MIGRATE,
} from '../kernel/flags.js';

/**
 * Locks, through the kernel's primitives only (a blocking acquire returns 0 or the code to return
 * as is: `const b = mutexLock(w, lock); if (b) return b;`), and `assertHeld` (lockdep_assert_held).
 */
export {
  type Mutex,
  type SpinLock,
  type RwSem,
  ptl,
  mmapLock,
  driverMutex,
  driverSpinlock,
  spinLock,
  spinTrylock,
  spinUnlock,
  mutexLock,
  mutexTrylock,
  mutexUnlock,
  mutexLockIfBlockable,
  WOULD_BLOCK,
  downRead,
  downReadTrylock,
  upRead,
  downWrite,
  upWrite,
  assertHeld,
} from '../kernel/locks.js';

/** References between objects (index + 1; 0 is none): follow one with `deref(r, 'struct.field')`. */
export { type Ref, NONE, ref, refOrNone, isNone, refersTo, deref } from '../kernel/ref.js';
/** mm reference counts: mmget_not_zero, mmget (mmput is a routine: `w.call(mmput, resume, mm)`). */
export { mmget, mmgetNotZero } from '../kernel/mm-refs.js';
export { mmput } from '../kernel/ops/exit.js';
/** mmu_interval_notifier: read_begin is a routine (`w.call`); read_retry, check_retry and set_seq are plain calls. */
export { mmuIntervalReadBegin, mmuIntervalReadRetry, mmuIntervalCheckRetry, mmuIntervalSetSeq, intervalNotifierInsert } from '../kernel/notifier/interval.js';
/** hmm_range_fault (a routine: `w.call(hmmRangeFault, resume, sub, vpn, seq, write)`) and its result's decoding. */
export { hmmRangeFault } from '../kernel/hmm/hmm.js';
export { hmmPfnToPfn, hmmPfnWritable, hmmPfnValid } from '../kernel/hmm/hmm-pfn.js';
/** vmf_insert_pfn(_prot) and vmf_insert_mixed (call `insertPfnBusy` first: it says whether the ptl would spin). */
export { insertPfnBusy, vmfInsertPfn, vmfInsertPfnProt, vmfInsertMixed } from '../kernel/ops/insert.js';
/** zap_vma_ptes (a routine: `w.call(zapVmaPtes, resume, vma, start, end)`): notifies the mirror's own mm. */
export { zapVmaPtes } from '../kernel/ops/zap.js';
/** Page tables: a pte or VMA view, the mm a VMA belongs to. */
export { pte, vma, vmaMm } from '../kernel/pgtable.js';

/**
 * For eras and classic-notifier drivers: the notifier core's pieces an old kernel's
 * `mmu_notifier_invalidate_range_start` is written from (mm/mmu_notifier.c), and the state they
 * read. `nextHlist(w, mm, from, op)` walks the classic subscriptions; `enterCallback` /
 * `leaveCallback` bracket every callback (non_block_start/end); `mnItreeInvalidate` is the
 * interval tree's start (a routine), `mnItreeInvEnd` its end; `notifierMapAcquire` is lockdep's
 * invalidate map; `mmuNotifierRegister(w, mn, mm, ops, priv)` subscribes a classic notifier at
 * .mmap time (`MN`: a subscription, its `priv` the device).
 */
export { MM, MN } from '../kernel/structs.js';
export { nextHlist, mmuNotifierRegister, type MmuNotifierOps } from '../kernel/notifier/mmu-notifier.js';
export { enterCallback, leaveCallback, mnItreeInvalidate, mnItreeInvEnd } from '../kernel/notifier/interval.js';
export { notifierMapAcquire } from '../kernel/lockdep.js';
