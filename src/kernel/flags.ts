/** Constants with the kernel's names: VMA flags, notifier events, errnos, fault results. */

// include/linux/mm.h
export const VM_READ = 1 << 0;
export const VM_WRITE = 1 << 1;
export const VM_SHARED = 1 << 3;
export const VM_PFNMAP = 1 << 10;
export const VM_IO = 1 << 14;
export const VM_DONTCOPY = 1 << 17;
export const VM_DONTEXPAND = 1 << 18;
export const VM_MIXEDMAP = 1 << 28;
export const VM_DONTDUMP = 1 << 26;
export const VM_WIPEONFORK = 1 << 25;
export const VM_HUGETLB = 1 << 22;
/**
 * Model-only: the VMA's vm_ops->may_split refuses every split (returns -EINVAL), as a driver that
 * maps one object per VMA does (drivers/dax/device.c:dev_dax_may_split refuses unaligned ones):
 * munmap or mprotect of part of it fails instead of leaving the driver a VMA it does not know.
 */
export const VM_NO_SPLIT = 1 << 29;
/** Model-only: the VMA is anonymous (vma_is_anonymous: no vm_ops). */
export const VM_ANON = 1 << 30;

export const VM_SPECIAL = VM_IO | VM_DONTEXPAND | VM_PFNMAP | VM_MIXEDMAP;

// include/linux/gfp_types.h: the one distinction the model needs, whether an allocation may enter
// direct reclaim (__GFP_DIRECT_RECLAIM), which lockdep annotates (fs_reclaim_acquire).
export const GFP_DIRECT_RECLAIM = 1 << 10;
/** May sleep and enter direct reclaim. */
export const GFP_KERNEL = GFP_DIRECT_RECLAIM;
/** Never enters direct reclaim (GFP_NOWAIT, GFP_ATOMIC; compaction's free-page isolation). */
export const GFP_NOWAIT = 0;

export const VM_FLAG_NAMES: readonly [number, string][] = [
  [VM_READ, 'READ'],
  [VM_WRITE, 'WRITE'],
  [VM_SHARED, 'SHARED'],
  [VM_PFNMAP, 'PFNMAP'],
  [VM_IO, 'IO'],
  [VM_DONTCOPY, 'DONTCOPY'],
  [VM_DONTEXPAND, 'DONTEXPAND'],
  [VM_MIXEDMAP, 'MIXEDMAP'],
  [VM_DONTDUMP, 'DONTDUMP'],
  [VM_WIPEONFORK, 'WIPEONFORK'],
  [VM_HUGETLB, 'HUGETLB'],
  [VM_NO_SPLIT, 'NO_SPLIT'],
  [VM_ANON, 'ANON'],
];

export function vmFlagsToString(flags: number): string {
  return (
    VM_FLAG_NAMES.filter(([bit]) => flags & bit)
      .map(([, n]) => n)
      .join('|') || '0'
  );
}

// include/uapi/asm-generic/mman-common.h: mmap and mprotect's prot
export const PROT_NONE = 0x0;
export const PROT_READ = 0x1;
export const PROT_WRITE = 0x2;

/** include/linux/mman.h:calc_vm_prot_bits — the VM_* access bits of a prot (no PROT_EXEC, no pkeys in the model). */
export function calcVmProtBits(prot: number): number {
  return (prot & PROT_READ ? VM_READ : 0) | (prot & PROT_WRITE ? VM_WRITE : 0);
}

/**
 * Whether vm_get_page_prot(flags) is PAGE_NONE (mm/mmap.c protection_map[]: no VM_READ, VM_WRITE or
 * VM_EXEC, which the model lacks): the ptes of such a VMA are protnone.
 */
export function vmPageProtNone(flags: number): boolean {
  return (flags & (VM_READ | VM_WRITE)) === 0;
}

/** is_cow_mapping(): private and may be written. */
export function isCowMapping(flags: number): boolean {
  return (flags & (VM_SHARED | VM_WRITE)) === VM_WRITE;
}

// include/linux/mmu_notifier.h: enum mmu_notifier_event
export const MMU_NOTIFY_UNMAP = 0;
export const MMU_NOTIFY_CLEAR = 1;
export const MMU_NOTIFY_PROTECTION_VMA = 2;
export const MMU_NOTIFY_PROTECTION_PAGE = 3;
export const MMU_NOTIFY_SOFT_DIRTY = 4;
export const MMU_NOTIFY_RELEASE = 5;
export const MMU_NOTIFY_MIGRATE = 6;
export const MMU_NOTIFY_EXCLUSIVE = 7;

export const EVENT_NAMES = ['UNMAP', 'CLEAR', 'PROTECTION_VMA', 'PROTECTION_PAGE', 'SOFT_DIRTY', 'RELEASE', 'MIGRATE', 'EXCLUSIVE'] as const;

// include/uapi/asm-generic/errno-base.h
export const ENOENT = 2;
export const EFAULT = 14;
export const EBUSY = 16;
export const EEXIST = 17;
export const EINVAL = 22;
export const ENOMEM = 12;
export const EAGAIN = 11;
export const EPERM = 1;
export const ESRCH = 3;
export const EOPNOTSUPP = 95;

// include/linux/mm_types.h: vm_fault_t
export const VM_FAULT_OOM = 0x1;
export const VM_FAULT_SIGBUS = 0x2;
export const VM_FAULT_NOPAGE = 0x100;
export const VM_FAULT_RETRY = 0x400;
/** A fault that completed with the pte installed (VM_FAULT_NOPAGE / 0 both mean "done"). */
export const VM_FAULT_DONE = 0;

/** The end of the address space as a vpn range bound (ULONG_MAX in the kernel). */
export const VPN_MAX = 0x7fffffff;

// include/linux/mm_types.h: gup_flags (FOLL_WRITE is 0x01, so a `write` of 0/1 is a gup_flags word)
export const FOLL_WRITE = 0x01;
export const FOLL_LONGTERM = 1 << 8;
export const FOLL_PIN = 1 << 16; // mm/internal.h: 1 << (__NR_FOLL + 3)
/** include/linux/mm.h: what one FOLL_PIN adds to a small folio's refcount (folio_maybe_dma_pinned). */
export const GUP_PIN_COUNTING_BIAS = 1 << 10;

// include/linux/mm_types.h: enum fault_flag (FAULT_FLAG_WRITE is 0x01, so a `write` of 0/1 is a flags word)
export const FAULT_FLAG_WRITE = 0x01;
/** Break COW of a read-only mapped anon page so that a R/O FOLL_PIN stays coherent (gup_must_unshare). */
export const FAULT_FLAG_UNSHARE = 1 << 10;
