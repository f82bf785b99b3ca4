/**
 * The second subscriber of B-03: a GPU userptr notifier (i915's userptr_mn_invalidate_range_start,
 * v5.10) that cannot do its work without sleeping, so a non-blockable invalidation (the OOM
 * reaper's) that overlaps one of its objects fails with -EAGAIN. As the fixed core requires of a
 * subscriber whose start can fail, it has no invalidate_range_end.
 *
 * The userptr object covers the whole mirrored range; the GPU's own page tables are not modelled
 * here (B-03 is about the notifier core), and a GEM userptr has no CPU mapping of its own: the
 * device VMA's fault answers SIGBUS.
 */
import { defineDriver, EAGAIN, KERNEL, Library, MIRROR, MN, VM_FAULT_SIGBUS, VM_IO, VM_PFNMAP, deref, mmuNotifierRegister } from 'vmamirror';

const lib = new Library('userptr-may-fail', [KERNEL], { kind: 'driver', sources: ['i915'] });

const fault = lib.routine({
  name: 'userptr_fault',
  params: ['vma', 'vpn', 'write'],
  steps: { sigbus: { at: 'i915: a userptr object has no CPU fault handler', run: (w) => w.ret(VM_FAULT_SIGBUS) } },
});

const invalidateRangeStart = lib.routine({
  name: 'userptr_mn_invalidate_range_start',
  params: ['mn', 'mm', 'start', 'end', 'event', 'blockable'],
  steps: {
    check: {
      at: 'i915: interval_tree_iter_first(&mn->objects, start, end); if (!mmu_notifier_range_blockable(range)) ret = -EAGAIN',
      run: (w, l) => {
        const d = w.obj(MIRROR, deref(w.obj(MN, l.mn).priv, 'mmu_notifier.priv'));
        const overlaps = l.start < d.srcStart + d.npages && d.srcStart < l.end;
        return w.ret(overlaps && !l.blockable ? -EAGAIN : 0);
      },
    },
  },
});

export default defineDriver({
  name: 'userptr-may-fail',
  summary: 'a classic notifier whose invalidate_range_start fails with -EAGAIN when it may not block (i915 userptr, v5.10)',
  vmaFlags: VM_PFNMAP | VM_IO,
  fault,
  library: lib,
  routines: [fault, invalidateRangeStart],
  needs: { mmuNotifier: true },
  attach(w, dev) {
    const d = w.obj(MIRROR, dev);
    mmuNotifierRegister(w, deref(d.mn, 'mirror.mn'), deref(d.srcMm, 'mirror.srcMm'), { invalidateRangeStart }, dev);
  },
});
