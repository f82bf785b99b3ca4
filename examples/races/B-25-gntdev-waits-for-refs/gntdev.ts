/**
 * B-25's first subscriber, Xen's gntdev (drivers/xen/gntdev.c, v5.18): an interval notifier over
 * the grant-mapped range whose callback unmaps the grants. Before dbe97cff7dd9 ("xen/gntdev: Avoid
 * blocking in unmap_grant_pages()") the unmap was gnttab_unmap_refs_sync, which *waits until no one
 * else holds a reference on the pages* — inside the invalidation (`gntdev(true)`, gntdev-sync-unmap.ts).
 * The fix unmaps asynchronously and the callback returns at once (`gntdev(false)`, gntdev-async-unmap.ts).
 *
 * The grant page is the source page the invalidated range covers; its mapping holds one reference,
 * so "still in use" is a refcount above one. gntdev's own VMA is not accessed in this scenario
 * (its fault answers SIGBUS).
 */
import { BLOCK_SLEEP, defineDriver, deref, deviceOfSub, intervalNotifierInsert, KERNEL, Library, MIRROR, mmuIntervalSetSeq, mutexLockIfBlockable, mutexUnlock, PAGE, pte, ptl, spinLock, spinUnlock, updateLock, VM_FAULT_SIGBUS, VM_IO, VM_PFNMAP, WOULD_BLOCK } from 'vmamirror';
import { INTERVAL_SEQ } from 'vmamirror';

/** gntdev, its callback waiting for the grant pages to be unused (`waits`, the bug) or not (the fix). */
export function gntdev(waits: boolean) {
  const name = waits ? 'gntdev-sync-unmap' : 'gntdev-async-unmap';
  const lib = new Library(name, [KERNEL], { kind: 'driver', sources: ['gntdev'] });

  const fault = lib.routine({
    name: 'gntdev_fault',
    params: ['vma', 'vpn', 'write'],
    steps: { sigbus: { at: 'gntdev: grant mappings are set up by mmap, not faulted', run: (w) => w.ret(VM_FAULT_SIGBUS) } },
  });

  const invalidate = lib.routine({
    name: 'gntdev_invalidate',
    params: ['sub', 'start', 'end', 'event', 'blockable', 'curSeq'],
    locals: ['dev', 'pfn'],
    counters: { curSeq: INTERVAL_SEQ },
    steps: {
      lock: {
        at: 'gntdev: mutex_lock(&priv->lock) (trylock when !blockable)',
        run: (w, l) => {
          const dev = deviceOfSub(w, l.sub);
          const b = mutexLockIfBlockable(w, updateLock(w, dev), l.blockable);
          if (b === WOULD_BLOCK) return w.ret(0);
          if (b) return b;
          l.dev = dev;
          mmuIntervalSetSeq(w, l.sub, l.curSeq);
          return 'find';
        },
      },
      find: {
        at: 'gntdev: unmap_if_in_range → unmap_grant_pages(map, offset, pages)',
        run: (w, l) => {
          const src = deref(w.obj(MIRROR, l.dev).srcMm, 'mirror.srcMm');
          const b = spinLock(w, ptl(w, src));
          if (b) return b;
          const p = pte(w, src, l.start);
          l.pfn = p.present ? p.pfn : 0;
          spinUnlock(w, ptl(w, src));
          return waits && l.pfn ? 'wait' : 'unlock';
        },
      },
      wait: {
        at: 'gntdev: gnttab_unmap_refs_sync → wait until page_count(page) == 1',
        // The grant page is in use while someone besides its mapping holds a reference.
        run: (w, l) => (w.obj(PAGE, l.pfn).refcount > 1 ? BLOCK_SLEEP : 'unlock'),
      },
      unlock: {
        at: 'gntdev: mutex_unlock(&priv->lock)',
        run: (w, l) => {
          mutexUnlock(w, updateLock(w, l.dev));
          [l.pfn, l.dev] = [0, 0];
          return w.ret(1);
        },
      },
    },
  });

  return defineDriver({
    name,
    summary: waits ? 'gntdev before dbe97cff7dd9: the invalidate callback waits for the grant pages to be unused' : 'gntdev after dbe97cff7dd9: the grants are unmapped asynchronously',
    vmaFlags: VM_PFNMAP | VM_IO,
    fault,
    library: lib,
    routines: [fault, invalidate],
    needs: { intervalNotifier: true },
    attach(w, dev) {
      const d = w.obj(MIRROR, dev);
      intervalNotifierInsert(w, deref(d.sub, 'mirror.sub'), deref(d.srcMm, 'mirror.srcMm'), d.srcStart, d.npages, invalidate, dev);
    },
  });
}
