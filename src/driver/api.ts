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
/** Counter domains (layout.ts `CounterDomain`): a driver or era routine that keeps a copy of a sequence or generation declares it (`counters`, `resultCounters`), so that `--abstract-counters` renames it too. */
export { KVM_SEQ } from '../kvm/structs.js';
export { INTERVAL_SEQ, PAGE_GEN } from '../kernel/structs.js';
export { kvmMmuLock } from '../kvm/topology.js';
/** mmu_invalidate_retry_gfn's range half: an invalidation in progress covers the gfn (under mmu_lock). */
export { invalidationCovers } from '../kvm/fault.js';
/** The memslot lookups (gfn → hva, hva range → gfn range), hva_to_pfn (a routine) and its packed result, READ_ONCE of the sequence. */
export { gfnToHva, hvaRangeToGfns } from '../kvm/topology.js';
export { hvaToPfn, unpackPfn } from '../kvm/hva-to-pfn.js';
export { readInvalidateSeq } from '../kvm/seq.js';
/** KVM's gfn→pfn cache (`GPC`, one per KVM, index = the KVM's), its gpc->lock, and the "no translation" value of its gfn and uhva. */
export { GPC, GPC_NONE, gpcLock } from '../kvm/gpc.js';
/** For eras: rwlock_t (read_lock/write_lock spin; KVM's mmu_lock, gpc->lock) and a page's generation (putPage is below). */
export { readLock, readUnlock, writeLock, writeUnlock } from '../kernel/locks.js';
export { pageGen } from '../kernel/page.js';
/** A memslot update's publication (kvm_swap_active_memslots' rcu_assign_pointer): memslot object `slot` now maps gfns [gfn, gfn + npages) to the same hvas. */
export { publishMemslot } from '../kvm/memslot.js';

// ---- the driver's own state, properties and generic checks (docs/drivers.md, last section) ----
/**
 * The driver's objects: `defineStruct(name, fields, protections)` (every field says what protects
 * it), listed in `DriverSpec.state` as `{ struct, count, init }`; a step reads and writes them as
 * the kernel's, `w.obj(STRUCT, index).field`.
 */
export { defineStruct, type StructDef, type Protection } from '../world/layout.js';
/**
 * Where a design keeps an actor's number besides lock words (a local holding its task's row, a
 * field with one bit per actor): declared once, so that `--symmetry` can permute the actors a
 * scenario declares interchangeable (`symmetric:`). Without it a scenario's group is still checked
 * (the equivariance check names the slot), never trusted.
 */
export { defineActorNames, type ActorNames, type ActorField, type ActorLocal, type ActorEncoding } from '../world/layout.js';
export type { DriverState } from './define.js';
/** A property (`DriverSpec.properties`): `{ name, description, check(w) }`, `check` returning a message when it fails. */
export type { Property } from '../engine/verdict.js';
/** `DriverSpec.balanced` entries; `quiescent(w)`: every actor has finished (for a property of its own about the end state). */
export { type Balanced, quiescent } from '../check/balance.js';
/**
 * Lifetimes (DriverSpec.state `lifetime`): kref get/put (the last put runs the release and frees),
 * kzalloc from a struct's free objects; SRCU read sections and synchronize_srcu (a routine of
 * SRCU_LIB: list it in the driver library's uses), over an srcu_struct in the driver's state.
 */
export { kzalloc, krefInit, krefGet, krefPut, SRCU, SRCU_LIB, srcuReadLock, srcuReadUnlock, synchronizeSrcu } from '../kernel/lifetime.js';
/** might_sleep(): a step about to sleep outside the kernel's primitives (which call it themselves). */
export { mightSleep } from '../kernel/might-sleep.js';

/** A named set of routine definitions: a driver makes its own, `new Library(name, [KERNEL], { kind: 'driver', sources: ['mirror'] })`. */
export { Library } from '../world/registry.js';
/** The kernel's routine library: the one a driver's library uses. */
export { KERNEL } from '../kernel/library.js';
/** A routine (made by `Library.routine`), the state a step runs on, and a step's block codes. */
export { type AnyRoutine, type Routine, type RoutineSpec, type Step, BLOCK_SLEEP, BLOCK_SPIN } from '../world/routine.js';
export type { World } from '../world/world.js';
export type { MirrorVariant } from '../mirror/device.js';

/**
 * The mirroring device: its state (`MIRROR`: srcMm, srcStart, npages, intrMm, vma, lock, sub, mn,
 * hmirror, install), the flags of a VM_PFNMAP mirror VMA, and helpers; `lockUpdateForCallback`
 * is an interval callback's take of the update lock (a trylock when it may not block: 0 when held,
 * else what the step returns), `updateLockStep(at, next)` a first step that does only that,
 * `updateUnlockStep(at, value)` a callback's last (unlock, return value), and `zapMirror` a
 * callback's zap_vma_ptes of the mirror pages that show a source range.
 */
export {
  MIRROR,
  MIRROR_VMA_FLAGS,
  updateLock,
  lockUpdateForCallback,
  updateLockStep,
  updateUnlockStep,
  deviceOfVma,
  deviceOfSub,
  mirrorToSource,
  sourceRangeToMirror,
  zapMirror,
} from '../mirror/device.js';
/** The .mmap of an interval-notifier design: `attachInterval(w, dev, install, invalidate)`; the install routine's "stale snapshot" return. */
export { attachInterval, INSTALL_RETRY } from '../mirror/device.js';
/**
 * The built-in designs (src/mirror/), drivers made with `defineDriver` like any other, and the
 * corrected design's library and routines, for a design built on its fault path (as raw-clear and
 * anon-vma are: list `INTERVAL_LIB` in your library's uses, its routines in yours, and give
 * `attachInterval` your own install and callback).
 */
export { VARIANTS } from '../mirror/variants.js';
export { interval, INTERVAL_LIB, intervalFault, installPfn, intervalPfnMkwrite, intervalInvalidate } from '../mirror/interval.js';

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
  EEXIST,
  EAGAIN,
  EPERM,
  ENOENT,
  EOPNOTSUPP,
  VM_ANON,
  MMU_NOTIFY_UNMAP,
  MMU_NOTIFY_CLEAR,
  MMU_NOTIFY_PROTECTION_VMA,
  MMU_NOTIFY_PROTECTION_PAGE,
  MMU_NOTIFY_RELEASE,
  MMU_NOTIFY_MIGRATE,
  MMU_NOTIFY_EXCLUSIVE,
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
  folioLock,
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
  trylockRefused,
} from '../kernel/locks.js';

/** References between objects (index + 1; 0 is none): follow one with `deref(r, 'struct.field')`. */
export { type Ref, NONE, ref, refOrNone, isNone, refersTo, deref } from '../kernel/ref.js';
/** mm reference counts: mmget_not_zero, mmget (mmput is a routine: `w.call(mmput, resume, mm)`). */
export { mmget, mmgetNotZero } from '../kernel/mm-refs.js';
export { mmput } from '../kernel/ops/exit.js';
/** mmu_interval_notifier: read_begin, insert and remove are routines (`w.call`: insert with `w.routineRef(invalidate)` as its ops, at run time: a device opened, a range mapped); read_retry, check_retry and set_seq are plain calls; `intervalNotifierInsert` subscribes at set-up (.mmap). */
export {
  mmuIntervalReadBegin,
  mmuIntervalReadRetry,
  mmuIntervalCheckRetry,
  mmuIntervalSetSeq,
  intervalNotifierInsert,
  mmuIntervalNotifierInsert,
  mmuIntervalNotifierRemove,
} from '../kernel/notifier/interval.js';
/** hmm_range_fault (a routine: `w.call(hmmRangeFault, resume, sub, vpn, seq, write)`) and its result's decoding. */
export { hmmRangeFault } from '../kernel/hmm/hmm.js';
export { hmmPfnToPfn, hmmPfnWritable, hmmPfnValid } from '../kernel/hmm/hmm-pfn.js';
/** The shared zero page (the zero-page layer): is_zero_pfn, my_zero_pfn. */
export { isZeroPfn, myZeroPfn } from '../kernel/zero-page.js';
/** vmf_insert_pfn(_prot) and vmf_insert_mixed (call `insertPfnBusy` first: it says whether the ptl would spin). */
export { insertPfnBusy, vmfInsertPfn, vmfInsertPfnProt, vmfInsertMixed, vmInsertPage } from '../kernel/ops/insert.js';
export { freeVmaSlot } from '../kernel/pgtable.js';
/**
 * zap_vma_ptes (a routine: `w.call(zapVmaPtes, resume, vma, start, end)`): notifies the mirror's
 * own mm; zap_page_range_single (`w.call(zapPageRangeSingle, resume, mm, vma, start, end)`), the
 * teardown of a VMA that is not VM_PFNMAP, which zap_vma_ptes refuses.
 */
export { zapVmaPtes, zapPageRangeSingle } from '../kernel/ops/zap.js';
/**
 * make_device_exclusive (a routine: `w.call(makeDeviceExclusive, resume, mm, vpn)`, under
 * mmap_read_lock): the pfn, locked (`folioLock`) and referenced, its pte now a device-exclusive
 * entry, or -errno; the caller maps it in its device, then unlocks the folio and puts the page.
 */
export { makeDeviceExclusive } from '../kernel/ops/device-exclusive.js';
/**
 * Page tables: a pte or VMA view, the mm a VMA belongs to; under the mm's page-table lock (`ptl`),
 * set_pte_at of a pfn (`setPte(w, mm, vpn, pfn, write, special)`) and ptep_get_and_clear
 * (`clearPte(w, mm, vpn)`), raw pte writes that notify no one.
 */
export { pte, vma, vmaMm, findVma, setPte, clearPte } from '../kernel/pgtable.js';

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
/**
 * For eras of the 2019 HMM API (mm/hmm.c, v5.3: src/kernel/hmm/hmm-v53.ts): its per-mirror and
 * per-range state (`HMM_MIRROR`, `HMM_RANGE`; `MM.hmmNotifiers` is hmm->notifiers) and the class of
 * hmm->ranges_lock, which protects hmm->notifiers and every range's `valid`.
 */
export { RANGES_LOCK } from '../kernel/hmm/hmm-v53.js';
/**
 * Page references, for drivers that pin pages (GUP) or wait on them: get_user_pages_remote (a
 * routine: `w.call(getUserPagesRemote, resume, mm, vpn, write)`, the caller holding the mm's
 * mmap_lock for read; the pfn with a reference, or -errno), put_page, and `PAGE` (a frame's
 * `refcount` is atomic: one read per step, e.g. a wait until it drops).
 */
export { PAGE } from '../kernel/structs.js';
export { getUserPagesRemote } from '../kernel/ops/gup.js';
export { getPage, putPage } from '../kernel/page.js';
/**
 * The 2019 HMM API (v5.3, src/kernel/hmm/hmm-v53.ts), for drivers of that era: hmm_mirror_register
 * (a set-up call in .mmap), the range routines (`w.call`), the range->valid test, and the structs
 * a sync_cpu_device_pagetables callback and a fault read (`HMM_MIRROR.priv`, `HMM_RANGE.pfn`).
 */
export { hmmMirrorRegister, hmmRangeRegister, hmmRangeUnregister, hmmRangeWaitUntilValid, hmmRangeFaultV53, hmmRangeSnapshot, hmmRangeValid } from '../kernel/hmm/hmm-v53.js';
export { HMM_MIRROR, HMM_RANGE } from '../kernel/structs.js';
/**
 * Device translation tables (docs/tables.md): `defineTable({ name, kind, entries, parent: 'source' })`,
 * listed in `DriverSpec.tables` and checked by kind (`device-table`, `device-access`); entries read
 * and written with `tableRead` / `tableInstall` / `tableClear` / `tableClearRange`; accesses through
 * them (`deviceAccess` at one step, or `accessStart` → `accessComplete` in flight),
 * and the invalidate callback's wait for those in flight (`fenceWait`). `DriverSpec.operations`
 * name the routines scenario files run as `{ op: device, call: NAME, page, write }`. A table that
 * holds page references takes them with `getUserPagesRemote` (or `getPage`) and drops them with `putPage`.
 */
export { defineTable, TABLE_KINDS, type TableKind, type TableSpec, type DeviceTable, tableIndex, tableRead, tableInstall, tableClear, tableClearRange, sourceRangeToTable } from '../layers/table.js';
export { deviceAccess, accessStart, accessComplete, fenceWait } from '../layers/access.js';
export type { DriverOperation } from './operations.js';
/**
 * Device-private memory (src/kernel/memremap.ts, src/kernel/ops/migrate-device.ts): a
 * `DEV_PAGEMAP` the driver lists as its state and fills at set-up with `memremapPages(w, pgmap,
 * owner, w.routineRef(migrateToRam), nframes)` (migrate_to_ram takes (vma, vpn, page), the vmf);
 * `zoneDevicePageAlloc` hands out one of its pages (locked); migrate_vma_setup / _pages / _finalize
 * are routines (`w.call(migrateVmaSetup, resume, migrateVmaOf(w))`) over the actor's struct
 * migrate_vma (`migrateVmaInit`, `migrateVmaSrc`, `migrateVmaSetDst`, `migrateVmaDone`);
 * `mmuNotifierRangeOwner(w, event)` is range->owner for an interval notifier's callback.
 */
export { DEV_PAGEMAP, memremapPages, zoneDevicePageAlloc, isDevicePrivatePage, pgmapOwner } from '../kernel/memremap.js';
export {
  migrateVmaSetup,
  migrateVmaPages,
  migrateVmaFinalize,
  migrateVmaOf,
  migrateVmaInit,
  migrateVmaSrc,
  migrateVmaDst,
  migrateVmaSetDst,
  migrateVmaDone,
  migratePfn,
  migratePfnToPage,
  mmuNotifierRangeOwner,
  MIGRATE_PFN_MIGRATE,
  MIGRATE_PFN_WRITE,
  MIGRATE_VMA_SELECT_SYSTEM,
  MIGRATE_VMA_SELECT_DEVICE_PRIVATE,
} from '../kernel/ops/migrate-device.js';
/**
 * allocPage takes a frame; mightAlloc is a driver's kmalloc(GFP_KERNEL) of anything the model does
 * not represent (a device page-table node, a request): it may enter direct reclaim, which the
 * lock-order check records (fs_reclaim), so an allocation under a lock the invalidate callback
 * takes is a cycle.
 */
export { allocPage, mightAlloc } from '../kernel/page.js';
