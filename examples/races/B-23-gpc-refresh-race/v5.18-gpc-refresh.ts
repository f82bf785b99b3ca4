/**
 * KVM's gfn→pfn cache refresh before "KVM: Fix multiple races in gfn=>pfn cache refresh" (Sean
 * Christopherson, 58cd407ca4c6, v5.18; the cache came with 982ed0de4753). The refresh marks the
 * cache valid speculatively (placeholders: pfn KVM_PFN_ERR_FAULT, valid = true), drops gpc->lock,
 * looks the hva up and asks mmu_notifier_retry_hva under mmu_lock whether an invalidation got in
 * the way, then stores the pfn without looking at `valid` again. But the MMU notifier invalidates
 * the cache *before* it raises mmu_notifier_count: a refresh that runs between the two sees no
 * invalidation, and the cache is left valid for a page that is being unmapped.
 *
 * This kernel still pinned the cached page (the reference from hva_to_pfn was dropped only when
 * the cache moved to another pfn: "KVM: Do not pin pages tracked by gfn=>pfn caches" came two
 * patches later), so the page outlives the munmap: the use reaches a page the process no longer
 * maps. The pin is modelled for pages hva_to_pfn took a reference on (anonymous memory).
 *
 * Only kvm_gpc_refresh changes (to v5.18's kvm_gfn_to_pfn_cache_refresh and its own
 * hva_to_pfn_retry); the notifier, kvm_gpc_check and the cache's users are today's, which in
 * these respects are v5.18's.
 */
import {
  defineEra,
  deref,
  EFAULT,
  GPC,
  GPC_NONE,
  gfnToHva,
  gpcLock,
  hvaRangeToGfns,
  hvaToPfn,
  invalidationCovers,
  KERNEL,
  KVM,
  KVM_LIB,
  kvmMmuLock,
  Library,
  pageGen,
  putPage,
  readInvalidateSeq,
  readLock,
  readUnlock,
  unpackPfn,
  writeLock,
  writeUnlock,
} from 'vmamirror';
import { KVM_SEQ } from 'vmamirror';

const lib = new Library('era-v5-18-gpc-refresh', [KERNEL, KVM_LIB], { kind: 'kernel' });

/** v5.18's hva_to_pfn_retry(kvm, uhva): the pfn (packed, as hva_to_pfn returns it) or -errno. */
const hvaToPfnRetry = lib.routine({
  name: 'hva_to_pfn_retry_v5_18',
  params: ['kvm', 'uhva'],
  locals: ['mmuSeq', 'mmuSeqHi', 'packed'],
  counters: { mmuSeq: KVM_SEQ },
  steps: {
    seq: {
      at: 'virt/kvm/pfncache.c:hva_to_pfn_retry mmu_seq = kvm->mmu_notifier_seq; smp_rmb(); new_pfn = hva_to_pfn(uhva, ...)',
      lockless: ['kvm.invalidateSeq', 'kvm.invalidateSeqHi'],
      run: (w, l) => {
        const seq = readInvalidateSeq(w, l.kvm);
        l.mmuSeq = seq.lo;
        l.mmuSeqHi = seq.hi;
        return w.call(hvaToPfn, 'looked', deref(w.obj(KVM, l.kvm).mm, 'kvm.mm'), l.uhva, 1);
      },
    },
    looked: {
      at: 'virt/kvm/pfncache.c:hva_to_pfn_retry if (is_error_noslot_pfn(new_pfn)) break; KVM_MMU_READ_LOCK(kvm)',
      run: (w, l) => {
        if (l.result < 0) return w.ret(l.result);
        const b = readLock(w, kvmMmuLock(w, l.kvm));
        if (b) return b;
        l.packed = l.result;
        l.result = 0;
        return 'check';
      },
    },
    check: {
      at: 'virt/kvm/pfncache.c:hva_to_pfn_retry retry = mmu_notifier_retry_hva(kvm, mmu_seq, uhva); KVM_MMU_READ_UNLOCK(kvm)',
      run: (w, l) => {
        const kvm = w.obj(KVM, l.kvm);
        // The model keeps the invalidated range in gfns: the hva's gfn through the memslots.
        const [gfn] = hvaRangeToGfns(w, l.kvm, l.uhva, l.uhva + 1);
        const retry = invalidationCovers(w, l.kvm, gfn) || kvm.invalidateSeq !== l.mmuSeq || kvm.invalidateSeqHi !== l.mmuSeqHi;
        readUnlock(w, kvmMmuLock(w, l.kvm));
        // On a retry the reference hva_to_pfn took is not dropped (a leak, also fixed by 58cd407ca4c6).
        if (retry) return 'seq';
        return w.ret(l.packed);
      },
    },
  },
});

/** v5.18's kvm_gfn_to_pfn_cache_refresh(kvm, gpc, gpa, len): 0 or -EFAULT. */
const refresh = lib.routine({
  name: 'kvm_gfn_to_pfn_cache_refresh_v5_18',
  params: ['gpc', 'gfn'],
  locals: ['oldPfn'],
  steps: {
    lock: {
      at: 'virt/kvm/pfncache.c:kvm_gfn_to_pfn_cache_refresh write_lock_irq(&gpc->lock); gpa → uhva; placeholders (gpc->valid = true); write_unlock_irq(&gpc->lock)',
      run: (w, l) => {
        const b = writeLock(w, gpcLock(w, l.gpc));
        if (b) return b;
        const gpc = w.obj(GPC, l.gpc);
        const oldUhva = gpc.uhva;
        const oldValid = gpc.valid;
        l.oldPfn = gpc.pfn;
        if (gpc.gfn !== l.gfn || gpc.uhva === GPC_NONE) {
          gpc.gfn = l.gfn;
          gpc.uhva = gfnToHva(w, deref(gpc.kvm, 'gpc.kvm'), l.gfn);
          if (gpc.uhva < 0) {
            gpc.uhva = GPC_NONE;
            gpc.pfn = 0;
            l.result = -EFAULT;
            return 'out';
          }
        }
        if (oldValid && oldUhva === gpc.uhva) {
          l.oldPfn = 0; // the HVA→PFN mapping was already valid: keep it
          return 'out';
        }
        // Placeholders for "hva is valid but not yet mapped".
        gpc.pfn = 0;
        gpc.gen = 0;
        gpc.valid = 1;
        const uhva = gpc.uhva;
        writeUnlock(w, gpcLock(w, l.gpc));
        return w.call(hvaToPfnRetry, 'mapDone', deref(gpc.kvm, 'gpc.kvm'), uhva);
      },
    },
    mapDone: {
      at: 'virt/kvm/pfncache.c:kvm_gfn_to_pfn_cache_refresh map_done: write_lock_irq(&gpc->lock); gpc->pfn = new_pfn ("gpc->valid may already have been cleared")',
      run: (w, l) => {
        const b = writeLock(w, gpcLock(w, l.gpc));
        if (b) return b;
        const gpc = w.obj(GPC, l.gpc);
        if (l.result < 0) {
          gpc.valid = 0;
          gpc.pfn = 0;
          l.result = -EFAULT;
        } else {
          // The cache keeps hva_to_pfn's reference: the page is pinned while cached.
          gpc.pfn = unpackPfn(l.result).pfn;
          gpc.gen = pageGen(w, gpc.pfn);
          l.result = 0;
        }
        return 'out';
      },
    },
    out: {
      at: 'virt/kvm/pfncache.c:kvm_gfn_to_pfn_cache_refresh out: write_unlock_irq(&gpc->lock)',
      run: (w, l) => {
        writeUnlock(w, gpcLock(w, l.gpc));
        return 'release';
      },
    },
    release: {
      at: 'virt/kvm/pfncache.c:__release_gpc kvm_release_pfn(old_pfn): the old page is unpinned',
      run: (w, l) => {
        if (l.oldPfn !== 0) putPage(w, l.oldPfn);
        const r = l.result;
        l.result = 0;
        return w.ret(r);
      },
    },
  },
});
lib.replace('kvm_gpc_refresh', refresh);

export default defineEra({
  name: 'v5-18-gpc-refresh',
  summary: "v5.18-rc KVM: the gfn→pfn cache's refresh marks it valid speculatively and checks only mmu_notifier_count, which the notifier raises after it invalidated the cache",
  library: lib,
});
