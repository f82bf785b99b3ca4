/**
 * The kernel objects of the model, as flat structs (see src/world/layout.ts). Names follow the
 * kernel's (camelCased); every field is an int32. Conventions:
 *   - a pfn is the index of a `page` object; pfn 0 is never allocated and means "no page";
 *   - an mm, VMA, subscription or actor reference is stored as index + 1 (0 = none);
 *   - a routine reference (an ops pointer such as vm_ops->fault) is stored as routine id + 1;
 *   - addresses are page numbers (vpn) inside one mm's address space.
 */
import { defineStruct } from '../world/layout.js';

/** A physical page frame (struct page / folio). `gen` counts allocations, so a mapping that
 *  remembers the generation it was made with can tell a reused frame from the page it mapped. */
export const PAGE = defineStruct('page', [
  'refcount', // folio_ref_count
  'mapcount', // folio_mapcount: number of normal ptes mapping it
  'free', // 1 while on the free list (never allocated, or freed)
  'gen', // allocation generation (0 = never allocated)
  'contents', // what was written last
  'locked', // folio lock owner (actor + 1), 0 = unlocked
  'anon', // folio_test_anon
  'anonVma', // page->mapping for anon pages: anon_vma root id + 1
  'index', // page->index: the vpn the anon page lives at (for rmap)
  'swap', // swap slot + 1 while in the swap cache
] as const);

/** An mm_struct with its locks and its notifier subscriptions header. */
export const MM = defineStruct('mm', [
  'users', // mm_users (mmget / mmput)
  'count', // mm_count (mmgrab / mmdrop)
  'mmapWriter', // mmap_lock: writer (actor + 1)
  'mmapReaders', // mmap_lock: number of readers
  'ptl', // page-table lock owner (actor + 1); one split lock stands for all of the mm's
  'anonVma', // id + 1 of the anon_vma root shared with fork relatives (rmap family)
  'hasNotifiers', // mm->notifier_subscriptions allocated
  'hasItree', // subscriptions->has_itree
  'invalidateSeq', // subscriptions->invalidate_seq (S): even when idle, odd while fully excluded
  'activeInvalidateRanges', // subscriptions->active_invalidate_ranges (A)
  'hmmNotifiers', // v5.3 struct hmm: hmm->notifiers
  'hmm', // v5.3: an hmm is registered on this mm (hmm_mirror_register)
] as const);

/** One page-table entry of one mm. `gen` is ghost state: the page's generation when it was mapped. */
export const PTE = defineStruct('pte', [
  'pfn', // page frame (0 = none)
  'present',
  'write',
  'special', // pte_special: no struct page accounting (vmf_insert_pfn, remap_pfn_range)
  'swap', // swap entry: swap slot + 1 (non-present)
  'migration', // migration entry: pfn being migrated (non-present)
  'gen', // ghost: page generation at install time
] as const);

/** A vm_area_struct slot of one mm. */
export const VMA = defineStruct('vma', [
  'used',
  'start', // first vpn
  'end', // one past the last vpn
  'flags', // VM_* bits (see flags.ts)
  'fault', // vm_ops->fault: routine id + 1 (0 = anonymous)
  'pfnMkwrite', // vm_ops->pfn_mkwrite: routine id + 1 (0 = none: a write upgrades the pte in place)
  'priv', // vm_private_data: driver's object index + 1
  'file', // vm_file: file (address_space) id + 1, for unmap_mapping_range
  'pgoff', // vm_pgoff: file offset of `start`, in pages
] as const);

/** A swap slot: what reclaim wrote out. */
export const SWAP = defineStruct('swap', ['used', 'contents'] as const);

/** A classic struct mmu_notifier on an mm's hlist; ops are routine ids + 1. */
export const MN = defineStruct('mmuNotifier', [
  'mm', // mm + 1 while registered
  'invalidateRangeStart',
  'invalidateRangeEnd',
  'release',
  'priv', // the subscriber's own object index + 1
] as const);

/** A struct mmu_interval_notifier. */
export const MIN = defineStruct('intervalNotifier', [
  'mm', // mm + 1 once inserted (or deferred)
  'start', // first vpn
  'last', // last vpn (inclusive, as the kernel's interval tree)
  'seq', // invalidate_seq: always odd
  'state', // MIN_* below
  'invalidate', // ops->invalidate: routine id + 1
  'priv', // the driver's object index + 1
] as const);

export const MIN_UNUSED = 0;
/** In the interval tree. */
export const MIN_INSERTED = 1;
/** On deferred_list waiting to be inserted at the end of the epoch. */
export const MIN_DEFERRED_INSERT = 2;
/** In the tree, on deferred_list waiting to be removed at the end of the epoch. */
export const MIN_DEFERRED_REMOVE = 3;

/** Per-actor kernel context (task_struct bits the model needs). */
export const TASK = defineStruct('task', [
  'inNotifier', // depth of invalidate callbacks running on this task (lockdep's invalidate_range_start_map)
] as const);

/** v5.3 struct hmm_mirror: a driver's mirror of an mm, with ops->sync_cpu_device_pagetables. */
export const HMM_MIRROR = defineStruct('hmmMirror', [
  'mm', // mm + 1 while registered
  'sync', // ops->sync_cpu_device_pagetables: routine id + 1
  'release', // ops->release: routine id + 1
  'priv',
] as const);

/** v5.3 struct hmm_range (one page: the model's faults are per page). */
export const HMM_RANGE = defineStruct('hmmRange', [
  'mm', // mm + 1 while registered (on hmm->ranges)
  'start', // vpn
  'end', // vpn, exclusive
  'valid', // range->valid
  'pfn', // range->pfns[0]: encoded hmm pfn (see hmm-pfn.ts), 0 = none
] as const);

/** A driver-side lock (mutex or spinlock) any layer may declare: owner actor + 1. */
export const LOCK = defineStruct('lock', ['owner'] as const);
