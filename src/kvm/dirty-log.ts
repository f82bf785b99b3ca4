/**
 * Dirty logging (virt/kvm/kvm_main.c, arch/x86/kvm/mmu, v6.x, a host without PML: enable_pml=0,
 * so KVM write-protects sptes rather than clearing their dirty bits): KVM_SET_USER_MEMORY_REGION
 * changing a memslot's flags at run time (KVM_MR_FLAGS_ONLY), and KVM_GET_DIRTY_LOG.
 *
 * - A write fault on a memslot with KVM_MEM_LOG_DIRTY_PAGES marks the gfn in the memslot's dirty
 *   bitmap before installing a writable spte (arch/x86/kvm/mmu/spte.c:make_spte →
 *   mark_page_dirty_in_slot, under mmu_lock for read), so a writable spte of a logged memslot is
 *   always one whose gfn was marked since the last harvest.
 * - Enabling logging publishes the memslot with the flag (kvm_swap_active_memslots, after the
 *   vCPUs' srcu grace period: no fault still sees the old flags), then write-protects its sptes
 *   (kvm_commit_memory_region → x86.c:kvm_mmu_slot_apply_flags → mmu.c:
 *   kvm_mmu_slot_remove_write_access: read_lock(mmu_lock), tdp_mmu.c:kvm_tdp_mmu_wrprot_slot with
 *   tdp_mmu_set_spte_atomic per spte, read_unlock) and flushes the remote TLBs if it changed one
 *   (kvm_flush_remote_tlbs_memslot, after the unlock). Disabling it publishes the memslot without
 *   the flag and frees the bitmap (kvm_destroy_dirty_bitmap); recovering huge pages
 *   (kvm_mmu_zap_collapsible_sptes) has nothing to do on 4 KiB sptes. KVM_MEM_READONLY cannot be
 *   toggled (kvm_set_memory_region: -EINVAL).
 * - KVM_GET_DIRTY_LOG (kvm_get_dirty_log_protect): under mmu_lock for write, xchg the bitmap word
 *   with 0 and write-protect the sptes of the bits it held
 *   (kvm_arch_mmu_enable_log_dirty_pt_masked → kvm_tdp_mmu_clear_dirty_pt_masked, wrprot), unlock,
 *   then flush the remote TLBs before returning: "Between 2 and 4, the guest may write to the page
 *   using the remaining TLB entry. This is not a problem because the page is reported dirty using
 *   the snapshot taken before and step 4 ensures that writes done after exiting to userspace will be
 *   logged for the next call."
 *
 * The property (dirty_log_test's invariant, `dirty-log` in properties.ts): a gfn of a logged
 * memslot that the guest could write now (a writable spte, or a writable entry of a vCPU's TLB that
 * it may still use) is marked — except while an operation that write-protects owes its flush
 * (`kvm.protectOwed`): its own ioctl has not returned, and the write is in its snapshot.
 *
 * The model: one bitmap word per memslot object (bit i: gfn baseGfn + i; a model's memslot has at
 * most 32 pages), an atomic word as the C's unsigned long (set_bit_le, xchg). KVM_CLEAR_DIRTY_LOG
 * (manual protect), KVM_DIRTY_LOG_INITIALLY_SET, the dirty ring and PML are not modelled.
 */
import type { World } from '../world/world.js';
import { defineStruct } from '../world/layout.js';
import { EINVAL, ENOENT } from '../kernel/flags.js';
import { readLock, readUnlock, writeLock, writeUnlock } from '../kernel/locks.js';
import { refersTo } from '../kernel/ref.js';
import { KVM, KVM_MEM_LOG_DIRTY_PAGES, MEMSLOT } from './structs.js';
import { gfnToMemslot, kvmMmuLock, spte } from './topology.js';
import { kvmSwapActiveMemslots } from './memslot.js';
import { guestTlbName, hasGuestTlb, kvmFlushRemoteTlbs, owePermissionFlush, writableGuestTlbEntry } from './tlb.js';
import { KVM_LIB } from './library.js';

/** memslot->dirty_bitmap, one word per memslot object (declared where memslots change at run time). */
export const DIRTY_BITMAP = defineStruct('dirtyBitmap', ['bitmap'] as const, { bitmap: 'atomic' });

/** The memslot object `slot` logs dirty pages. */
export function logsDirtyPages(w: World, slot: number): boolean {
  return slot >= 0 && (w.obj(MEMSLOT, slot).flags & KVM_MEM_LOG_DIRTY_PAGES) !== 0;
}

/** Whether `gfn` is marked in the dirty bitmap of memslot object `slot`. */
export function gfnMarkedDirty(w: World, slot: number, gfn: number): boolean {
  return (w.obj(DIRTY_BITMAP, slot).bitmap & (1 << (gfn - w.obj(MEMSLOT, slot).baseGfn))) !== 0;
}

/**
 * virt/kvm/kvm_main.c:mark_page_dirty_in_slot, from make_spte when it makes a writable spte: sets
 * the gfn's bit if its memslot logs dirty pages (set_bit_le: one atomic access).
 */
export function markPageDirtyInSlot(w: World, kvm: number, gfn: number): void {
  const slot = gfnToMemslot(w, kvm, gfn);
  if (!logsDirtyPages(w, slot)) return;
  const d = w.obj(DIRTY_BITMAP, slot);
  d.bitmap = d.bitmap | (1 << (gfn - w.obj(MEMSLOT, slot).baseGfn));
}

/**
 * KVM_SET_USER_MEMORY_REGION with the same gfns and hvas and KVM_MEM_LOG_DIRTY_PAGES set (`enable`
 * 1) or cleared (0) on the memslot covering `gfn`: 0, or -EINVAL (no memslot covers it).
 */
export const kvmSetMemslotFlags = KVM_LIB.routine({
  name: 'kvm_update_flags_memslot',
  params: ['kvm', 'gfn', 'enable'],
  locals: ['slot', 'g', 'flush'],
  steps: {
    flags: {
      at: 'virt/kvm/kvm_main.c:kvm_set_memory_region (KVM_MR_FLAGS_ONLY) → kvm_set_memslot → kvm_update_flags_memslot (kvm_swap_active_memslots)',
      run: (w, l) => {
        l.slot = gfnToMemslot(w, l.kvm, l.gfn);
        if (l.slot < 0) return w.ret(-EINVAL);
        const s = w.obj(MEMSLOT, l.slot);
        const flags = l.enable ? s.flags | KVM_MEM_LOG_DIRTY_PAGES : s.flags & ~KVM_MEM_LOG_DIRTY_PAGES;
        // Until the write-protect below has flushed, writable sptes of the now-logged memslot are unmarked: the ioctl has not returned.
        if (l.enable) owePermissionFlush(w, l.kvm);
        return w.call(kvmSwapActiveMemslots, 'commit', l.kvm, l.slot, s.baseGfn, s.npages, s.hva, flags);
      },
    },
    commit: {
      at: 'virt/kvm/kvm_main.c:kvm_commit_memory_region → arch/x86/kvm/x86.c:kvm_mmu_slot_apply_flags',
      run: (w, l) => {
        if (l.enable) return 'wrprotLock';
        // Disabling: kvm_destroy_dirty_bitmap(old); kvm_mmu_zap_collapsible_sptes has no huge page to recover.
        const d = w.obj(DIRTY_BITMAP, l.slot);
        d.bitmap = 0;
        return done(w, l);
      },
    },
    wrprotLock: {
      at: 'arch/x86/kvm/mmu/mmu.c:kvm_mmu_slot_remove_write_access read_lock(&kvm->mmu_lock)',
      run: (w, l) => {
        const b = readLock(w, kvmMmuLock(w, l.kvm));
        if (b) return b;
        l.g = w.obj(MEMSLOT, l.slot).baseGfn;
        return 'wrprot';
      },
    },
    wrprot: {
      at: 'arch/x86/kvm/mmu/tdp_mmu.c:wrprot_gfn_range (tdp_mmu_set_spte_atomic(iter, iter.old_spte & ~PT_WRITABLE_MASK), one spte)',
      run: (w, l) => {
        const s = w.obj(MEMSLOT, l.slot);
        if (l.g >= s.baseGfn + s.npages) {
          readUnlock(w, kvmMmuLock(w, l.kvm));
          return 'flush';
        }
        // The cmpxchg loop of one spte: an atomic read-modify-write of the word.
        const e = spte(w, l.kvm, l.g);
        if (e.pfn !== 0 && e.write) {
          e.write = 0;
          l.flush = 1;
        }
        l.g++;
        return 'wrprot';
      },
    },
    flush: {
      at: 'arch/x86/kvm/mmu/mmu.c:kvm_mmu_slot_remove_write_access if (flush) kvm_flush_remote_tlbs_memslot(kvm, memslot)',
      // The enable's debt (taken before the swap) is paid by this flush, or now if none is needed.
      run: (w, l) => flushMemslot(w, l.kvm, true, l.flush !== 0, 'done'),
    },
    done: {
      at: 'virt/kvm/kvm_main.c:kvm_set_memslot',
      run: (w, l) => done(w, l),
    },
  },
});

/** The end of kvm_update_flags_memslot: its locals dead, 0 returned. */
function done(w: World, l: { slot: number; g: number; flush: number }): number {
  l.slot = 0;
  l.g = 0;
  l.flush = 0;
  return w.ret(0);
}

/**
 * kvm_flush_remote_tlbs_memslot after a write-protect, then `next`: with guest TLBs and an spte
 * write-protected (`flush`), the flush pays the operation's debt (`owes`: owePermissionFlush);
 * otherwise the write-protect was the whole of it, and the debt is paid at once.
 */
function flushMemslot(w: World, kvm: number, owes: boolean, flush: boolean, next: string): string | number {
  if (flush && hasGuestTlb(w)) return w.call(kvmFlushRemoteTlbs, next, kvm);
  if (owes) {
    const k = w.obj(KVM, kvm);
    k.protectOwed = k.protectOwed - 1;
  }
  return next;
}

/**
 * virt/kvm/kvm_main.c:kvm_get_dirty_log_protect (KVM_GET_DIRTY_LOG) of the memslot covering `gfn`:
 * the bitmap harvested (bit i: gfn baseGfn + i), or -ENOENT (the memslot does not log), -EINVAL.
 */
export const kvmGetDirtyLog = KVM_LIB.routine({
  name: 'kvm_get_dirty_log_protect',
  params: ['kvm', 'gfn'],
  locals: ['slot', 'mask', 'flush'],
  steps: {
    lock: {
      at: 'virt/kvm/kvm_main.c:kvm_get_dirty_log_protect KVM_MMU_LOCK(kvm) = write_lock(&kvm->mmu_lock)',
      run: (w, l) => {
        const slot = gfnToMemslot(w, l.kvm, l.gfn);
        if (slot < 0) return w.ret(-EINVAL);
        if (!logsDirtyPages(w, slot)) return w.ret(-ENOENT); // no dirty_bitmap
        // A step that blocks must not have written anything: the slot is kept only once the lock is taken.
        const b = writeLock(w, kvmMmuLock(w, l.kvm));
        if (b) return b;
        l.slot = slot;
        return 'harvest';
      },
    },
    harvest: {
      at: 'virt/kvm/kvm_main.c:kvm_get_dirty_log_protect mask = xchg(&dirty_bitmap[i], 0); kvm_arch_mmu_enable_log_dirty_pt_masked (kvm_tdp_mmu_clear_dirty_pt_masked, wrprot); KVM_MMU_UNLOCK',
      run: (w, l) => {
        const d = w.obj(DIRTY_BITMAP, l.slot);
        l.mask = d.bitmap;
        d.bitmap = 0;
        const s = w.obj(MEMSLOT, l.slot);
        for (let i = 0; i < s.npages; i++) {
          if (!(l.mask & (1 << i))) continue;
          const e = spte(w, l.kvm, s.baseGfn + i);
          if (e.pfn !== 0 && e.write) {
            e.write = 0;
            if (!l.flush) owePermissionFlush(w, l.kvm);
            l.flush = 1;
          }
        }
        writeUnlock(w, kvmMmuLock(w, l.kvm));
        return 'flush';
      },
    },
    flush: {
      at: 'virt/kvm/kvm_main.c:kvm_get_dirty_log_protect if (flush) kvm_flush_remote_tlbs_memslot(kvm, memslot)',
      run: (w, l) => flushMemslot(w, l.kvm, l.flush !== 0, l.flush !== 0, 'done'),
    },
    done: {
      at: 'virt/kvm/kvm_main.c:kvm_get_dirty_log_protect copy_to_user(log->dirty_bitmap, dirty_bitmap_buffer, n)',
      run: (w, l) => {
        const mask = l.mask;
        l.slot = 0;
        l.mask = 0;
        l.flush = 0;
        return w.ret(mask);
      },
    },
  },
});

/** Calls `f` for every memslot object `slot` of KVM `kvm` that logs dirty pages, with each of its gfns. */
export function forEachLoggedGfn(w: World, kvm: number, f: (w: World, kvm: number, slot: number, gfn: number) => string | undefined): string | undefined {
  if (!w.layout.has(DIRTY_BITMAP)) return undefined;
  for (let i = 0; i < w.count(MEMSLOT); i++) {
    const s = w.obj(MEMSLOT, i);
    if (!refersTo(s.kvm, kvm) || !(s.flags & KVM_MEM_LOG_DIRTY_PAGES)) continue;
    for (let g = s.baseGfn; g < s.baseGfn + s.npages; g++) {
      const msg = f(w, kvm, i, g);
      if (msg) return msg;
    }
  }
  return undefined;
}

/**
 * The dirty-log invariant (tools/testing/selftests/kvm/dirty_log_test.c: every page the guest wrote
 * since the last harvest is in the next one): a gfn of a logged memslot that the guest could write
 * now without a fault — through a writable spte, or a writable entry of a vCPU TLB it may still
 * use — is marked dirty, unless an operation that write-protects owes its flush. Undefined if so.
 */
export function unloggedWritableGfn(w: World): string | undefined {
  if (!w.layout.has(DIRTY_BITMAP)) return undefined;
  for (let k = 0; k < w.count(KVM); k++) {
    if (w.obj(KVM, k).protectOwed !== 0) continue;
    const msg = forEachLoggedGfn(w, k, writableUnmarked);
    if (msg) return msg;
  }
  return undefined;
}

function writableUnmarked(w: World, k: number, slot: number, gfn: number): string | undefined {
  if (gfnMarkedDirty(w, slot, gfn)) return undefined;
  const kvmName = w.layout.objectName(w.layout.region(KVM), k);
  const unlogged = `gfn${gfn} is not marked in its memslot's dirty bitmap: a guest write to it would not be logged`;
  if (spte(w, k, gfn).write) return `EPT ${kvmName}:gfn${gfn} is writable but ${unlogged}`;
  const v = writableGuestTlbEntry(w, k, gfn);
  return v < 0 ? undefined : `${guestTlbName(w, v, gfn)} is writable but ${unlogged}`;
}
