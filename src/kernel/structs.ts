/**
 * The kernel objects of the model, as flat structs (see src/world/layout.ts). Names follow the
 * kernel's (camelCased); every field is an int32. Conventions:
 *   - a pfn is the index of a `page` object; pfn 0 is never allocated and means "no page";
 *   - a reference to another object (an mm, a VMA, a subscription, a driver's object) is a `Ref`
 *     of src/kernel/ref.ts: written `ref(index)`, read `deref(r, 'struct.field')`, NONE = 0;
 *   - a swap entry is `swpEntry(slot)` (ref.ts); a lock owner is the actor's tag `w.self`;
 *   - a routine reference (an ops pointer such as vm_ops->fault) is `w.routineRef(routine)`;
 *   - addresses are page numbers (vpn) inside one mm's address space.
 */
import { defineCounterDomain, defineStruct } from '../world/layout.js';

/**
 * The page generation as a counter domain (layout.ts `CounterDomain`): `page.gen` and every copy a
 * mapping keeps of it are only copied, bumped (alloc) and compared for equality (a stale mapping).
 */
export const PAGE_GEN = defineCounterDomain('page-gen', "a frame's allocation generation (ghost) and the copies mappings keep of it");

/**
 * The interval notifiers' sequence as a counter domain: subscriptions->invalidate_seq, each
 * subscription's invalidate_seq and every copy of them (read_begin's result, cur_seq, a range's
 * notifier_seq) are only copied, made odd (|1), bumped, decremented once (insert: S - 1) and
 * compared for equality, with 0 and for parity (odd: an invalidation is in progress).
 */
export const INTERVAL_SEQ = defineCounterDomain('interval-seq', "subscriptions->invalidate_seq, the interval notifiers' invalidate_seq and their copies", { parity: true });

/** A physical page frame (struct page / folio). `gen` counts allocations, so a mapping that
 *  remembers the generation it was made with can tell a reused frame from the page it mapped. */
export const PAGE = defineStruct(
  'page',
  [
    'refcount', // folio_ref_count
    'mapcount', // folio_mapcount: number of normal ptes mapping it (changed under the ptl of such a pte)
    'free', // 1 while on the free list (never allocated, or freed): the buddy allocator's, under zone->lock
    'gen', // allocation generation (0 = never allocated)
    'contents', // what was written last
    'locked', // folio lock owner (w.self), 0 = unlocked
    'anon', // folio_test_anon
    'anonVma', // page->mapping for anon pages: ref to the anon_vma root (an mm's lineage)
    'index', // page->index: the vpn the anon page lives at (for rmap)
    'swap', // swap entry (swpEntry(slot)) while in the swap cache
    'pgmap', // page_pgmap(): ref to the dev_pagemap of a ZONE_DEVICE frame (memremap.ts), none for a normal page
    'dirty', // PG_dirty (folio_test_dirty), layer dirty-accessed: folio_mark_dirty sets it, pageout's folio_clear_dirty_for_io clears it
    'mapping', // folio->mapping of a page-cache folio: ref to its address_space (filemap.ts) while cached, none otherwise
    // PageAnonExclusive, kept only where a FOLL_PIN needs it (src/kernel/ops/pin.ts): set when GUP
    // pins the page (or unshares it to pin it), cleared when fork or an rmap unmapper shares it.
    'anonExclusive',
    // Large folios (the thp layer, src/kernel/huge.ts): a tail page's compound_head, a ref to its
    // head's pfn (none for a head or an order-0 page); the head's folio_order; the head's
    // folio_entire_mapcount (PMD mappings of the whole folio, beside each page's own mapcount).
    'head',
    'order',
    'entireMapcount',
  ] as const,
  {
    refcount: 'atomic',
    mapcount: 'lock:mm.ptl',
    free: 'lock:zone.lock',
    gen: 'ghost',
    contents: 'lockless',
    locked: 'lock-word:folio',
    anon: 'stable',
    anonVma: 'stable',
    index: 'lock:folio',
    swap: 'lock:folio',
    // Set when memremap_pages gives the frame to a device, at set-up, and never changed after.
    pgmap: 'stable',
    dirty: 'atomic', // set_bit / test_and_clear_bit on folio->flags
    // Set when the folio enters the page cache and cleared when it leaves (both under the folio
    // lock and xa_lock): a holder re-checks it under the folio lock (filemap.ts).
    mapping: 'lock:folio',
    anonExclusive: 'lock:mm.ptl',
    // Written by the allocating and the freeing step, which own the frames (prep_compound_page, free_unref_folios).
    head: 'stable',
    order: 'stable',
    entireMapcount: 'lock:mm.ptl',
  },
  {
    counters: { gen: PAGE_GEN },
    // The thp layer: a folio's references live on its head, found through compound_head (and
    // the last put frees folio_order's pages), so get_page/put_page read head and order first.
    via: { refcount: ['head', 'order'] },
  },
);

/** An mm_struct with its locks and its notifier subscriptions header. */
export const MM = defineStruct(
  'mm',
  [
    'users', // mm_users (mmget / mmput)
    'count', // mm_count (mmgrab / mmdrop)
    'mmapWriter', // mmap_lock: writer (w.self)
    'mmapReaders', // mmap_lock: number of readers
    'ptl', // page-table lock owner (w.self); one split lock stands for all of the mm's
    'anonVma', // ref to the anon_vma root shared with fork relatives (rmap family)
    'hasNotifiers', // mm->notifier_subscriptions allocated
    'hasItree', // subscriptions->has_itree
    'invalidateSeq', // subscriptions->invalidate_seq (S): even when idle, odd while fully excluded
    'activeInvalidateRanges', // subscriptions->active_invalidate_ranges (A)
    'hmmNotifiers', // v5.3 struct hmm: hmm->notifiers
    'hmm', // v5.3: ref to the notifier slot of the mm's struct hmm (hmm_mirror_register); none without one
    'hasPinned', // MMF_HAS_PINNED: some FOLL_PIN was taken on this mm (sticky; fork reads it)
  ] as const,
  {
    users: 'atomic',
    count: 'atomic',
    mmapWriter: 'lock-word:mm.mmap_lock',
    mmapReaders: 'lock-readers:mm.mmap_lock',
    ptl: 'lock-word:mm.ptl',
    anonVma: 'stable',
    // Set at registration under mm_take_all_locks, which excludes every invalidation (it holds
    // mmap_lock for write and every rmap lock); never cleared while the mm lives: read-only after.
    hasNotifiers: 'stable',
    hasItree: 'stable',
    invalidateSeq: 'lock:mm.notifier_subscriptions.lock',
    activeInvalidateRanges: 'lock:mm.notifier_subscriptions.lock',
    hmmNotifiers: 'lock:hmm.ranges_lock',
    hmm: 'lock:mm.mmap_lock',
    // Set by FOLL_PIN under mmap_lock (read); fork reads it under mmap_write_lock, which excludes every setter.
    hasPinned: 'lock:mm.mmap_lock',
  },
  { counters: { invalidateSeq: INTERVAL_SEQ } },
);

/** One page-table entry of one mm. `gen` is ghost state: the page's generation when it was mapped. */
export const PTE = defineStruct(
  'pte',
  [
    'pfn', // page frame (0 = none)
    'present',
    'write',
    'special', // pte_special: no struct page accounting (vmf_insert_pfn, remap_pfn_range)
    'swap', // swap entry: swpEntry(slot) (non-present)
    'migration', // migration entry: pfn being migrated (non-present)
    'devPrivate', // device-private entry (is_device_private_entry): the device page's pfn (non-present for the CPU)
    'gen', // ghost: page generation at install time
    // pte_protnone (x86 _PAGE_PROTNONE without _PAGE_PRESENT): the pte of a PROT_NONE VMA. Still
    // pte_present() for the kernel (rmap, zap, fork see the page mapped), but the MMU faults on
    // every access. On a migration entry it stands for vm_page_prot at remove_migration_pte.
    'protnone',
    // Layer dirty-accessed: _PAGE_DIRTY and _PAGE_ACCESSED (pte_dirty, pte_young). The MMU sets them
    // on an access (a locked update of the entry: the hardware's step writes them without the ptl);
    // software changes them under the ptl.
    'dirty',
    'young',
    // pmd_trans_huge (the thp layer, src/kernel/huge.ts): this slot lies under one PMD entry that
    // maps a whole large folio; every slot of the PMD holds what pmd_pfn(pmd) + i would give it.
    'huge',
  ] as const,
  {
    pfn: 'lock:mm.ptl',
    present: 'lock:mm.ptl',
    write: 'lock:mm.ptl',
    special: 'lock:mm.ptl',
    swap: 'lock:mm.ptl',
    migration: 'lock:mm.ptl',
    devPrivate: 'lock:mm.ptl',
    gen: 'ghost',
    protnone: 'lock:mm.ptl',
    dirty: 'lock:mm.ptl',
    young: 'lock:mm.ptl',
    huge: 'lock:mm.ptl',
  },
  { word: true, counters: { gen: PAGE_GEN } }, // one pte_t: ptep_get reads it whole
);

/** A vm_area_struct slot of one mm. */
export const VMA = defineStruct(
  'vma',
  [
    'used',
    'start', // first vpn
    'end', // one past the last vpn
    'flags', // VM_* bits (see flags.ts)
    'fault', // vm_ops->fault: routine ref (none = anonymous)
    'pfnMkwrite', // vm_ops->pfn_mkwrite: routine ref (none: a write upgrades the pte in place)
    'priv', // vm_private_data: ref to the driver's object
    'file', // vm_file: ref to the file (address_space), for unmap_mapping_range
    'pgoff', // vm_pgoff: file offset of `start`, in pages
  ] as const,
  {
    used: 'lock:mm.mmap_lock',
    start: 'lock:mm.mmap_lock',
    end: 'lock:mm.mmap_lock',
    flags: 'lock:mm.mmap_lock',
    fault: 'stable',
    pfnMkwrite: 'stable',
    priv: 'stable',
    file: 'stable',
    pgoff: 'lock:mm.mmap_lock',
  },
);

/** A swap slot: what reclaim wrote out. The slot map is the swap device's (si->lock); the data is written and read under the lock of the folio that caches it. */
export const SWAP = defineStruct(
  'swap',
  [
    'used',
    'contents',
    // ghost, layer dirty-accessed: 1 + the page's contents when reclaim dropped it from the swap
    // cache (the last write that completed before it), 0 for none: what a swap-in must read back.
    'latest',
  ] as const,
  { used: 'lock:swap_info.lock', contents: 'lock:folio', latest: 'ghost' },
);

/** A classic struct mmu_notifier on an mm's hlist; ops are routine refs. */
export const MN = defineStruct(
  'mmuNotifier',
  [
    'mm', // ref to the mm while registered
    'invalidateRangeStart',
    'invalidateRangeEnd',
    'release',
    'priv', // ref to the subscriber's own object
    // The aging ops (layer dirty-accessed: src/kernel/notifier/young.ts).
    'clearFlushYoung',
    'clearYoung',
    'testYoung',
  ] as const,
  // The hlist: linked and unlinked under subscriptions->lock, walked under SRCU (lockless reads).
  {
    mm: 'lock:mm.notifier_subscriptions.lock',
    invalidateRangeStart: 'stable',
    invalidateRangeEnd: 'stable',
    release: 'stable',
    priv: 'stable',
    clearFlushYoung: 'stable',
    clearYoung: 'stable',
    testYoung: 'stable',
  },
);

/** A struct mmu_interval_notifier. */
export const MIN = defineStruct(
  'intervalNotifier',
  [
    'mm', // ref to the mm once inserted (or deferred)
    'start', // first vpn
    'last', // last vpn (inclusive, as the kernel's interval tree)
    'seq', // invalidate_seq: always odd
    'state', // MIN_* below
    'invalidate', // ops->invalidate: routine ref
    'priv', // ref to the driver's object
  ] as const,
  { mm: 'stable', start: 'stable', last: 'stable', seq: 'lock:driver', state: 'lock:mm.notifier_subscriptions.lock', invalidate: 'stable', priv: 'stable' },
  { counters: { seq: INTERVAL_SEQ } },
);

export const MIN_UNUSED = 0;
/** In the interval tree. */
export const MIN_INSERTED = 1;
/** On deferred_list waiting to be inserted at the end of the epoch. */
export const MIN_DEFERRED_INSERT = 2;
/** In the tree, on deferred_list waiting to be removed at the end of the epoch. */
export const MIN_DEFERRED_REMOVE = 3;

/**
 * Per-actor kernel context (task_struct bits the model needs). The ghost fields are mutation
 * testing's (src/kernel/mutation-hooks.ts): what a mutant of the driver must remember across
 * steps; they stay 0 in every normal run.
 */
export const TASK = defineStruct(
  'task',
  [
    'inNotifier', // depth of invalidate callbacks running on this task (lockdep's invalidate_range_start_map)
    'skippedRead', // ghost: drop-lock skipped this task's down_read of the rwsem whose readers word is this slot + 1
    'deferredSub', // ghost: ref of the interval notifier whose mmu_interval_set_seq a mutant deferred
    'deferredSeq', // ghost: the cur_seq that deferred set_seq will write
    'deferredPhase', // ghost: DEFERRED_* of mutation-hooks.ts
    'readLocks', // rwsems this task holds for read (lockdep's held-lock list: the reader counts do not name their readers)
  ] as const,
  { inNotifier: 'private', skippedRead: 'ghost', deferredSub: 'ghost', deferredSeq: 'ghost', deferredPhase: 'ghost', readLocks: 'read-holds:mm.mmap_lock' },
  { counters: { deferredSeq: INTERVAL_SEQ } },
);

/** v5.3 struct hmm_mirror: a driver's mirror of an mm, with ops->sync_cpu_device_pagetables. */
export const HMM_MIRROR = defineStruct(
  'hmmMirror',
  [
    'mm', // ref to the mm while registered
    'sync', // ops->sync_cpu_device_pagetables: routine ref
    'release', // ops->release: routine ref
    'priv',
  ] as const,
  // mm is written by hmm_mirror_register/unregister under mirrors_sem, set-up actions in the model.
  { mm: 'stable', sync: 'stable', release: 'stable', priv: 'stable' },
);

/** v5.3 struct hmm_range (one page: the model's faults are per page). */
export const HMM_RANGE = defineStruct(
  'hmmRange',
  [
    'mm', // ref to the mm while registered (on hmm->ranges)
    'start', // vpn
    'end', // vpn, exclusive
    'valid', // range->valid
    'pfn', // range->pfns[0]: encoded hmm pfn (see hmm-pfn.ts), 0 = none
  ] as const,
  // mm (range->hmm, the link on hmm->ranges) is written only by the range's owner, in its
  // register/unregister steps under ranges_lock; invalidations read it under ranges_lock and the
  // owner reads its own writes: no reader can race a writer.
  { mm: 'stable', start: 'private', end: 'private', valid: 'lock:hmm.ranges_lock', pfn: 'private' },
);

/** A driver-side lock (mutex or spinlock) any layer may declare: its owner (w.self), 0 when free. */
export const LOCK = defineStruct('lock', ['owner'] as const, { owner: 'lock-word:driver' });
