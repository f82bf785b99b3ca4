/**
 * Small drivers with a device translation table (src/layers/table.ts), one factory per way of
 * subscribing, written against the public API only (src/driver/api.ts):
 *
 *   - `intervalTableDriver`: dmirror's shape (lib/test_hmm.c) — an mmu_interval_notifier; a device
 *     access looks the page up in the table under the update lock and, on a miss, faults it with
 *     hmm_range_fault and installs it after mmu_interval_read_retry; the callback (optionally) waits
 *     for the jobs in flight, sets the sequence and clears the range. The table holds no page
 *     references. `clear: false` forgets the clear, `fence: false` the wait.
 *   - `pinningTableDriver`: a GUP-pinning table with a classic mmu_notifier (the pre-HMM RDMA ODP,
 *     KVM's shape): the fault pins the page with get_user_pages_remote and installs it unless an
 *     invalidation ran or runs (its own count and sequence); invalidate_range_start only counts,
 *     invalidate_range_end clears the range and drops the references. `clearInEnd: false` drops the
 *     references but leaves the entries.
 *
 * Each declares the operations `access` (one access at one step) and, for the interval one, `job`
 * (an access in flight across steps), run by scenarios as `{ op: device, call, page, write }`.
 */
import {
  accessComplete,
  accessStart,
  defineDriver,
  defineStruct,
  defineTable,
  deref,
  deviceAccess,
  deviceOfSub,
  downRead,
  EBUSY,
  EAGAIN,
  EFAULT,
  fenceWait,
  getUserPagesRemote,
  hmmPfnToPfn,
  hmmPfnWritable,
  hmmRangeFault,
  intervalNotifierInsert,
  KERNEL,
  Library,
  MIRROR,
  MN,
  mmapLock,
  mmgetNotZero,
  mmput,
  mmuIntervalReadBegin,
  mmuIntervalReadRetry,
  mmuIntervalSetSeq,
  mmuNotifierRegister,
  mutexLock,
  mutexLockIfBlockable,
  mutexUnlock,
  putPage,
  sourceRangeToTable,
  tableClear,
  tableClearRange,
  tableIndex,
  tableInstall,
  tableRead,
  type DeviceTable,
  type DriverSpec,
  type MirrorVariant,
  type TableKind,
  type World,
  updateLock,
  upRead,
  VM_DONTCOPY,
  VM_DONTDUMP,
  VM_FAULT_SIGBUS,
  VM_IO,
  VM_PFNMAP,
  VM_READ,
  VM_SHARED,
  VM_WRITE,
  WOULD_BLOCK,
} from 'vmamirror';

const VMA_FLAGS = VM_PFNMAP | VM_IO | VM_DONTCOPY | VM_DONTDUMP | VM_SHARED | VM_READ | VM_WRITE;

/** A driver's library, and its vm_ops->fault: the device VMA is not what these drivers test (SIGBUS). */
function base(name: string) {
  const prefix = name.replaceAll('-', '_');
  const lib = new Library(`test-${name}`, [KERNEL], { kind: 'driver', sources: ['device'] });
  const fault = lib.routine({
    name: `${prefix}_fault`,
    params: ['vma', 'vpn', 'write'],
    steps: { sigbus: { at: 'device: the device VMA is not mapped by this driver (VM_FAULT_SIGBUS)', run: (w) => w.ret(VM_FAULT_SIGBUS) } },
  });
  return { prefix, lib, fault };
}

/** The source mm of device `dev`, and the source vpn its page `page` is. */
function source(w: World, dev: number, page: number): { mm: number; vpn: number } {
  const d = w.obj(MIRROR, dev);
  return { mm: deref(d.srcMm, 'mirror.srcMm'), vpn: d.srcStart + page };
}

/** What the device's operation steps below read of their frame. */
type DeviceFrame = { dev: number; page: number; write: number; src: number; result: number };

/** The first step of a device access: take the update lock and access the page through the table: `hit`, else `miss`. */
function lookup(use: (w: World, l: DeviceFrame) => boolean) {
  return {
    at: 'device: mutex_lock(update); look the page up in the device table',
    run: (w: World, l: DeviceFrame) => {
      const b = mutexLock(w, updateLock(w, l.dev));
      if (b) return b;
      return use(w, l) ? 'hit' : 'miss';
    },
  };
}

/** A step that drops the update lock and goes on at `next` (none: returns 0). */
function unlockTo(at: string, next?: string) {
  return {
    at,
    run: (w: World, l: DeviceFrame) => {
      mutexUnlock(w, updateLock(w, l.dev));
      return next ?? w.ret(0);
    },
  };
}

/** The device's fault starts: pin the source mm (mmget_not_zero), then `begin`. */
const mmgetSource = {
  at: 'device: mmget_not_zero(source mm)',
  run: (w: World, l: DeviceFrame) => {
    l.src = source(w, l.dev, l.page).mm;
    return mmgetNotZero(w, l.src) ? 'begin' : w.ret(-EFAULT);
  },
};

export interface IntervalTableOptions {
  readonly name: string;
  readonly kind: TableKind;
  /** The callback clears the range from the table (false: the bug, only the sequence moves). */
  readonly clear?: boolean;
  /** The callback waits for the jobs in flight on the range first (false: the bug). */
  readonly fence?: boolean;
  /** The callback takes the update lock (false: the bug, a data race on the table). */
  readonly lock?: boolean;
  /** A job signals its completion (false: the bug, it stays in flight). */
  readonly complete?: boolean;
  /** Fields of the DriverSpec to replace. */
  readonly spec?: Partial<DriverSpec>;
}

/** dmirror's shape: an interval notifier, hmm_range_fault, a device table without page references. */
export function intervalTableDriver(o: IntervalTableOptions): MirrorVariant {
  const { prefix, lib, fault } = base(o.name);
  const clear = o.clear !== false;
  const fence = o.fence !== false;
  const locked = o.lock !== false;
  const t: DeviceTable = defineTable({ name: `${o.name}-pt`, kind: o.kind, entries: 2, parent: 'source' });

  /** A device access through the table (`job`: one that stays in flight until its fence signals). */
  const operation = (job: boolean) => {
    const use = (w: World, l: DeviceFrame) => (job ? accessStart : deviceAccess)(w, t, tableIndex(t, l.dev, l.page), l.write !== 0);
    return lib.routine({
      name: `${prefix}_${job ? 'job' : 'access'}`,
      params: ['dev', 'page', 'write'],
      locals: ['src', 'sub', 'seq', 'hpfn', 'used'],
      steps: {
        lock: lookup(use),
        hit: unlockTo('device: mutex_unlock(update)', job ? 'complete' : undefined),
        ...(job && {
          complete: {
            at: 'device: the job completes (its fence signals)',
            run: (w: World, l: DeviceFrame) => {
              if (o.complete !== false) accessComplete(w, t, tableIndex(t, l.dev, l.page));
              return w.ret(0);
            },
          },
        }),
        miss: unlockTo('device: mutex_unlock(update); the device faults (dmirror_fault)', 'mmget'),
        mmget: mmgetSource,
        begin: {
          at: 'mm/mmu_notifier.c:mmu_interval_read_begin',
          run: (w, l) => {
            l.sub = deref(w.obj(MIRROR, l.dev).sub, 'mirror.sub');
            return w.call(mmuIntervalReadBegin, 'lockSource', l.sub);
          },
        },
        lockSource: {
          at: 'device: mmap_read_lock(source mm)',
          run: (w, l) => {
            const b = downRead(w, mmapLock(w, l.src));
            if (b) return b;
            l.seq = l.result;
            l.result = 0;
            return w.call(hmmRangeFault, 'faulted', l.sub, source(w, l.dev, l.page).vpn, l.seq, l.write);
          },
        },
        faulted: {
          at: 'device: mmap_read_unlock(source mm)',
          run: (w, l) => {
            upRead(w, mmapLock(w, l.src));
            if (l.result === -EBUSY) {
              [l.result, l.seq] = [0, 0]; // equal retries must give equal states
              return 'begin';
            }
            if (l.result < 0) return w.call(mmput, 'failed', l.src);
            [l.hpfn, l.result] = [l.result, 0];
            return 'install';
          },
        },
        failed: { at: 'device: return -EFAULT', run: (w) => w.ret(-EFAULT) },
        install: {
          at: 'device: mutex_lock(update); if (mmu_interval_read_retry(&sub, seq)) goto again; install the entry',
          run: (w, l) => {
            const b = mutexLock(w, updateLock(w, l.dev));
            if (b) return b;
            if (mmuIntervalReadRetry(w, l.sub, l.seq)) return 'again';
            tableInstall(w, t, tableIndex(t, l.dev, l.page), hmmPfnToPfn(l.hpfn), hmmPfnWritable(l.hpfn));
            l.used = use(w, l) ? 1 : 0;
            return 'installed';
          },
        },
        installed: {
          at: 'device: mutex_unlock(update)',
          run: (w, l) => {
            mutexUnlock(w, updateLock(w, l.dev));
            return w.call(mmput, job && l.used ? 'complete' : 'done', l.src);
          },
        },
        done: { at: 'device: return 0', run: (w) => w.ret(0) },
        again: {
          at: 'device: mutex_unlock(update); goto again',
          run: (w, l) => {
            mutexUnlock(w, updateLock(w, l.dev));
            [l.seq, l.hpfn] = [0, 0];
            return 'begin';
          },
        },
      },
    });
  };
  const access = operation(false);
  const job = operation(true);

  const invalidate = lib.routine({
    name: `${prefix}_invalidate`,
    params: ['sub', 'start', 'end', 'event', 'blockable', 'curSeq'],
    locals: ['dev'],
    steps: {
      lock: {
        at: locked ? 'device: mutex_lock(update) / mutex_trylock if !blockable' : 'device: (no mutex_lock(update): the bug)',
        run: (w, l) => {
          if (!locked) return 'clear';
          const dev = deviceOfSub(w, l.sub);
          const b = mutexLockIfBlockable(w, updateLock(w, dev), l.blockable);
          if (b === WOULD_BLOCK) return w.ret(0);
          if (b) return b;
          l.dev = dev;
          return fence ? 'fence' : 'clear';
        },
      },
      fence: {
        at: 'device: wait for the jobs in flight on the range (dma_fence_wait)',
        run: (w, l) => {
          const [a, b] = sourceRangeToTable(w, t, l.dev, l.start, l.end);
          const blocked = fenceWait(w, t, a, b);
          if (!blocked) return 'clear';
          if (l.blockable) return blocked;
          mutexUnlock(w, updateLock(w, l.dev)); // cannot wait here: tell the kernel so
          return w.ret(0);
        },
      },
      clear: {
        at: `device: ${clear ? 'clear the range from the device table' : 'the table is not cleared (the bug)'}; mmu_interval_set_seq${locked ? '; mutex_unlock(update)' : ''}`,
        run: (w, l) => {
          const dev = deviceOfSub(w, l.sub);
          if (clear) tableClearRange(w, t, ...sourceRangeToTable(w, t, dev, l.start, l.end));
          mmuIntervalSetSeq(w, l.sub, l.curSeq);
          if (locked) mutexUnlock(w, updateLock(w, dev));
          return w.ret(1);
        },
      },
    },
  });

  return defineDriver({
    name: o.name,
    summary: `a device table (${o.kind}) behind an interval notifier, dmirror's shape${clear ? '' : ', whose callback does not clear it'}${fence ? '' : ', whose callback does not wait for jobs in flight'}`,
    library: lib,
    vmaFlags: VMA_FLAGS,
    fault,
    routines: [fault, access, job, invalidate],
    needs: { intervalNotifier: true },
    attach: (w, dev) => {
      const d = w.obj(MIRROR, dev);
      intervalNotifierInsert(w, deref(d.sub, 'mirror.sub'), deref(d.srcMm, 'mirror.srcMm'), d.srcStart, d.npages, invalidate, dev);
    },
    tables: [t],
    operations: [
      { name: 'access', description: 'the device reads or writes the page through its table, faulting it in on a miss', routine: access },
      { name: 'job', description: 'a device job on the page: it latches the translation and runs until its fence signals', routine: job },
    ],
    ...o.spec,
  });
}

export interface PinningTableOptions {
  readonly name: string;
  readonly kind: TableKind;
  /** invalidate_range_end clears the entries as it drops their references (false: the bug). */
  readonly clearInEnd?: boolean;
}

/** A GUP-pinning device table behind a classic mmu_notifier that counts its invalidations. */
export function pinningTableDriver(o: PinningTableOptions): MirrorVariant {
  const { prefix, lib, fault } = base(o.name);
  const clearInEnd = o.clearInEnd !== false;
  // The subscriber's count of invalidations in progress and their sequence (KVM's mmu_invalidate_*).
  const INVAL = defineStruct(`${o.name}-inval`, ['active', 'seq', 'mn'] as const, { active: 'lock:driver', seq: 'lock:driver', mn: 'stable' });
  const t = defineTable({ name: `${o.name}-pt`, kind: o.kind, entries: 2, parent: 'source', window: { struct: INVAL, field: 'active' } });
  const inval = (w: World, mn: number) => w.obj(INVAL, deref(w.obj(MN, mn).priv, 'mmu_notifier.priv'));

  const access = lib.routine({
    name: `${prefix}_access`,
    params: ['dev', 'page', 'write'],
    locals: ['src', 'seq', 'pfn'],
    steps: {
      lock: lookup((w, l) => deviceAccess(w, t, tableIndex(t, l.dev, l.page), l.write !== 0)),
      hit: unlockTo('device: mutex_unlock(update)'),
      miss: unlockTo('device: mutex_unlock(update); the device faults', 'mmget'),
      mmget: mmgetSource,
      begin: {
        at: 'device: seq = READ_ONCE(inval.seq); smp_rmb()',
        lockless: [`${o.name}-inval.seq`],
        run: (w, l) => {
          l.seq = w.obj(INVAL, l.dev).seq;
          return 'lockSource';
        },
      },
      lockSource: {
        at: 'device: mmap_read_lock(source mm)',
        run: (w, l) => {
          const b = downRead(w, mmapLock(w, l.src));
          if (b) return b;
          return w.call(getUserPagesRemote, 'pinned', l.src, source(w, l.dev, l.page).vpn, l.write);
        },
      },
      pinned: {
        at: 'device: mmap_read_unlock(source mm)',
        run: (w, l) => {
          upRead(w, mmapLock(w, l.src));
          if (l.result < 0) return w.call(mmput, 'failed', l.src);
          [l.pfn, l.result] = [l.result, 0];
          return 'install';
        },
      },
      failed: { at: 'device: return -EFAULT', run: (w) => w.ret(-EFAULT) },
      install: {
        at: 'device: mutex_lock(update); retry if an invalidation ran or runs; install the pinned page',
        run: (w, l) => {
          const b = mutexLock(w, updateLock(w, l.dev));
          if (b) return b;
          const inv = w.obj(INVAL, l.dev);
          if (inv.active || inv.seq !== l.seq) {
            putPage(w, l.pfn);
            return 'again';
          }
          tableInstall(w, t, tableIndex(t, l.dev, l.page), l.pfn, l.write !== 0); // the table keeps GUP's reference
          deviceAccess(w, t, tableIndex(t, l.dev, l.page), l.write !== 0);
          return 'installed';
        },
      },
      installed: {
        at: 'device: mutex_unlock(update)',
        run: (w, l) => {
          mutexUnlock(w, updateLock(w, l.dev));
          return w.call(mmput, 'done', l.src);
        },
      },
      done: { at: 'device: return 0', run: (w) => w.ret(0) },
      again: {
        at: 'device: mutex_unlock(update); goto again',
        run: (w, l) => {
          mutexUnlock(w, updateLock(w, l.dev));
          [l.seq, l.pfn] = [0, 0];
          return 'begin';
        },
      },
    },
  });

  const start = lib.routine({
    name: `${prefix}_invalidate_range_start`,
    params: ['mn', 'mm', 'start', 'end', 'event', 'blockable'],
    steps: {
      count: {
        at: 'device: mutex_lock(update); inval.active++; mutex_unlock(update) (entries and references stay until end)',
        run: (w, l) => {
          const lock = updateLock(w, deref(w.obj(MN, l.mn).priv, 'mmu_notifier.priv'));
          const b = mutexLockIfBlockable(w, lock, l.blockable);
          if (b === WOULD_BLOCK) return w.ret(-EAGAIN);
          if (b) return b;
          const inv = inval(w, l.mn);
          inv.active = inv.active + 1;
          mutexUnlock(w, lock);
          return w.ret(0);
        },
      },
    },
  });

  const end = lib.routine({
    name: `${prefix}_invalidate_range_end`,
    params: ['mn', 'mm', 'start', 'end', 'event', 'blockable'],
    locals: ['dev', 'next', 'last'],
    steps: {
      lock: {
        at: 'device: mutex_lock(update)',
        run: (w, l) => {
          const dev = deref(w.obj(MN, l.mn).priv, 'mmu_notifier.priv');
          const b = mutexLock(w, updateLock(w, dev));
          if (b) return b;
          l.dev = dev;
          [l.next, l.last] = sourceRangeToTable(w, t, dev, l.start, l.end);
          return 'put';
        },
      },
      put: {
        at: clearInEnd ? 'device: clear the entry; put_page' : 'device: put_page (the entry is left: the bug)',
        run: (w, l) => {
          if (l.next >= l.last) return 'unlock';
          const { pfn } = tableRead(w, t, l.next);
          if (pfn) {
            if (clearInEnd) tableClear(w, t, l.next);
            putPage(w, pfn);
          }
          l.next = l.next + 1;
          return 'put';
        },
      },
      unlock: {
        at: 'device: inval.seq++; inval.active--; mutex_unlock(update)',
        run: (w, l) => {
          const inv = inval(w, l.mn);
          inv.seq = inv.seq + 1;
          inv.active = inv.active - 1;
          [l.next, l.last] = [0, 0];
          mutexUnlock(w, updateLock(w, l.dev));
          return w.ret(0);
        },
      },
    },
  });

  return defineDriver({
    name: o.name,
    summary: `a GUP-pinning device table (${o.kind}) behind a classic mmu_notifier that clears it in invalidate_range_end${clearInEnd ? '' : ' (it only drops the references)'}`,
    library: lib,
    vmaFlags: VMA_FLAGS,
    fault,
    routines: [fault, access, start, end],
    needs: { mmuNotifier: true },
    attach: (w, dev) => {
      const d = w.obj(MIRROR, dev);
      mmuNotifierRegister(w, deref(d.mn, 'mirror.mn'), deref(d.srcMm, 'mirror.srcMm'), { invalidateRangeStart: start, invalidateRangeEnd: end }, dev);
    },
    state: [
      {
        struct: INVAL,
        count: 1,
        init: (w, dev) => {
          w.obj(INVAL, dev).mn = w.obj(MIRROR, dev).mn;
        },
      },
    ],
    balanced: [{ struct: INVAL, field: 'active', why: 'every invalidate_range_start had its end', subscription: 'mn' }],
    tables: [t],
    operations: [{ name: 'access', description: 'the device reads or writes the page through its table, pinning it on a miss', routine: access }],
  });
}
