/**
 * A guest memory access on a vCPU: through the EPT when the entry is present (and writable for a
 * store), else an EPT violation handled by kvm_tdp_page_fault, then the access is retried.
 *
 * Where memslots change at run time (the KVM has kvm->srcu: memslot.ts), the vCPU holds kvm->srcu
 * from the exit to the next entry (arch/x86/kvm/x86.c:vcpu_enter_guest: kvm_vcpu_srcu_read_unlock
 * before entering, _lock after the exit), so a memslot update's grace period waits for the fault.
 * A fault on a memslot being deleted or moved returns RET_PF_RETRY: the vCPU re-enters the guest
 * and exits again, which the model folds into one wait until the memslot is gone or moved.
 *
 * With guest TLBs (the `kvm-tlb` layer, tlb.ts) the access is three steps: the entry
 * (vcpu_enter_guest: KVM_REQ_TLB_FLUSH serviced, then IN_GUEST_MODE), the load or store through the
 * vCPU's TLB (a miss walks the EPT and fills the entry), and the exit (OUTSIDE_GUEST_MODE), after
 * which an EPT violation goes to the fault as above.
 */
import { PAGE } from '../kernel/structs.js';
import { gfnInInvalidMemslot, spte } from './topology.js';
import { KVM } from './structs.js';
import { deref, isNone } from '../kernel/ref.js';
import { srcuReadLock, srcuReadUnlock } from '../kernel/lifetime.js';
import { BLOCK_SPIN } from '../world/routine.js';
import { kvmTdpPageFault } from './fault.js';
import { KVM_LIB } from './library.js';
import { dirtyAccessed } from '../kernel/dirty.js';
import type { World } from '../world/world.js';
import { flushGuestTlb, gtlb, hasGuestTlb, IN_GUEST_MODE, KVM_REQ_TLB_FLUSH, OUTSIDE_GUEST_MODE, VCPU, vcpu, vcpuIndex } from './tlb.js';

/**
 * The CPU's EPT walk for a load or store of `value` (write) at `gfn`, and the access: the value
 * read or written, or undefined for an EPT violation (no entry, or a read-only one for a store).
 * With vCPU object `v` >= 0, the translation is cached in its TLB.
 */
function walkEpt(w: World, kvm: number, gfn: number, write: number, value: number, v: number): number | undefined {
  const e = spte(w, kvm, gfn);
  if (e.pfn === 0 || (write && !e.write)) return undefined;
  if (v >= 0) {
    const t = gtlb(w, v, gfn);
    t.pfn = e.pfn;
    t.write = e.write;
    t.gen = e.gen;
  }
  const page = w.obj(PAGE, e.pfn);
  if (dirtyAccessed(w)) {
    e.accessed = 1; // SDM vol. 3 §29.3.5: the walk sets accessed on any access, dirty on a write
    if (write) e.dirty = 1;
  }
  if (write) page.contents = value;
  return page.contents;
}

interface AccessLocals {
  kvm: number;
  gfn: number;
  write: number;
}

/** An EPT violation: exit to KVM's fault handler (taking kvm->srcu first where memslots change). */
function eptViolation(w: World, l: AccessLocals): string | number {
  if (!isNone(w.obj(KVM, l.kvm).srcu)) return 'exit';
  return w.call(kvmTdpPageFault, 'faulted', l.kvm, l.gfn, l.write);
}

/**
 * arch/x86/kvm/x86.c:vcpu_enter_guest, with guest TLBs: service KVM_REQ_TLB_FLUSH
 * (kvm_vcpu_flush_tlb_all), then vcpu->mode = IN_GUEST_MODE — one step (tlb.ts).
 */
function enterGuest(w: World, l: AccessLocals): string {
  const v = vcpuIndex(w, l.kvm, w.self - 1);
  const vc = w.obj(VCPU, v);
  if (vc.requests & KVM_REQ_TLB_FLUSH) {
    flushGuestTlb(w, v);
    vc.requests = vc.requests & ~KVM_REQ_TLB_FLUSH;
  }
  vc.mode = IN_GUEST_MODE;
  return 'guest';
}

export const guestAccess = KVM_LIB.routine({
  name: 'guest_access',
  params: ['kvm', 'gfn', 'write', 'value'],
  locals: ['srcuIdx', 'loaded', 'hit'],
  steps: {
    access: {
      at: 'hw: guest load/store through the EPT',
      // The CPU's EPT walk takes no lock: KVM's zaps flush the TLBs before the page can be freed.
      // One instruction: the translation and the load/store retire together (w.single), as a host
      // access through its pte does (cpu_access).
      // With the dirty-accessed layer the walk also sets the entry's accessed (and, for a store,
      // dirty) bit: a locked update of the entry (a hw step may write its lockless fields).
      lockless: ['spte.pfn', 'spte.write', 'spte.accessed', 'spte.dirty'],
      run: (w, l) => {
        if (hasGuestTlb(w)) return enterGuest(w, l);
        const value = w.single(() => walkEpt(w, l.kvm, l.gfn, l.write, l.value, -1));
        if (value !== undefined) return w.ret(value);
        return eptViolation(w, l);
      },
    },
    guest: {
      at: "hw: guest load/store through the vCPU's TLB, or on a miss through the EPT (filling the TLB)",
      lockless: ['spte.pfn', 'spte.write', 'page.contents', 'spte.accessed', 'spte.dirty'],
      run: (w, l) => {
        const v = vcpuIndex(w, l.kvm, w.self - 1);
        const t = gtlb(w, v, l.gfn);
        if (t.pfn !== 0 && (!l.write || t.write)) {
          // A hit: the pfn the TLB cached, whatever the EPT says now.
          const page = w.obj(PAGE, t.pfn);
          if (l.write) page.contents = l.value;
          l.loaded = page.contents;
          l.hit = 1;
          return 'vmexit';
        }
        // A miss (or too little permission: the CPU drops the entry and walks again).
        t.pfn = 0;
        t.write = 0;
        t.gen = 0;
        const value = w.single(() => walkEpt(w, l.kvm, l.gfn, l.write, l.value, v));
        if (value !== undefined) {
          l.loaded = value;
          l.hit = 1;
        }
        return 'vmexit';
      },
    },
    vmexit: {
      at: 'arch/x86/kvm/x86.c:vcpu_enter_guest after the VM exit: vcpu->mode = OUTSIDE_GUEST_MODE',
      run: (w, l) => {
        vcpu(w, l.kvm, w.self - 1).mode = OUTSIDE_GUEST_MODE;
        if (!l.hit) return eptViolation(w, l); // handle_ept_violation
        const value = l.loaded;
        l.loaded = 0;
        l.hit = 0;
        return w.ret(value);
      },
    },
    exit: {
      at: 'arch/x86/kvm/x86.c:vcpu_enter_guest kvm_vcpu_srcu_read_lock (after the VM exit)',
      run: (w, l) => {
        const kvm = w.obj(KVM, l.kvm);
        if (gfnInInvalidMemslot(w, l.kvm, l.gfn)) return BLOCK_SPIN; // exits, retries, re-enters
        l.srcuIdx = srcuReadLock(w, deref(kvm.srcu, 'kvm.srcu')) + 1;
        return w.call(kvmTdpPageFault, 'faulted', l.kvm, l.gfn, l.write);
      },
    },
    faulted: {
      at: 'arch/x86/kvm/vmx/vmx.c:handle_ept_violation (then vcpu_enter_guest kvm_vcpu_srcu_read_unlock)',
      run: (w, l) => {
        if (l.srcuIdx) {
          srcuReadUnlock(w, deref(w.obj(KVM, l.kvm).srcu, 'kvm.srcu'), l.srcuIdx - 1);
          l.srcuIdx = 0;
        }
        if (l.result < 0) return w.ret(l.result);
        l.result = 0; // done, or RET_PF_RETRY: the access runs again
        return 'access';
      },
    },
  },
});
