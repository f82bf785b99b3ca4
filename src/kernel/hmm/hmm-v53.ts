/**
 * The 2019 HMM API (mm/hmm.c, v5.3; reference §2.1): a per-mm `struct hmm` registered as a classic
 * mmu notifier, driver mirrors with ops->sync_cpu_device_pagetables, and ranges whose `valid` bool
 * the invalidation clears at start and — once no invalidation is running — sets again at end.
 * That bool cannot tell "nothing happened" from "an invalidation happened and finished" (Jason
 * Gunthorpe's ABA, May 2019): the model keeps exactly that flaw.
 *
 * Where the state lives: struct hmm is the mm's `hmm` (a reference to its notifier slot) and
 * `hmmNotifiers` fields; mirrors are HMM_MIRROR objects (mm, sync, release, priv); ranges are
 * HMM_RANGE objects (one page each; `mm` set while on hmm->ranges). References are ref.ts's
 * (index + 1, NONE = 0). hmm->ranges_lock sections are one step
 * each (they touch only what that spinlock protects: `within: [RANGES_LOCK]`, discipline.ts).
 *
 * Simplifications:
 *   - hmm->mirrors_sem is not state: its only writers are hmm_mirror_register/unregister, which
 *     here are set-up actions, so down_read always succeeds and down_read_trylock fails only as a
 *     scenario's `trylock-fail` fault (a register elsewhere holding it for a moment);
 *   - the hmm kref is not modelled (kref_get_unless_zero in the callbacks always succeeds: the
 *     struct hmm lives as long as the scenario);
 *   - hmm_range_wait_until_valid has no timeout: it sleeps until valid (a timeout only adds the
 *     "gave up" branch, after which the documented pattern retries anyway);
 *   - hmm_range_fault is the block = true variant (no FAULT_FLAG_ALLOW_RETRY).
 * Era mismatch to keep in mind: the notifier core is v6.18, which WARNs when a start that has an
 * end fails with -EAGAIN; v5.3's core only logged it. That path is non-blockable only (OOM reaper).
 */
import { BLOCK_SLEEP, type AnyRoutine } from '../../world/routine.js';
import type { World } from '../../world/world.js';
import { EAGAIN, EBUSY, EFAULT, EINVAL, EPERM, VM_FAULT_RETRY, VM_IO, VM_MIXEDMAP, VM_PFNMAP, VM_READ } from '../flags.js';
import { assertHeld, mmapLock, trylockRefused, upRead } from '../locks.js';
import { mmgetNotZero, mmgrab } from '../mm-refs.js';
import { mmuNotifierRegister } from '../notifier/mmu-notifier.js';
import { findVma, pte, vma } from '../pgtable.js';
import { HMM_MIRROR, HMM_RANGE, MM, MN } from '../structs.js';
import { defineActorNames } from '../../world/layout.js';
import { deref, isNone, NONE, ref, refersTo } from '../ref.js';
import { handleMmFault, migrationEntryWait, VM_FAULT_ERROR } from '../ops/fault.js';
import { mmput } from '../ops/exit.js';
import { HMM_PFN_NONE, HMM_PFN_SPECIAL, hmmPfnEncode } from './hmm-pfn.js';
import { KERNEL } from '../library.js';
import { dropRecheck } from '../mutation-hooks.js';

/** hmm_range_valid(range): a plain read of the bool. */
export function hmmRangeValid(w: World, range: number): boolean {
  if (w.mutation !== null && dropRecheck(w)) return true;
  return w.readOnce(() => w.obj(HMM_RANGE, range).valid === 1); // a plain read of range->valid
}

/** The class of hmm->ranges_lock, the spinlock around hmm->notifiers and the ranges' valid flags. */
export const RANGES_LOCK = 'hmm.ranges_lock';

/** mm/hmm.c:notifiers_decrement (under ranges_lock): the last running invalidation revalidates every range. */
function notifiersDecrement(w: World, mm: number): void {
  w.inside(RANGES_LOCK, () => decrement(w, mm));
}

function decrement(w: World, mm: number): void {
  const m = w.obj(MM, mm);
  if (m.hmmNotifiers <= 0) w.bug(`hmm->notifiers underflow on mm ${mm}`);
  m.hmmNotifiers = m.hmmNotifiers - 1;
  if (m.hmmNotifiers !== 0) return;
  const n = w.count(HMM_RANGE);
  for (let i = 0; i < n; i++) {
    const r = w.obj(HMM_RANGE, i);
    if (refersTo(r.mm, mm)) r.valid = 1; // wake_up_all(&hmm->wq) is implicit: sleepers re-check
  }
}

/** Next mirror index ≥ from registered on mm, or -1. */
function nextMirror(w: World, mm: number, from: number): number {
  const n = w.count(HMM_MIRROR);
  for (let i = from; i < n; i++) if (refersTo(w.obj(HMM_MIRROR, i).mm, mm)) return i;
  return -1;
}

/**
 * mm/hmm.c:hmm_invalidate_range_start — ops->invalidate_range_start(mn, mm, start, end, event,
 * blockable). notifiers++ and valid = false on overlapping ranges, then each mirror's
 * sync_cpu_device_pagetables(mirror, start, end, event, blockable) → 0 / -EAGAIN.
 */
export const hmmInvalidateRangeStart = KERNEL.routine({
  name: 'hmm_invalidate_range_start',
  params: ['mn', 'mm', 'start', 'end', 'event', 'blockable'],
  locals: ['next', 'ret'],
  steps: {
    mark: {
      at: 'mm/hmm.c:hmm_invalidate_range_start spin_lock(ranges_lock)',
      within: [RANGES_LOCK],
      run: (w, l) => {
        const m = w.obj(MM, l.mm);
        m.hmmNotifiers = m.hmmNotifiers + 1;
        const n = w.count(HMM_RANGE);
        for (let i = 0; i < n; i++) {
          const r = w.obj(HMM_RANGE, i);
          // v5.3's test, kept verbatim: `update.end < range->start` (an update ending exactly at
          // range->start still invalidates it — harmless over-invalidation).
          if (!refersTo(r.mm, l.mm) || l.end < r.start || l.start >= r.end) continue;
          r.valid = 0;
        }
        // After spin_unlock(ranges_lock): down_read(&hmm->mirrors_sem), or its trylock when !blockable.
        if (!l.blockable && trylockRefused(w)) {
          l.ret = -EAGAIN;
          return 'out';
        }
        return 'sync';
      },
    },
    sync: {
      at: 'mm/hmm.c:hmm_invalidate_range_start sync_cpu_device_pagetables',
      run: (w, l) => {
        const mi = nextMirror(w, l.mm, l.next);
        if (mi < 0) return 'out';
        l.next = mi + 1;
        const sync = w.obj(HMM_MIRROR, mi).sync;
        if (isNone(sync)) return 'sync';
        return w.callRef(sync, 'synced', mi, l.start, l.end, l.event, l.blockable);
      },
    },
    synced: {
      at: 'mm/hmm.c:hmm_invalidate_range_start',
      run: (w, l) => {
        const rc = l.result;
        l.result = 0;
        if (rc === 0) return 'sync';
        if (l.blockable || rc !== -EAGAIN) {
          w.bug(`sync_cpu_device_pagetables of mirror ${l.next - 1} returned ${rc} (WARN_ON)`);
          return 'sync';
        }
        l.ret = -EAGAIN;
        return 'out';
      },
    },
    out: {
      at: 'mm/hmm.c:hmm_invalidate_range_start out',
      run: (w, l) => {
        if (l.ret) notifiersDecrement(w, l.mm);
        return w.ret(l.ret);
      },
    },
  },
});

/** mm/hmm.c:hmm_invalidate_range_end → notifiers_decrement. */
export const hmmInvalidateRangeEnd = KERNEL.routine({
  name: 'hmm_invalidate_range_end',
  params: ['mn', 'mm', 'start', 'end', 'event', 'blockable'],
  steps: {
    dec: {
      at: 'mm/hmm.c:notifiers_decrement',
      run: (w, l) => {
        notifiersDecrement(w, l.mm);
        return w.ret(0);
      },
    },
  },
});

/** mm/hmm.c:hmm_release — ops->release(mn, mm): each mirror's ops->release(mirror). */
export const hmmRelease = KERNEL.routine({
  name: 'hmm_release',
  params: ['mn', 'mm'],
  locals: ['next'],
  steps: {
    check: {
      at: 'mm/hmm.c:hmm_release',
      run: (w, l) => {
        // WARN_ON(!list_empty(&hmm->ranges)), under ranges_lock.
        w.inside(RANGES_LOCK, () => {
          const n = w.count(HMM_RANGE);
          for (let i = 0; i < n; i++) {
            if (refersTo(w.obj(HMM_RANGE, i).mm, l.mm)) w.bug(`hmm_release on mm ${l.mm} with range ${i} still registered (WARN_ON)`);
          }
        });
        return 'release';
      },
    },
    release: {
      at: 'mm/hmm.c:hmm_release mirror->ops->release',
      run: (w, l) => {
        const mi = nextMirror(w, l.mm, l.next);
        if (mi < 0) return w.ret(0);
        l.next = mi + 1;
        const rel = w.obj(HMM_MIRROR, mi).release;
        if (isNone(rel)) return 'release';
        return w.callRef(rel, 'release', mi);
      },
    },
  },
});

/**
 * mm/hmm.c:hmm_mirror_register, as a set-up action (the kernel requires mmap_sem held for write,
 * which serialises it against every fault and invalidation). The first mirror of an mm creates
 * the struct hmm (hmm_get_or_create): a classic notifier in slot `mn` (default: the first free
 * one) plus the hmm's own mmgrab. `sync(mirror, start, end, event, blockable) -> 0 / -EAGAIN`,
 * `release(mirror) -> 0`. `priv` is stored as a reference.
 */
export function hmmMirrorRegister(w: World, mirror: number, mm: number, sync: AnyRoutine, release: AnyRoutine | undefined, priv: number, mn?: number): void {
  const m = w.obj(MM, mm);
  if (isNone(m.hmm)) {
    const slot = mn ?? freeNotifierSlot(w);
    mmuNotifierRegister(w, slot, mm, { invalidateRangeStart: hmmInvalidateRangeStart, invalidateRangeEnd: hmmInvalidateRangeEnd, release: hmmRelease }, mm);
    mmgrab(w, mm);
    m.hmm = ref(slot);
  }
  const h = w.obj(HMM_MIRROR, mirror);
  if (!isNone(h.mm)) throw new Error(`hmm mirror ${mirror} is already registered`);
  h.mm = ref(mm);
  h.sync = w.routineRef(sync);
  h.release = w.routineRef(release);
  h.priv = ref(priv);
}

function freeNotifierSlot(w: World): number {
  const n = w.count(MN);
  for (let i = 0; i < n; i++) {
    const s = w.obj(MN, i);
    if (isNone(s.mm) && isNone(s.invalidateRangeStart) && isNone(s.invalidateRangeEnd) && isNone(s.release)) return i;
  }
  throw new Error('no free mmu notifier slot for struct hmm (raise mmuNotifiers in the topology)');
}

/**
 * mm/hmm.c:hmm_range_register(range, mirror, start, end, PAGE_SHIFT): mmget_not_zero (keeps
 * hmm_release away while the range exists), link, valid = (hmm->notifiers == 0).
 */
export const hmmRangeRegister = KERNEL.routine({
  name: 'hmm_range_register',
  params: ['range', 'mirror', 'start', 'end'],
  steps: {
    register: {
      at: 'mm/hmm.c:hmm_range_register',
      within: [RANGES_LOCK],
      run: (w, l) => {
        const r = w.obj(HMM_RANGE, l.range);
        const mirrorMm = w.obj(HMM_MIRROR, l.mirror).mm;
        if (isNone(mirrorMm)) throw new Error(`hmm_range_register: mirror ${l.mirror} is not registered`);
        const mm = deref(mirrorMm, 'hmm_mirror.mm');
        if (!isNone(r.mm)) w.bug(`hmm_range_register: range ${l.range} is already on a list`);
        r.valid = 0;
        if (l.start >= l.end) return w.ret(-EINVAL);
        r.start = l.start;
        r.end = l.end;
        if (!mmgetNotZero(w, mm)) return w.ret(-EFAULT);
        r.mm = ref(mm); // list_add under ranges_lock
        if (w.obj(MM, mm).hmmNotifiers === 0) r.valid = 1;
        return w.ret(0);
      },
    },
  },
});

/** mm/hmm.c:hmm_range_unregister — unlink, mmput, valid = false. */
export const hmmRangeUnregister = KERNEL.routine({
  name: 'hmm_range_unregister',
  params: ['range'],
  locals: ['mm'],
  steps: {
    unlink: {
      at: 'mm/hmm.c:hmm_range_unregister list_del_init',
      within: [RANGES_LOCK],
      run: (w, l) => {
        const r = w.obj(HMM_RANGE, l.range);
        // v5.3: "if (range->hmm == NULL || range->end <= range->start) return;"
        if (isNone(r.mm)) return w.ret(0);
        l.mm = deref(r.mm, 'hmm_range.mm');
        r.mm = NONE;
        return w.call(mmput, 'invalidate', l.mm);
      },
    },
    invalidate: {
      at: 'mm/hmm.c:hmm_range_unregister',
      run: (w, l) => {
        // Off hmm->ranges, no invalidation can reach the range: it is its owner's again.
        w.own(HMM_RANGE, l.range);
        w.obj(HMM_RANGE, l.range).valid = 0;
        return w.ret(0);
      },
    },
  },
});

/** include/linux/hmm.h:hmm_range_wait_until_valid — wait_event(hmm->wq, range->valid); no timeout. Returns 1. */
export const hmmRangeWaitUntilValid = KERNEL.routine({
  name: 'hmm_range_wait_until_valid',
  params: ['range'],
  steps: {
    wait: {
      at: 'include/linux/hmm.h:hmm_range_wait_until_valid',
      lockless: ['hmmRange.valid'], // wait_event(hmm->wq, range->valid)
      run: (w, l) => {
        if (!hmmRangeValid(w, l.range)) return BLOCK_SLEEP;
        return w.ret(1);
      },
    },
  },
});

/** The VMA checks at the top of each hmm_range_snapshot / hmm_range_fault iteration: 0 or -errno. */
function checkRangeVma(w: World, range: number): number {
  const r = w.obj(HMM_RANGE, range);
  const vi = findVma(w, deref(r.mm, 'hmm_range.mm'), r.start);
  if (vi < 0) return -EFAULT;
  const flags = vma(w, vi).flags;
  if (flags & (VM_IO | VM_PFNMAP | VM_MIXEDMAP)) return -EFAULT; // a mirror cannot mirror a mirror
  if (!(flags & VM_READ)) {
    r.pfn = HMM_PFN_NONE; // hmm_pfns_clear
    return -EPERM;
  }
  return 0;
}

/**
 * mm/hmm.c:hmm_range_snapshot — no faulting. Caller holds mmap_sem of the range's mm. Fills
 * range.pfn from the pte (read without the ptl) and returns the number of pages walked (1), or
 * 0 for a special pte; -EAGAIN when the range is not valid.
 */
export const hmmRangeSnapshot = KERNEL.routine({
  name: 'hmm_range_snapshot',
  params: ['range'],
  steps: {
    check: {
      at: 'mm/hmm.c:hmm_range_snapshot',
      lockless: ['hmmRange.valid'], // if (!range->valid): a plain read
      run: (w, l) => {
        const r = w.obj(HMM_RANGE, l.range);
        if (isNone(r.mm)) {
          // range->hmm is NULL after a failed hmm_range_register: the kernel oopses on it.
          w.bug(`hmm_range_snapshot on range ${l.range}, which is not registered (NULL range->hmm)`);
          return w.ret(-EFAULT);
        }
        assertHeld(w, mmapLock(w, deref(r.mm, 'hmm_range.mm')), 'hmm_range_snapshot'); // lockdep_assert_held(&mm->mmap_sem)
        if (!r.valid) return w.ret(-EAGAIN);
        const err = checkRangeVma(w, l.range);
        if (err) return w.ret(err);
        return 'walk';
      },
    },
    walk: {
      at: 'mm/hmm.c:hmm_vma_handle_pte',
      lockless: ['pte.pfn', 'pte.present', 'pte.write', 'pte.special', 'pte.swap', 'pte.migration'], // the walk reads the pte without the ptl
      run: (w, l) => {
        const r = w.obj(HMM_RANGE, l.range);
        const p = pte(w, deref(r.mm, 'hmm_range.mm'), r.start);
        if (!p.present) {
          r.pfn = HMM_PFN_NONE; // none, swap and migration entries alike
          return w.ret(1);
        }
        if (p.special) {
          r.pfn = HMM_PFN_SPECIAL; // -EFAULT from the walker, ignored by snapshot: 0 pages
          return w.ret(0);
        }
        r.pfn = hmmPfnEncode(p.pfn, p.write === 1);
        return w.ret(1);
      },
    },
  },
});

/**
 * mm/hmm.c:hmm_range_fault(range, block = true) in v5.3: like snapshot but faults missing or
 * read-only (when `write`) pages with handle_mm_fault, walking again while the range stays valid.
 * Note the v5.3 quirk kept here: on !range->valid it *drops mmap_sem itself* (up_read) before
 * returning -EAGAIN, so the caller must not unlock again. Returns 1, or -EAGAIN / -EBUSY / -EFAULT / -EPERM.
 */
export const hmmRangeFaultV53 = KERNEL.routine({
  name: 'hmm_range_fault_v53',
  params: ['range', 'write'],
  steps: {
    check: {
      at: 'mm/hmm.c:hmm_range_fault',
      lockless: ['hmmRange.valid'], // if (!range->valid): a plain read
      run: (w, l) => {
        const r = w.obj(HMM_RANGE, l.range);
        if (isNone(r.mm)) {
          w.bug(`hmm_range_fault on range ${l.range}, which is not registered (NULL range->hmm)`);
          return w.ret(-EFAULT);
        }
        const mm = deref(r.mm, 'hmm_range.mm');
        assertHeld(w, mmapLock(w, mm), 'hmm_range_fault'); // lockdep_assert_held(&mm->mmap_sem)
        if (!r.valid) {
          upRead(w, mmapLock(w, mm)); // up_read(&hmm->mm->mmap_sem)
          return w.ret(-EAGAIN);
        }
        const err = checkRangeVma(w, l.range);
        if (err) return w.ret(err);
        return 'walk';
      },
    },
    walk: {
      at: 'mm/hmm.c:hmm_vma_handle_pte',
      lockless: ['pte.pfn', 'pte.present', 'pte.write', 'pte.special', 'pte.swap', 'pte.migration'], // the walk reads the pte without the ptl
      run: (w, l) => {
        const r = w.obj(HMM_RANGE, l.range);
        const mm = deref(r.mm, 'hmm_range.mm');
        const p = pte(w, mm, r.start);
        if (p.present) {
          if (p.special) {
            r.pfn = HMM_PFN_NONE; // -EFAULT; hmm_pfns_clear from walk.last
            return w.ret(-EFAULT);
          }
          if (!l.write || p.write) {
            r.pfn = hmmPfnEncode(p.pfn, p.write === 1);
            return w.ret(1);
          }
        } else if (p.migration) {
          return w.call(migrationEntryWait, 'again', mm, r.start, p.migration); // -EBUSY
        }
        r.pfn = HMM_PFN_NONE;
        return w.call(handleMmFault, 'faulted', mm, r.start, l.write); // hmm_vma_do_fault
      },
    },
    faulted: {
      at: 'mm/hmm.c:hmm_vma_do_fault',
      run: (w, l) => {
        const rc = l.result;
        l.result = 0;
        if (rc & VM_FAULT_RETRY) return w.ret(-EAGAIN);
        if (rc & VM_FAULT_ERROR) return w.ret(-EFAULT);
        return 'again';
      },
    },
    // } while (ret == -EBUSY && range->valid);  — an invalid range ends the walk with -EBUSY.
    again: {
      at: 'mm/hmm.c:hmm_range_fault',
      lockless: ['hmmRange.valid'],
      run: (w, l) => {
        if (!hmmRangeValid(w, l.range)) {
          w.obj(HMM_RANGE, l.range).pfn = HMM_PFN_NONE;
          return w.ret(-EBUSY);
        }
        return 'walk';
      },
    },
  },
});

/**
 * Each task's struct hmm_range is on its stack: one row per actor, named by the `range`
 * parameter of the v5.3 range API (layout.ts `ActorNames`: actor symmetry moves and renames them).
 */
defineActorNames({
  name: 'hmm-range-v53',
  rows: [HMM_RANGE],
  locals: [hmmRangeRegister, hmmRangeUnregister, hmmRangeWaitUntilValid, hmmRangeSnapshot, hmmRangeFaultV53].map((r) => ({ routine: r.name, local: 'range', encoding: 'index' as const })),
});
