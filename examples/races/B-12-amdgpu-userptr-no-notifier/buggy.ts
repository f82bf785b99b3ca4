/**
 * B-12, buggy: an amdgpu userptr created without AMDGPU_GEM_USERPTR_REGISTER before 631945e04e1e.
 * Its .mmap (the userptr ioctl) skips amdgpu_mn_register(), so no notifier covers the range; the
 * validate path reads the CPU page table and maps the page into the device's table holding no
 * page reference. (The model's hmm_range_fault takes its mm from an inserted interval notifier,
 * so the driver reads the pte itself under the page-table lock: what the walk would return.)
 * Nobody tells the device when the CPU mapping goes away.
 */
import { defineDriver, Library, KERNEL, MIRROR, deviceOfVma, mirrorToSource, deref } from 'vmamirror';
import { downReadTrylock, mmapLock, ptl, spinLock, spinUnlock, upRead, vmaMm, pte } from 'vmamirror';
import { insertPfnBusy, vmfInsertPfnProt, mmgetNotZero, mmput } from 'vmamirror';
import { VM_DONTCOPY, VM_DONTDUMP, VM_FAULT_NOPAGE, VM_FAULT_RETRY, VM_FAULT_SIGBUS, VM_IO, VM_PFNMAP, VM_READ, VM_SHARED } from 'vmamirror';

const lib = new Library('b12-buggy', [KERNEL], { kind: 'driver', sources: ['amdgpu'] });

const fault = lib.routine({
  name: 'userptr_fault',
  params: ['vma', 'vpn', 'write'],
  locals: ['src', 'srcVpn', 'pfn'],
  steps: {
    mmget: {
      at: 'amdgpu: mmget_not_zero(userptr mm)',
      run: (w, l) => {
        l.src = deref(w.obj(MIRROR, deviceOfVma(w, l.vma)).srcMm, 'mirror.srcMm');
        l.srcVpn = mirrorToSource(w, l.vma, l.vpn);
        return mmgetNotZero(w, l.src) ? 'lockSource' : w.ret(VM_FAULT_SIGBUS);
      },
    },
    lockSource: {
      at: 'amdgpu: mmap_read_trylock(userptr mm)',
      run: (w, l) => {
        if (downReadTrylock(w, mmapLock(w, l.src))) return 'walk';
        upRead(w, mmapLock(w, vmaMm(w, l.vma)));
        return w.call(mmput, 'retry', l.src);
      },
    },
    retry: { at: 'amdgpu: return VM_FAULT_RETRY', run: (w) => w.ret(VM_FAULT_RETRY) },
    walk: {
      at: 'amdgpu: amdgpu_ttm_tt_get_user_pages (the pte, under its lock; no page reference)',
      run: (w, l) => {
        const lock = ptl(w, l.src);
        const b = spinLock(w, lock);
        if (b) return b;
        const p = pte(w, l.src, l.srcVpn);
        l.pfn = p.present ? p.pfn : 0;
        spinUnlock(w, lock);
        return 'map';
      },
    },
    map: {
      at: 'amdgpu: amdgpu_ttm_backend_bind (the GPU page table)',
      run: (w, l) => {
        if (l.pfn === 0) {
          upRead(w, mmapLock(w, l.src));
          return w.call(mmput, 'sigbus', l.src);
        }
        const b = insertPfnBusy(w, l.vma);
        if (b) return b;
        vmfInsertPfnProt(w, l.vma, l.vpn, l.pfn, false);
        upRead(w, mmapLock(w, l.src));
        return w.call(mmput, 'done', l.src);
      },
    },
    sigbus: { at: 'amdgpu: return VM_FAULT_SIGBUS', run: (w) => w.ret(VM_FAULT_SIGBUS) },
    done: { at: 'amdgpu: return VM_FAULT_NOPAGE', run: (w) => w.ret(VM_FAULT_NOPAGE) },
  },
});

export default defineDriver({
  name: 'b12-buggy',
  summary: 'amdgpu userptr, B-12: no MMU notifier registered (the REGISTER flag was not passed), pages mapped without a reference',
  library: lib,
  vmaFlags: VM_PFNMAP | VM_IO | VM_DONTCOPY | VM_DONTDUMP | VM_SHARED | VM_READ,
  fault,
  routines: [fault],
  needs: {},
  // amdgpu_gem_userptr_ioctl without AMDGPU_GEM_USERPTR_REGISTER: amdgpu_mn_register() is not called.
  attach: () => {},
});
