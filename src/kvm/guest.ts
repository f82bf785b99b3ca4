/**
 * A guest memory access on a vCPU: through the EPT when the entry is present (and writable for a
 * store), else an EPT violation handled by kvm_tdp_page_fault, then the access is retried.
 *
 * Where memslots change at run time (the KVM has kvm->srcu: memslot.ts), the vCPU holds kvm->srcu
 * from the exit to the next entry (arch/x86/kvm/x86.c:vcpu_enter_guest: kvm_vcpu_srcu_read_unlock
 * before entering, _lock after the exit), so a memslot update's grace period waits for the fault.
 * A fault on a memslot being deleted or moved returns RET_PF_RETRY: the vCPU re-enters the guest
 * and exits again, which the model folds into one wait until the memslot is gone or moved.
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

export const guestAccess = KVM_LIB.routine({
  name: 'guest_access',
  params: ['kvm', 'gfn', 'write', 'value'],
  locals: ['srcuIdx'],
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
        const value = w.single(() => {
          const e = spte(w, l.kvm, l.gfn);
          if (e.pfn === 0 || (l.write && !e.write)) return undefined; // an EPT violation
          const page = w.obj(PAGE, e.pfn);
          if (dirtyAccessed(w)) {
            e.accessed = 1; // SDM vol. 3 §29.3.5: accessed on any access, dirty on a write
            if (l.write) e.dirty = 1;
          }
          if (l.write) page.contents = l.value;
          return page.contents;
        });
        if (value !== undefined) return w.ret(value);
        if (!isNone(w.obj(KVM, l.kvm).srcu)) return 'exit';
        return w.call(kvmTdpPageFault, 'faulted', l.kvm, l.gfn, l.write);
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
