/**
 * Address-space teardown (kernel/fork.c:mmput, mm/mmap.c:exit_mmap, v6.18): the last mm_users
 * reference runs exit_mmap, which calls mmu_notifier_release FIRST (hlist ->release, then the
 * hlist is unlinked; interval notifiers get RELEASE and stay subscribed), then unmap_vmas over the
 * whole address space (UNMAP, blockable) under mmap_read_lock, then under mmap_write_lock
 * free_pgtables (VMAs unlinked from the rmap), tlb_finish_mmu (pages freed, after end) and
 * remove_vma. Finally __mmput drops the mm_count reference the users held (mmdrop).
 *
 * Not modelled: MMF_OOM_SKIP (set between the read and the write section so that the OOM reaper
 * stops); a reaper running after it finds nothing left to zap, so only the flag check is lost.
 */
import type { World } from '../../world/world.js';
import { VPN_MAX } from '../flags.js';
import { downRead, downWrite, mmapLock, upRead, upWrite } from '../locks.js';
import { mmdrop } from '../mm-refs.js';
import { mmuNotifierRelease } from '../notifier/mmu-notifier.js';
import { vma, vmaIndex, vmaClear } from '../pgtable.js';
import { MM } from '../structs.js';
import { tlbFinishFrom, tlbFinishOne, tlbFlushMmuStep, unmapVmas } from './zap.js';
import { KERNEL } from '../library.js';

function hasVmas(w: World, mm: number): boolean {
  const per = w.layout.dims.vmasPerMm;
  for (let k = 0; k < per; k++) if (vma(w, vmaIndex(w, mm, k)).used) return true;
  return false;
}

/** mm/vma.c:remove_vma for every VMA of the mm (the slot becomes free). */
function removeAllVmas(w: World, mm: number): void {
  const per = w.layout.dims.vmasPerMm;
  for (let k = 0; k < per; k++) vmaClear(w, vmaIndex(w, mm, k)); // mm/vma.c:remove_vma
}

/** mm/mmap.c:exit_mmap */
export const exitMmap = KERNEL.routine({
  name: 'exit_mmap',
  params: ['mm'],
  locals: ['gather'],
  steps: {
    release: { at: 'mm/mmap.c:exit_mmap mmu_notifier_release', run: (w, l) => w.call(mmuNotifierRelease, 'lock', l.mm) },
    lock: {
      at: 'mm/mmap.c:exit_mmap mmap_read_lock',
      run: (w, l) => {
        const b = downRead(w, mmapLock(w, l.mm)); // mmap_read_lock
        if (b) return b;
        l.result = 0;
        if (!hasVmas(w, l.mm)) return 'readUnlock'; // "Can happen if dup_mmap() received an OOM"
        return w.call(unmapVmas, 'unmapped', l.mm, 0, VPN_MAX);
      },
    },
    unmapped: {
      at: 'mm/mmap.c:exit_mmap',
      run: (_w, l) => {
        l.gather = l.result;
        l.result = 0;
        return 'readUnlock';
      },
    },
    readUnlock: {
      at: 'mm/mmap.c:exit_mmap mmap_read_unlock',
      run: (w, l) => {
        upRead(w, mmapLock(w, l.mm));
        return 'freePgtables';
      },
    },
    freePgtables: {
      at: 'mm/memory.c:free_pgtables',
      run: (w, l) => {
        const b = downWrite(w, mmapLock(w, l.mm)); // mmap_write_lock
        if (b) return b;
        // unlink_anon_vmas / unlink_file_vma: the VMAs leave the rmap before the pages are freed.
        removeAllVmas(w, l.mm);
        return tlbFinishFrom(w, 'tlbFinish');
      },
    },
    tlbFinish: {
      at: 'mm/mmu_gather.c:tlb_finish_mmu',
      run: (w, l) => {
        l.gather = tlbFinishOne(w, l.gather);
        return l.gather ? 'tlbFinish' : 'unlock';
      },
    },
    unlock: {
      at: 'mm/mmap.c:exit_mmap mmap_write_unlock',
      run: (w, l) => {
        upWrite(w, mmapLock(w, l.mm));
        return w.ret(0);
      },
    },
    tlbFlush: tlbFlushMmuStep('tlbFinish'),
  },
});

/** kernel/fork.c:mmput — drop mm_users; the last one tears the address space down (__mmput). */
export const mmput = KERNEL.routine({
  name: 'mmput',
  params: ['mm'],
  steps: {
    dec: {
      at: 'kernel/fork.c:mmput',
      run: (w, l) => {
        const m = w.obj(MM, l.mm);
        if (m.users <= 0) {
          w.bug(`mmput on mm ${l.mm} whose mm_users is ${m.users}`);
          return w.ret(0);
        }
        m.users = m.users - 1;
        if (m.users > 0) return w.ret(0);
        return w.call(exitMmap, 'drop', l.mm);
      },
    },
    drop: {
      at: 'kernel/fork.c:__mmput mmdrop',
      run: (w, l) => {
        mmdrop(w, l.mm);
        return w.ret(0);
      },
    },
  },
});
