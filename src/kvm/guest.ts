/**
 * A guest memory access on a vCPU: through the EPT when the entry is present (and writable for a
 * store), else an EPT violation handled by kvm_tdp_page_fault, then the access is retried.
 */
import { PAGE } from '../kernel/structs.js';
import { spte } from './topology.js';
import { kvmTdpPageFault } from './fault.js';
import { KVM_LIB } from './library.js';

export const guestAccess = KVM_LIB.routine({
  name: 'guest_access',
  params: ['kvm', 'gfn', 'write', 'value'],
  steps: {
    access: {
      at: 'hw: guest load/store through the EPT',
      // The CPU's EPT walk takes no lock: KVM's zaps flush the TLBs before the page can be freed.
      // One instruction: the translation and the load/store retire together (w.single), as a host
      // access through its pte does (cpu_access).
      lockless: ['spte.pfn', 'spte.write'],
      run: (w, l) => {
        const value = w.single(() => {
          const e = spte(w, l.kvm, l.gfn);
          if (e.pfn === 0 || (l.write && !e.write)) return undefined; // an EPT violation
          const page = w.obj(PAGE, e.pfn);
          if (l.write) page.contents = l.value;
          return page.contents;
        });
        if (value !== undefined) return w.ret(value);
        return w.call(kvmTdpPageFault, 'faulted', l.kvm, l.gfn, l.write);
      },
    },
    faulted: {
      at: 'arch/x86/kvm/vmx/vmx.c:handle_ept_violation',
      run: (w, l) => {
        if (l.result < 0) return w.ret(l.result);
        l.result = 0;
        return 'access';
      },
    },
  },
});
