/**
 * B-25's second subscriber, an i915 userptr object over the same pages (drivers/gpu/drm/i915/gem/
 * i915_gem_userptr.c): revalidating the object, it still holds the pages of its previous binding —
 * their references are dropped only once the new binding is in place — while it waits in
 * mmu_interval_read_begin for any invalidation of the range to finish, then pins the current
 * pages, checks the sequence under its notifier lock and binds them (here: a mirror pte).
 *
 * On its own this is a correct design (the old pages are unpinned after the new ones are bound).
 * Beside a gntdev whose callback waits for those very pages to be unused, it closes a cycle.
 */
import { type World, defineDriver, deref, deviceOfSub, deviceOfVma, downReadTrylock, getUserPagesRemote, intervalNotifierInsert, KERNEL, Library, MIRROR, mirrorToSource, mmapLock, mmuIntervalReadBegin, mmuIntervalReadRetry, mmuIntervalSetSeq, mutexLock, mutexLockIfBlockable, mutexUnlock, putPage, updateLock, upRead, vmaMm, vmfInsertPfnProt, insertPfnBusy, zapVmaPtes, sourceRangeToMirror, VM_FAULT_NOPAGE, VM_FAULT_RETRY, VM_FAULT_SIGBUS, VM_IO, VM_PFNMAP, VM_READ, VM_SHARED, VM_DONTCOPY, WOULD_BLOCK } from 'vmamirror';
import { INTERVAL_SEQ } from 'vmamirror';

const lib = new Library('i915-userptr', [KERNEL], { kind: 'driver', sources: ['i915'] });

/**
 * Pins the source page of `l.srcVpn` under the source's mmap_lock, resuming at `next` with the pfn
 * or -errno in `l.result`; taken with a trylock (a fault must not sleep on another mm's lock): on
 * contention it drops its own mmap_lock and goes to `busy`, and the access retries.
 */
function pin(w: World, l: { vma: number; src: number; srcVpn: number }, next: string, busy: string): string | number {
  if (downReadTrylock(w, mmapLock(w, l.src))) return w.call(getUserPagesRemote, next, l.src, l.srcVpn, 0);
  upRead(w, mmapLock(w, vmaMm(w, l.vma)));
  return busy;
}

const fault = lib.routine({
  name: 'i915_userptr_revalidate',
  params: ['vma', 'vpn', 'write'],
  locals: ['dev', 'src', 'srcVpn', 'sub', 'old', 'seq', 'pfn', 'code'],
  counters: { seq: INTERVAL_SEQ },
  resultCounters: { pinNew: INTERVAL_SEQ },
  steps: {
    pinOld: {
      at: 'i915: obj->userptr.pages of the previous binding, still pinned',
      run: (w, l) => {
        l.dev = deviceOfVma(w, l.vma);
        l.src = deref(w.obj(MIRROR, l.dev).srcMm, 'mirror.srcMm');
        l.sub = deref(w.obj(MIRROR, l.dev).sub, 'mirror.sub');
        l.srcVpn = mirrorToSource(w, l.vma, l.vpn);
        return pin(w, l, 'pinnedOld', 'retry');
      },
    },
    retry: { at: 'i915: return -EAGAIN (VM_FAULT_RETRY)', run: (w) => w.ret(VM_FAULT_RETRY) },
    pinnedOld: {
      at: 'i915: mmap_read_unlock(mm)',
      run: (w, l) => {
        upRead(w, mmapLock(w, l.src));
        if (l.result < 0) return w.ret(VM_FAULT_SIGBUS);
        [l.old, l.result] = [l.result, 0];
        return 'begin';
      },
    },
    begin: { at: 'i915: i915_gem_object_userptr_submit_init → mmu_interval_read_begin', run: (w, l) => w.call(mmuIntervalReadBegin, 'pinNew', l.sub) },
    pinNew: {
      at: 'i915: pin_user_pages_fast (the current pages)',
      run: (w, l) => {
        [l.seq, l.result] = [l.result, 0];
        l.code = VM_FAULT_RETRY; // if the source's mmap_lock is contended: pin dropped ours
        return pin(w, l, 'pinnedNew', 'unpinOld');
      },
    },
    pinnedNew: {
      at: 'i915: mmap_read_unlock(mm)',
      run: (w, l) => {
        upRead(w, mmapLock(w, l.src));
        l.code = l.result < 0 ? VM_FAULT_SIGBUS : VM_FAULT_NOPAGE; // the range is gone: -EFAULT
        if (l.result < 0) return 'unpinOld';
        [l.pfn, l.result] = [l.result, 0];
        return 'bind';
      },
    },
    bind: {
      at: 'i915: i915_gem_object_userptr_submit_done: mmu_interval_read_retry under notifier_lock, bind',
      run: (w, l) => {
        const b = mutexLock(w, updateLock(w, l.dev));
        if (b) return b;
        if (!mmuIntervalReadRetry(w, l.sub, l.seq)) return 'insert';
        mutexUnlock(w, updateLock(w, l.dev));
        return 'unpinNewRetry';
      },
    },
    unpinNewRetry: {
      at: 'i915: unpin_user_pages; goto retry (an invalidation ran meanwhile)',
      run: (w, l) => {
        putPage(w, l.pfn);
        [l.pfn, l.seq] = [0, 0];
        return 'begin';
      },
    },
    insert: {
      at: 'i915: bind the pages (vmf_insert_pfn_prot here), mutex_unlock(notifier_lock)',
      run: (w, l) => {
        const b = insertPfnBusy(w, l.vma);
        if (b) return b;
        vmfInsertPfnProt(w, l.vma, l.vpn, l.pfn, false);
        mutexUnlock(w, updateLock(w, l.dev));
        return 'unpinNew';
      },
    },
    unpinNew: {
      at: 'i915: unpin_user_pages (the binding holds no reference: the notifier unbinds it)',
      run: (w, l) => {
        putPage(w, l.pfn);
        return 'unpinOld';
      },
    },
    unpinOld: {
      at: 'i915: unpin_user_pages(old pages) — only once the new binding is in place (or failed)',
      run: (w, l) => {
        putPage(w, l.old);
        return w.ret(l.code);
      },
    },
  },
});

const invalidate = lib.routine({
  name: 'userptr_mn_invalidate',
  params: ['sub', 'start', 'end', 'event', 'blockable', 'curSeq'],
  locals: ['dev'],
  counters: { curSeq: INTERVAL_SEQ },
  steps: {
    lock: {
      at: 'i915: spin_lock(&i915->mm.notifier_lock) (a mutex here; trylock when !blockable)',
      run: (w, l) => {
        const dev = deviceOfSub(w, l.sub);
        const b = mutexLockIfBlockable(w, updateLock(w, dev), l.blockable);
        if (b === WOULD_BLOCK) return w.ret(0);
        if (b) return b;
        l.dev = dev;
        mmuIntervalSetSeq(w, l.sub, l.curSeq);
        const [a, e] = sourceRangeToMirror(w, dev, l.start, l.end);
        return a === e ? 'unlock' : w.call(zapVmaPtes, 'unlock', deref(w.obj(MIRROR, dev).vma, 'mirror.vma'), a, e);
      },
    },
    unlock: {
      at: 'i915: spin_unlock(&i915->mm.notifier_lock)',
      run: (w, l) => {
        mutexUnlock(w, updateLock(w, l.dev));
        l.dev = 0;
        return w.ret(1);
      },
    },
  },
});

export default defineDriver({
  name: 'i915-userptr',
  summary: 'an i915 userptr revalidation that keeps its previous pages pinned across mmu_interval_read_begin',
  vmaFlags: VM_PFNMAP | VM_IO | VM_DONTCOPY | VM_SHARED | VM_READ,
  fault,
  library: lib,
  routines: [fault, invalidate],
  needs: { intervalNotifier: true },
  attach(w, dev) {
    const d = w.obj(MIRROR, dev);
    intervalNotifierInsert(w, deref(d.sub, 'mirror.sub'), deref(d.srcMm, 'mirror.srcMm'), d.srcStart, d.npages, invalidate, dev);
  },
});
