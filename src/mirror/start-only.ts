/**
 * Variant `start-only` — the December 2019 RFC v1 (mm/remote_mapping.c, reference §6.2);
 * reproduces R3 and R4. A classic mmu_notifier with only invalidate_range_start (zap_vma_ptes of
 * the mirror range) and no sequence check. The fault takes the source mmap_lock for read (trylock,
 * else VM_FAULT_RETRY), get_user_pages_remote (a page reference), vmf_insert_pfn, put_page.
 * Nothing stops an install that read the source pte before an invalidation from landing after
 * the callback ran (R4), nor the GUP reference from being the last one (R3).
 */
import { START_ONLY_FOOTPRINTS } from './footprints/start-only.js';
import { VM_FAULT_NOPAGE, VM_FAULT_RETRY, VM_FAULT_SIGBUS } from '../kernel/flags.js';
import { downReadTrylock, mmapLock, upRead } from '../kernel/locks.js';
import { mmuNotifierRegister } from '../kernel/notifier/mmu-notifier.js';
import { getUserPagesRemote } from '../kernel/ops/gup.js';
import { insertPfnBusy, vmfInsertPfn } from '../kernel/ops/insert.js';
import { zapVmaPtes } from '../kernel/ops/zap.js';
import { putPage } from '../kernel/page.js';
import { vmaMm } from '../kernel/pgtable.js';
import { MN } from '../kernel/structs.js';
import { deviceOfVma, MIRROR, MIRROR_VMA_FLAGS, mirrorToSource, sourceRangeToMirror } from './device.js';
import { deref } from '../kernel/ref.js';
import { Library } from '../world/registry.js';
import { KERNEL } from '../kernel/library.js';
import { defineDriver } from '../driver/define.js';

/** This design's routine library (see src/world/registry.ts). */
const START_ONLY_LIB = new Library('start-only', [KERNEL], { kind: 'driver', sources: ['remote_mapping'] });
START_ONLY_LIB.declare(START_ONLY_FOOTPRINTS);

const startOnlyFault = START_ONLY_LIB.routine({
  name: 'mirror_fault_start_only',
  params: ['vma', 'vpn', 'write'],
  locals: ['src', 'pfn'],
  steps: {
    lockSource: {
      at: 'remote_mapping: down_read_trylock(src mmap_sem)',
      run: (w, l) => {
        const src = deref(w.obj(MIRROR, deviceOfVma(w, l.vma)).srcMm, 'mirror.srcMm');
        if (!downReadTrylock(w, mmapLock(w, src))) {
          upRead(w, mmapLock(w, vmaMm(w, l.vma))); // VM_FAULT_RETRY: the introspector's mmap_lock is dropped
          return w.ret(VM_FAULT_RETRY);
        }
        l.src = src;
        return w.call(getUserPagesRemote, 'insert', src, mirrorToSource(w, l.vma, l.vpn), l.write);
      },
    },
    insert: {
      at: 'remote_mapping: vmf_insert_pfn(page_to_pfn(page))',
      run: (w, l) => {
        if (l.result <= 0) {
          upRead(w, mmapLock(w, l.src));
          return w.ret(VM_FAULT_SIGBUS);
        }
        const b = insertPfnBusy(w, l.vma);
        if (b) return b;
        l.pfn = l.result;
        upRead(w, mmapLock(w, l.src));
        vmfInsertPfn(w, l.vma, l.vpn, l.pfn, l.write !== 0);
        return 'put';
      },
    },
    put: {
      at: 'remote_mapping: put_page',
      run: (w, l) => {
        putPage(w, l.pfn);
        return w.ret(VM_FAULT_NOPAGE);
      },
    },
  },
});

const startOnlyInvalidateRangeStart = START_ONLY_LIB.routine({
  name: 'mirror_invalidate_range_start_only',
  params: ['mn', 'mm', 'start', 'end', 'event', 'blockable'],
  steps: {
    zap: {
      at: 'remote_mapping: invalidate_range_start → zap_vma_ptes',
      run: (w, l) => {
        const dev = deref(w.obj(MN, l.mn).priv, 'mmu_notifier.priv');
        const [a, b] = sourceRangeToMirror(w, dev, l.start, l.end);
        if (a === b) return w.ret(0);
        return w.call(zapVmaPtes, 'done', deref(w.obj(MIRROR, dev).vma, 'mirror.vma'), a, b);
      },
    },
    done: { at: 'remote_mapping: invalidate_range_start', run: (w) => w.ret(0) },
  },
});

export const startOnly = defineDriver({
  name: 'start-only',
  library: START_ONLY_LIB,
  summary: 'classic notifier with only invalidate_range_start; GUP reference dropped right after vmf_insert_pfn (Dec 2019 RFC v1)',
  reproduces: ['R3', 'R4'],
  vmaFlags: MIRROR_VMA_FLAGS,
  fault: startOnlyFault,
  routines: [startOnlyFault, startOnlyInvalidateRangeStart],
  needs: { mmuNotifier: true },
  attach(w, dev) {
    const d = w.obj(MIRROR, dev);
    mmuNotifierRegister(w, deref(d.mn, 'mirror.mn'), deref(d.srcMm, 'mirror.srcMm'), { invalidateRangeStart: startOnlyInvalidateRangeStart }, dev);
  },
});
