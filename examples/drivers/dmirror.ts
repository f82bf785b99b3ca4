/**
 * dmirror, the kernel's reference mirror (lib/test_hmm.c; ../shared/reference/kernel-selftest-cases.md
 * §1), written against the public API only: `vmamirror check FILE --driver examples/drivers/dmirror.ts`.
 *
 *   - one mmu_interval_notifier over the whole source mm (dmirror_fops_open);
 *   - `dmirror->mutex`, the update lock, serialising the install, the callback and the device's
 *     reads and writes;
 *   - the device page table (`dmirror->pt`, an xarray holding no page references): a `no-page-refs`
 *     table whose entry i translates source page i, writable or not (DPT_XA_TAG_WRITE);
 *   - dmirror_interval_invalidate: mutex_lock (mutex_trylock, else false, when not blockable),
 *     mmu_interval_set_seq, then the erase of the range (dmirror_do_update), under the mutex;
 *   - dmirror_fault → dmirror_range_fault: read_begin, mmap_read_lock, hmm_range_fault over the range
 *     with HMM_PFN_REQ_FAULT (| REQ_WRITE), unlock; -EBUSY again; mutex_lock and
 *     mmu_interval_read_retry, again if it moved; dmirror_do_fault installs every page, unlock;
 *   - the device operations `read` and `write` (HMM_DMIRROR_READ / WRITE, §1.5: a copy through the
 *     table under the mutex, a fault round on the first missing page, resumed there; `cpages` and
 *     `faults` as the ioctl returns them, nothing copied on error) and `snapshot`
 *     (HMM_DMIRROR_SNAPSHOT, §1.6: hmm_range_fault without REQ_FAULT, dmirror_mkentry per page);
 *   - device-private memory (§1.7): `migrate-to-dev` (HMM_DMIRROR_MIGRATE_TO_DEV,
 *     dmirror_migrate_to_device over migrate_vma_*), the owner filter of MMU_NOTIFY_MIGRATE in the
 *     invalidate callback, and dmirror_devmem_fault, the pgmap's migrate_to_ram, on a CPU fault.
 *   - `exclusive` (HMM_DMIRROR_EXCLUSIVE, dmirror_exclusive: make_device_exclusive of each page, an
 *     ATOMIC-tagged table entry stored under the mutex, folio_unlock, folio_put, then the read-back
 *     through the table) and `check-exclusive` (HMM_DMIRROR_CHECK_EXCLUSIVE, dmirror_check_atomic:
 *     -EPERM while an entry keeps the ATOMIC tag). The tag is DMIRROR_PT_TAG beside the table; the
 *     CPU fault that restores a pte fires MMU_NOTIFY_EXCLUSIVE, whose callback erases the entry.
 *
 * Where the model differs from lib/test_hmm.c, and why:
 *   - the scenario's device operation names one page: `read`, `write` and `snapshot` run from it to
 *     the last mirrored page (the ioctl's addr and npages);
 *   - the snapshot runs on the main notifier, not a temporary one over the chunk
 *     (dmirror_range_snapshot's mmu_interval_notifier_insert): the routine exists
 *     (`mmuIntervalNotifierInsert`, for a notifier inserted while actors run), but a scenario gives
 *     each device one interval notifier object, the main one. The main notifier covers the chunk too, so every invalidation of it moves the
 *     sequence the snapshot re-checks, as the temporary one's would; its callback also erases the
 *     chunk from the table, which the snapshot does not read;
 *   - the device's memory: one dev_pagemap of as many device-private pages as it mirrors, made at
 *     set-up (dmirror_allocate_chunk grows chunks on demand); a device page holds its data itself
 *     (dmirror's is a BACKING_PAGE, a system page behind it); dmirror_devmem_fault_alloc_and_copy's
 *     xa_erase takes dmirror->mutex, which guards the model's table (the xarray's own lock in the C);
 *   - MIGRATE_TO_DEV migrates private device memory only (dmirror_select_device: SELECT_SYSTEM, no
 *     device-coherent pages, no THP: MIGRATE_VMA_SELECT_COMPOUND); MIGRATE_TO_SYS is not modelled;
 *   - no HMM_RANGE_DEFAULT_TIMEOUT: the model has no time; a retry loop that never ends is the
 *     termination check's to report;
 *   - one chunk: the model's ranges hold at most HMM_RANGE_PAGES pages, fewer than dmirror's 64 (32);
 *   - struct hmm_dmirror_cmd's outputs (cpages, faults, the snapshot bytes) are kept per device,
 *     the last operation's, as the user's copy of the ioctl argument.
 *
 * `dmirror({ readRetry: false })` is the broken variant examples/drivers/dmirror-no-retry.ts uses.
 */
import { defineDriver, defineStruct, defineTable, Library, KERNEL, MIRROR, deref, intervalNotifierInsert, updateLock, type World, updateLockStep } from 'vmamirror';
import { INTERVAL_SEQ } from 'vmamirror';
import { assertHeld, downRead, upRead, mmapLock, mutexLock, mutexUnlock, mmgetNotZero, mmput } from 'vmamirror';
import { mmuIntervalNotifierInsert, mmuIntervalNotifierRemove, mmuIntervalReadBegin, mmuIntervalReadRetry, mmuIntervalSetSeq, tableClearRange, tableIndex, tableInstall, sourceRangeToTable, accessStart, accessComplete } from 'vmamirror';
import { hmmRangeOf, hmmRangeInit, hmmRangeSetSeq, hmmRangePfn, hmmRangeDone, hmmRangeFaultCall, hmmPfnToPfn, hmmPfnValid, hmmPfnWritable } from 'vmamirror';
import { HMM_PFN_ERROR, HMM_PFN_REQ_FAULT, HMM_PFN_REQ_WRITE, HMM_RANGE_NOW, HMM_RANGE_PAGES, EBUSY, EFAULT, EINVAL, EPERM } from 'vmamirror';
import { makeDeviceExclusive, putPage, isZeroPfn, downWrite, upWrite, freeVmaSlot, vmInsertPage, insertPfnBusy, EEXIST, ENOMEM } from 'vmamirror';
import { VM_DONTCOPY, VM_DONTDUMP, VM_FAULT_SIGBUS, VM_IO, VM_PFNMAP, VM_READ, VM_SHARED, VM_WRITE } from 'vmamirror';
import { DEV_PAGEMAP, PAGE, ENOENT, MMU_NOTIFY_MIGRATE, allocPage, vma, deviceOfSub, findVma, memremapPages, migratePfn, migratePfnToPage, mmuNotifierRangeOwner, mutexTrylock, folioLock } from 'vmamirror';
import { migrateVmaDone, migrateVmaFinalize, migrateVmaInit, migrateVmaOf, migrateVmaPages, migrateVmaSetDst, migrateVmaSetup, migrateVmaSrc, migrateVmaDst, zoneDevicePageAlloc } from 'vmamirror';
import { hmmPfnToMapOrder, HPAGE_PMD_ORDER } from 'vmamirror';
import { MIGRATE_PFN_MIGRATE, MIGRATE_PFN_WRITE, MIGRATE_VMA_SELECT_DEVICE_PRIVATE, MIGRATE_VMA_SELECT_SYSTEM } from 'vmamirror';

/** test_hmm_uapi.h: enum of the snapshot bytes dmirror_mkentry writes (no device pages in a snapshot yet). */
export const HMM_DMIRROR_PROT_ERROR = 0xff;
export const HMM_DMIRROR_PROT_NONE = 0x00;
export const HMM_DMIRROR_PROT_READ = 0x01;
export const HMM_DMIRROR_PROT_WRITE = 0x02;
export const HMM_DMIRROR_PROT_ZERO = 0x10;
export const HMM_DMIRROR_PROT_PMD = 0x04;

/** What the last ioctl gave its user, per device: its return value, struct hmm_dmirror_cmd's cpages and faults, the snapshot's bytes. */
export const DMIRROR_CMD = defineStruct('dmirrorCmd', ['ret', 'cpages', 'faults', 'snap0', 'snap1', 'snap2', 'snap3'] as const, {
  ret: 'private',
  cpages: 'private',
  faults: 'private',
  snap0: 'private',
  snap1: 'private',
  snap2: 'private',
  snap3: 'private',
});
const SNAP = ['snap0', 'snap1', 'snap2', 'snap3'] as const;

/**
 * The tag of each device-table entry (xa_pointer_tag of the xarray entry), one object per entry
 * (the table's index): DPT_XA_TAG_ATOMIC on an entry HMM_DMIRROR_EXCLUSIVE stored
 * (dmirror_atomic_map), 0 otherwise. Written with the entry, under dmirror->mutex; read by
 * dmirror_check_atomic without it (xa_load under RCU). An atomic entry is not WRITE-tagged: the
 * table holds it read-only, so a device WRITE through it faults.
 */
export const DMIRROR_PT_TAG = defineStruct('dmirrorPtTag', ['atomic'] as const, { atomic: 'lock:driver' });

export interface DmirrorOptions {
  readonly name: string;
  /** dmirror_range_fault's mmu_interval_read_retry under the mutex (false: the bug, a stale range is installed). */
  readonly readRetry?: boolean;
  /** dmirror_do_update of the invalidated range's first page only (true: the bug of a driver that takes every invalidation for one page; a THP's come whole). */
  readonly firstPageOnly?: boolean;
}

export function dmirror(o: DmirrorOptions) {
  const readRetry = o.readRetry !== false;
  const lib = new Library(o.name, [KERNEL], { kind: 'driver', sources: ['test_hmm'] });
  const pt = defineTable({ name: `${o.name}-pt`, kind: 'no-page-refs', entries: HMM_RANGE_PAGES, parent: 'source' });
  const mirror = (w: World, dev: number) => w.obj(MIRROR, dev);
  const notifier = (w: World, dev: number) => deref(mirror(w, dev).sub, 'mirror.sub');
  const sourceMm = (w: World, dev: number) => deref(mirror(w, dev).srcMm, 'mirror.srcMm');
  /** dmirror->mdevice: the owner of the device's dev_pagemap (its index + 1: the device's dev_pagemap is its own). */
  const mdevice = (dev: number) => dev + 1;
  /** range->notifier_seq of the running actor's range (on its stack). */
  const rangeSeq = (w: World) => w.obj(HMM_RANGE_NOW, hmmRangeOf(w)).notifierSeq;

  /** The device VMA of the scenario's introspector is not what dmirror maps (its .mmap is vm_insert_page of its own pages). */
  const vmFault = lib.routine({
    name: 'dmirror_vm_fault',
    params: ['vma', 'vpn', 'write'],
    steps: { sigbus: { at: 'test_hmm: the introspector mirror VMA is not dmirror’s (VM_FAULT_SIGBUS)', run: (w) => w.ret(VM_FAULT_SIGBUS) } },
  });

  /** The retry loop dmirror_range_fault and dmirror_range_snapshot share, up to holding the mutex with the sequence unmoved (`then`). */
  const rangeLoop = (then: string) => ({
    begin: {
      at: 'test_hmm: range->notifier_seq = mmu_interval_read_begin(range->notifier)',
      run: (w: World, l: { dev: number }) => w.call(mmuIntervalReadBegin, 'lockSource', notifier(w, l.dev)),
    },
    lockSource: {
      at: 'test_hmm: mmap_read_lock(mm); ret = hmm_range_fault(range)',
      run: (w: World, l: { dev: number; result: number }) => {
        const b = downRead(w, mmapLock(w, sourceMm(w, l.dev)));
        if (b) return b;
        hmmRangeSetSeq(w, hmmRangeOf(w), l.result);
        l.result = 0;
        return hmmRangeFaultCall(w, 'faulted', hmmRangeOf(w));
      },
    },
    faulted: {
      at: 'test_hmm: mmap_read_unlock(mm); if (ret == -EBUSY) continue',
      run: (w: World, l: { dev: number; result: number; ret: number }) => {
        upRead(w, mmapLock(w, sourceMm(w, l.dev)));
        [l.ret, l.result] = [l.result, 0];
        if (l.ret === -EBUSY) {
          l.ret = 0;
          return 'begin';
        }
        return l.ret ? 'out' : 'lock';
      },
    },
    lock: {
      at: readRetry
        ? 'test_hmm: mutex_lock(&dmirror->mutex); if (mmu_interval_read_retry(range->notifier, range->notifier_seq)) { mutex_unlock; continue; }'
        : 'test_hmm: mutex_lock(&dmirror->mutex) (no mmu_interval_read_retry: the bug)',
      run: (w: World, l: { dev: number }) => {
        const b = mutexLock(w, updateLock(w, l.dev));
        if (b) return b;
        if (readRetry && mmuIntervalReadRetry(w, notifier(w, l.dev), rangeSeq(w))) {
          mutexUnlock(w, updateLock(w, l.dev));
          return 'begin';
        }
        return then;
      },
    },
  });

  /**
   * dmirror_fault(dmirror, start, end, write) with its one dmirror_range_fault (pages [start, end)
   * of the device, one chunk): 0 or -errno. If the mm is gone it returns 0, as the C does.
   */
  const fault = lib.routine({
    name: 'dmirror_fault',
    params: ['dev', 'start', 'end', 'write'],
    locals: ['ret'],
    resultCounters: { lockSource: INTERVAL_SEQ }, // rangeLoop's: read_begin's sequence
    steps: {
      mmget: {
        at: 'test_hmm: if (!mmget_not_zero(mm)) return 0',
        run: (w, l) => {
          if (!mmgetNotZero(w, sourceMm(w, l.dev))) return w.ret(0);
          const d = mirror(w, l.dev);
          const flags = HMM_PFN_REQ_FAULT | (l.write ? HMM_PFN_REQ_WRITE : 0);
          hmmRangeInit(w, hmmRangeOf(w), notifier(w, l.dev), d.srcStart + l.start, d.srcStart + l.end, flags, 0, mdevice(l.dev)); // .dev_private_owner = dmirror->mdevice
          return 'begin';
        },
      },
      ...rangeLoop('install'),
      install: {
        at: 'test_hmm: ret = dmirror_do_fault(dmirror, range); mutex_unlock(&dmirror->mutex)',
        run: (w, l) => {
          assertHeld(w, updateLock(w, l.dev), 'dmirror_do_fault');
          l.ret = dmirrorDoFault(w, l.dev, l.start, l.end, l.write !== 0);
          mutexUnlock(w, updateLock(w, l.dev));
          return 'out';
        },
      },
      out: {
        at: 'test_hmm: mmput(mm)',
        run: (w, l) => {
          hmmRangeDone(w, hmmRangeOf(w)); // the range on dmirror_fault's stack dies
          return w.call(mmput, 'done', sourceMm(w, l.dev));
        },
      },
      done: { at: 'test_hmm: return ret', run: (w, l) => w.ret(l.ret) },
    },
  });

  /** dmirror_do_fault: every hmm_pfns entry into the table (under the mutex); -EFAULT for a write asked and not granted. */
  function dmirrorDoFault(w: World, dev: number, start: number, end: number, write: boolean): number {
    const d = mirror(w, dev);
    for (let i = start; i < end; i++) {
      const e = hmmRangePfn(w, hmmRangeOf(w), d.srcStart + i);
      if (e & HMM_PFN_ERROR || !hmmPfnValid(e)) w.bug(`dmirror_do_fault: WARN_ON(hmm pfn ${e} of page ${i}: error or not valid)`);
      if (write && !hmmPfnWritable(e)) return -EFAULT; // WARN_ON(!(*pfns & HMM_PFN_WRITE)) when a write was asked
      tableInstall(w, pt, tableIndex(pt, dev, i), hmmPfnToPfn(e), hmmPfnWritable(e)); // xa_store(&dmirror->pt, pfn, entry)
      w.obj(DMIRROR_PT_TAG, tableIndex(pt, dev, i)).atomic = 0; // the new entry has no ATOMIC tag
    }
    return 0;
  }

  /**
   * dmirror_do_read / dmirror_do_write under dmirror->mutex, one page per step: from the first page
   * not copied yet (bounce.cpages), an access through the table; at a missing entry (-ENOENT) or the
   * end, on to `done`, which drops the mutex.
   */
  const doCopy = (write: boolean, done: string) => ({
    copy: {
      at: write ? 'test_hmm: dmirror_do_write: entry = xa_load(&dmirror->pt, pfn); the WRITE tag' : 'test_hmm: dmirror_do_read: entry = xa_load(&dmirror->pt, pfn)',
      run: (w: World, l: { dev: number; page: number; cpages: number }) => {
        // From the first page not copied yet (bounce.cpages counts them); at a missing entry
        // (-ENOENT) or the end, the mutex is dropped. The copy latches the entry's page until
        // its memcpy is done: an access in flight, checked until it completes.
        const i = l.page + l.cpages;
        if (i >= mirror(w, l.dev).npages || !accessStart(w, pt, tableIndex(pt, l.dev, i), write)) return done;
        return 'memcpy';
      },
    },
    memcpy: {
      at: write ? 'test_hmm: dmirror_do_write: memcpy_to_page(page, 0, ptr, PAGE_SIZE); bounce->cpages++' : 'test_hmm: dmirror_do_read: memcpy_from_page(ptr, page, 0, PAGE_SIZE); bounce->cpages++',
      run: (w: World, l: { dev: number; page: number; cpages: number }) => {
        accessComplete(w, pt, tableIndex(pt, l.dev, l.page + l.cpages));
        l.cpages = l.cpages + 1;
        return 'copy';
      },
    },
  });

  /**
   * HMM_DMIRROR_READ / WRITE (dmirror_read, dmirror_write) of pages [page, npages): a copy through
   * the table under the mutex, stopping at the first missing entry (-ENOENT; a write also needs
   * DPT_XA_TAG_WRITE), a fault round from there (`faults`), and the copy resumed at the first page
   * not copied (`cpages`). The ioctl returns 0 or the fault's error; on error nothing reaches the user.
   */
  const copy = (write: boolean) =>
    lib.routine({
      name: write ? 'dmirror_write' : 'dmirror_read',
      params: ['dev', 'page', 'write'],
      locals: ['cpages', 'faults', 'ret'],
      steps: {
        lock: {
          at: 'test_hmm: mutex_lock(&dmirror->mutex)',
          run: (w, l) => {
            const b = mutexLock(w, updateLock(w, l.dev));
            return b || 'copy';
          },
        },
        ...doCopy(write, 'unlock'),
        unlock: {
          at: 'test_hmm: mutex_unlock(&dmirror->mutex); if (ret != -ENOENT) break; ret = dmirror_fault(dmirror, start, end, write)',
          run: (w, l) => {
            mutexUnlock(w, updateLock(w, l.dev));
            const end = mirror(w, l.dev).npages;
            if (l.page + l.cpages >= end) return 'out';
            // start = cmd->addr + (bounce.cpages << PAGE_SHIFT): resume at the first page not copied
            return w.call(fault, 'faulted', l.dev, l.page + l.cpages, end, write ? 1 : 0);
          },
        },
        faulted: {
          at: 'test_hmm: if (ret) break; cmd->faults++',
          run: (w, l) => {
            [l.ret, l.result] = [l.result, 0];
            if (l.ret) return 'out';
            l.faults = l.faults + 1;
            return 'lock';
          },
        },
        out: {
          at: 'test_hmm: cmd->cpages = bounce.cpages; copy_to_user only if ret == 0',
          run: (w, l) => {
            const cmd = w.obj(DMIRROR_CMD, l.dev);
            [cmd.ret, cmd.cpages, cmd.faults] = [l.ret, l.cpages, l.faults];
            return w.ret(l.ret);
          },
        },
      },
    });
  const read = copy(false);
  const write = copy(true);

  /**
   * HMM_DMIRROR_SNAPSHOT (dmirror_snapshot, one chunk: dmirror_range_snapshot) of pages [page,
   * npages): hmm_range_fault with default_flags 0 (nothing faulted), then, under the mutex with the
   * sequence unmoved, dmirror_mkentry of every entry into the user's bytes. -EINVAL if the mm is gone.
   */
  const snapshot = lib.routine({
    name: 'dmirror_snapshot',
    params: ['dev', 'page', 'write'],
    locals: ['ret'],
    resultCounters: { lockSource: INTERVAL_SEQ }, // rangeLoop's: read_begin's sequence
    steps: {
      mmget: {
        at: 'test_hmm: if (!mmget_not_zero(mm)) return -EINVAL',
        run: (w, l) => {
          if (!mmgetNotZero(w, sourceMm(w, l.dev))) {
            w.obj(DMIRROR_CMD, l.dev).ret = -EINVAL;
            return w.ret(-EINVAL);
          }
          const d = mirror(w, l.dev);
          hmmRangeInit(w, hmmRangeOf(w), notifier(w, l.dev), d.srcStart + l.page, d.srcStart + d.npages, 0, 0, mdevice(l.dev));
          return 'begin';
        },
      },
      ...rangeLoop('mkentry'),
      mkentry: {
        at: 'test_hmm: for each page: dmirror_mkentry(dmirror, range, perm + i, range->hmm_pfns[i]); mutex_unlock(&dmirror->mutex)',
        run: (w, l) => {
          const d = mirror(w, l.dev);
          const cmd = w.obj(DMIRROR_CMD, l.dev);
          for (let i = l.page; i < d.npages; i++) cmd[SNAP[i]] = dmirrorMkentry(w, hmmRangePfn(w, hmmRangeOf(w), d.srcStart + i));
          mutexUnlock(w, updateLock(w, l.dev));
          return 'out';
        },
      },
      out: {
        at: 'test_hmm: mmput(mm)',
        run: (w, l) => {
          hmmRangeDone(w, hmmRangeOf(w));
          return w.call(mmput, 'done', sourceMm(w, l.dev));
        },
      },
      done: {
        at: 'test_hmm: cmd->cpages += n (each chunk copied to the user); return ret',
        run: (w, l) => {
          const cmd = w.obj(DMIRROR_CMD, l.dev);
          cmd.ret = l.ret;
          cmd.cpages = l.ret === 0 ? mirror(w, l.dev).npages - l.page : 0; // one chunk: all of it, or nothing
          return w.ret(l.ret);
        },
      },
    },
  });

  /** The table entry of source page `vpn`. */
  const ptIndex = (w: World, dev: number, vpn: number) => tableIndex(pt, dev, vpn - mirror(w, dev).srcStart);

  /**
   * dmirror_devmem_fault, the device's dev_pagemap_ops.migrate_to_ram: do_swap_page calls it with
   * the faulting (vma, vpn) and the device page, locked and referenced. migrate_vma_setup of that
   * one page (SELECT_DEVICE_PRIVATE, pgmap_owner = mdevice, fault_page), then
   * dmirror_devmem_fault_alloc_and_copy — a system page, the device entry erased (the MIGRATE
   * invalidation of its own pages was skipped), the copy — migrate_vma_pages and
   * migrate_vma_finalize ("No device finalize step is needed"). VM_FAULT_SIGBUS if setup fails.
   */
  const devmemFault = lib.routine({
    name: 'dmirror_devmem_fault',
    params: ['vma', 'vpn', 'page'],
    locals: ['dev', 'spage', 'dpage'],
    steps: {
      setup: {
        at: 'test_hmm: dmirror_devmem_fault args.fault_page = vmf->page; migrate_vma_setup(&args)',
        run: (w, l) => {
          l.dev = deref(w.obj(PAGE, l.page).pgmap, 'page.pgmap'); // rpage->zone_device_data: the device's own dev_pagemap
          migrateVmaInit(w, migrateVmaOf(w), l.vma, l.vpn, l.vpn + 1, mdevice(l.dev), MIGRATE_VMA_SELECT_DEVICE_PRIVATE, l.page);
          return w.call(migrateVmaSetup, 'alloc', migrateVmaOf(w));
        },
      },
      alloc: {
        at: 'test_hmm: dmirror_devmem_fault_alloc_and_copy dpage = alloc_page_vma(GFP_HIGHUSER_MOVABLE, args->vma, addr); lock_page(dpage)',
        run: (w, l) => {
          const ret = l.result;
          l.result = 0;
          if (ret) {
            migrateVmaDone(w, migrateVmaOf(w));
            return w.ret(VM_FAULT_SIGBUS);
          }
          const src = migrateVmaSrc(w, migrateVmaOf(w), 0);
          l.spage = migratePfnToPage(src);
          if (l.spage === 0 || !(src & MIGRATE_PFN_MIGRATE)) return w.call(migrateVmaPages, 'finalize', migrateVmaOf(w));
          l.dpage = allocPage(w);
          if (l.dpage === 0) return w.call(migrateVmaPages, 'finalize', migrateVmaOf(w));
          mutexTrylock(w, folioLock(w, l.dpage)); // lock_page on a page nobody else can reach yet
          return 'erase';
        },
      },
      // xa_erase takes the xarray's own lock; the model's table is guarded by dmirror->mutex instead.
      erase: {
        at: 'test_hmm: dmirror_devmem_fault_alloc_and_copy xa_erase(&dmirror->pt, addr >> PAGE_SHIFT)',
        run: (w, l) => {
          const b = mutexLock(w, updateLock(w, l.dev));
          if (b) return b;
          const i = ptIndex(w, l.dev, l.vpn);
          ptErase(w, i, i + 1);
          mutexUnlock(w, updateLock(w, l.dev));
          return 'copy';
        },
      },
      copy: {
        at: 'test_hmm: dmirror_devmem_fault_alloc_and_copy copy_highpage(dpage, spage); *dst = migrate_pfn(page_to_pfn(dpage))',
        run: (w, l) => {
          const m = migrateVmaOf(w);
          w.own(PAGE, l.dpage); // not published before migrate_vma_finalize
          w.obj(PAGE, l.dpage).contents = w.obj(PAGE, l.spage).contents;
          migrateVmaSetDst(w, m, 0, migratePfn(l.dpage) | (migrateVmaSrc(w, m, 0) & MIGRATE_PFN_WRITE));
          return w.call(migrateVmaPages, 'finalize', m);
        },
      },
      finalize: { at: 'test_hmm: dmirror_devmem_fault migrate_vma_finalize(&args)', run: (w) => w.call(migrateVmaFinalize, 'done', migrateVmaOf(w)) },
      done: {
        at: 'test_hmm: dmirror_devmem_fault return 0',
        run: (w, l) => {
          migrateVmaDone(w, migrateVmaOf(w));
          [l.dev, l.spage, l.dpage] = [0, 0, 0];
          return w.ret(0);
        },
      },
    },
  });

  /**
   * HMM_DMIRROR_MIGRATE_TO_DEV (dmirror_migrate_to_device) of pages [page, npages): under the
   * source's mmap_read_lock, per VMA chunk, migrate_vma_setup (SELECT_SYSTEM, pgmap_owner =
   * mdevice: the MIGRATE invalidation this device skips), dmirror_migrate_alloc_and_copy (a device
   * page per page to migrate), migrate_vma_pages, dmirror_migrate_finalize_and_map (the device
   * entries, under the mutex, writable iff MIGRATE_PFN_WRITE), migrate_vma_finalize. Then the pages
   * are read back through the table without faulting: -ENOENT at the first page without an entry;
   * `cpages` is the pages read. -EINVAL if the mm is gone or a page has no readable VMA.
   */
  const migrateToDevice = lib.routine({
    name: 'dmirror_migrate_to_device',
    params: ['dev', 'page', 'write'],
    locals: ['addr', 'next', 'i', 'cpages', 'ret'],
    steps: {
      mmget: {
        at: 'test_hmm: dmirror_migrate_to_device if (!mmget_not_zero(mm)) return -EINVAL',
        run: (w, l) => {
          if (!mmgetNotZero(w, sourceMm(w, l.dev))) {
            w.obj(DMIRROR_CMD, l.dev).ret = -EINVAL;
            return w.ret(-EINVAL);
          }
          l.addr = mirror(w, l.dev).srcStart + l.page;
          return 'lock';
        },
      },
      lock: {
        at: 'test_hmm: dmirror_migrate_to_device mmap_read_lock(mm)',
        run: (w, l) => {
          const b = downRead(w, mmapLock(w, sourceMm(w, l.dev)));
          return b || 'chunk';
        },
      },
      chunk: {
        at: 'test_hmm: dmirror_migrate_to_device vma = vma_lookup(mm, addr); ... ret = migrate_vma_setup(&args)',
        run: (w, l) => {
          const mm = sourceMm(w, l.dev);
          const vi = findVma(w, mm, l.addr);
          if (vi < 0 || !(vma(w, vi).flags & VM_READ)) {
            l.ret = -EINVAL;
            return 'out';
          }
          const d = mirror(w, l.dev);
          l.next = Math.min(d.srcStart + d.npages, vma(w, vi).end);
          migrateVmaInit(w, migrateVmaOf(w), vi, l.addr, l.next, mdevice(l.dev), MIGRATE_VMA_SELECT_SYSTEM);
          return w.call(migrateVmaSetup, 'setup', migrateVmaOf(w));
        },
      },
      setup: {
        at: 'test_hmm: dmirror_migrate_to_device if (ret) goto out',
        run: (w, l) => {
          [l.ret, l.result] = [l.result, 0];
          if (l.ret) {
            migrateVmaDone(w, migrateVmaOf(w));
            return 'out';
          }
          l.i = 0;
          return 'alloc';
        },
      },
      // One page per step: the copy reads the source page.
      alloc: {
        at: 'test_hmm: dmirror_migrate_alloc_and_copy dpage = dmirror_devmem_alloc_page(dmirror); copy_highpage(rpage, spage)',
        run: (w, l) => {
          const m = migrateVmaOf(w);
          for (; l.i < l.next - l.addr; l.i++) {
            const src = migrateVmaSrc(w, m, l.i);
            if (!(src & MIGRATE_PFN_MIGRATE)) continue;
            const spage = migratePfnToPage(src); // 0 for a pte_none hole
            const dpage = zoneDevicePageAlloc(w, l.dev); // the device's dev_pagemap is its own (index dev)
            if (dpage === 0) continue;
            w.obj(PAGE, dpage).contents = spage ? w.obj(PAGE, spage).contents : 0; // copy_highpage / clear_highpage
            const write = src & MIGRATE_PFN_WRITE || (spage === 0 && vma(w, findVma(w, sourceMm(w, l.dev), l.addr + l.i)).flags & VM_WRITE);
            migrateVmaSetDst(w, m, l.i, migratePfn(dpage) | (write ? MIGRATE_PFN_WRITE : 0));
            l.i = l.i + 1;
            return 'alloc';
          }
          l.i = 0;
          return w.call(migrateVmaPages, 'map', m);
        },
      },
      map: {
        at: 'test_hmm: dmirror_migrate_finalize_and_map mutex_lock(&dmirror->mutex); xa_store(&dmirror->pt, pfn, entry); mutex_unlock',
        run: (w, l) => {
          const b = mutexLock(w, updateLock(w, l.dev));
          if (b) return b;
          const m = migrateVmaOf(w);
          for (let i = 0; i < l.next - l.addr; i++) {
            const dst = migrateVmaDst(w, m, i);
            const dpage = migratePfnToPage(dst);
            if (!(migrateVmaSrc(w, m, i) & MIGRATE_PFN_MIGRATE) || dpage === 0) continue;
            tableInstall(w, pt, ptIndex(w, l.dev, l.addr + i), dpage, (dst & MIGRATE_PFN_WRITE) !== 0);
            w.obj(DMIRROR_PT_TAG, ptIndex(w, l.dev, l.addr + i)).atomic = 0; // a new entry, no ATOMIC tag
          }
          mutexUnlock(w, updateLock(w, l.dev));
          return w.call(migrateVmaFinalize, 'nextChunk', m);
        },
      },
      nextChunk: {
        at: 'test_hmm: dmirror_migrate_to_device for (addr = start; addr < end; addr = next)',
        run: (w, l) => {
          migrateVmaDone(w, migrateVmaOf(w));
          l.addr = l.next;
          if (l.addr < mirror(w, l.dev).srcStart + mirror(w, l.dev).npages) return 'chunk';
          upRead(w, mmapLock(w, sourceMm(w, l.dev)));
          return w.call(mmput, 'readLock', sourceMm(w, l.dev));
        },
      },
      // "Return the migrated data for verification. Only for pages in device zone": dmirror_do_read, no fault.
      readLock: {
        at: 'test_hmm: dmirror_migrate_to_device mutex_lock(&dmirror->mutex); ret = dmirror_do_read(dmirror, start, end, &bounce)',
        run: (w, l) => {
          const b = mutexLock(w, updateLock(w, l.dev));
          return b || 'copy';
        },
      },
      ...doCopy(false, 'readDone'),
      readDone: {
        at: 'test_hmm: dmirror_migrate_to_device mutex_unlock(&dmirror->mutex); cmd->cpages = bounce.cpages',
        run: (w, l) => {
          mutexUnlock(w, updateLock(w, l.dev));
          const ret = l.page + l.cpages < mirror(w, l.dev).npages ? -ENOENT : 0;
          const cmd = w.obj(DMIRROR_CMD, l.dev);
          [cmd.ret, cmd.cpages, cmd.faults] = [ret, l.cpages, 0];
          [l.addr, l.next, l.cpages] = [0, 0, 0];
          return w.ret(ret);
        },
      },
      out: {
        at: 'test_hmm: dmirror_migrate_to_device out: mmap_read_unlock(mm); mmput(mm)',
        run: (w, l) => {
          upRead(w, mmapLock(w, sourceMm(w, l.dev)));
          return w.call(mmput, 'failed', sourceMm(w, l.dev));
        },
      },
      failed: {
        at: 'test_hmm: dmirror_migrate_to_device return ret',
        run: (w, l) => {
          const cmd = w.obj(DMIRROR_CMD, l.dev);
          [cmd.ret, cmd.cpages, cmd.faults] = [l.ret, 0, 0];
          return w.ret(l.ret);
        },
      },
    },
  });

  /**
   * HMM_DMIRROR_EXCLUSIVE (dmirror_exclusive) of pages [page, npages): under mmap_read_lock, per
   * page make_device_exclusive(mm, addr, NULL, &folio), then dmirror_atomic_map (an ATOMIC-tagged
   * entry stored under the mutex), folio_unlock, folio_put; stopping at the first error. Then the
   * data is read back through the table (dmirror_do_read under the mutex, no fault: -ENOENT at a
   * missing entry), `cpages` as the ioctl returns it. -EINVAL if the mm is gone.
   */
  const exclusive = lib.routine({
    name: 'dmirror_exclusive',
    params: ['dev', 'page', 'write'],
    locals: ['i', 'pfn', 'ret', 'cpages'],
    steps: {
      mmget: {
        at: 'test_hmm: dmirror_exclusive if (!mmget_not_zero(mm)) return -EINVAL',
        run: (w, l) => {
          if (!mmgetNotZero(w, sourceMm(w, l.dev))) {
            setCmd(w, l.dev, -EINVAL, 0);
            return w.ret(-EINVAL);
          }
          l.i = l.page;
          return 'mmapLock';
        },
      },
      mmapLock: {
        at: 'test_hmm: dmirror_exclusive mmap_read_lock(mm)',
        run: (w, l) => downRead(w, mmapLock(w, sourceMm(w, l.dev))) || 'next',
      },
      next: {
        at: 'test_hmm: dmirror_exclusive for (addr = start; !ret && addr < end; addr += PAGE_SIZE) page = make_device_exclusive(mm, addr, NULL, &folio)',
        run: (w, l) => {
          const d = mirror(w, l.dev);
          if (l.i >= d.npages) return 'mmapUnlock';
          return w.call(makeDeviceExclusive, 'made', sourceMm(w, l.dev), d.srcStart + l.i);
        },
      },
      made: {
        at: 'test_hmm: dmirror_exclusive if (IS_ERR(page)) { ret = PTR_ERR(page); break; }',
        run: (w, l) => {
          [l.pfn, l.result] = [l.result, 0];
          if (l.pfn > 0) return 'atomicMap';
          [l.ret, l.pfn] = [l.pfn, 0];
          return 'mmapUnlock';
        },
      },
      atomicMap: {
        at: 'test_hmm: dmirror_atomic_map mutex_lock; xa_store(&dmirror->pt, addr >> PAGE_SHIFT, xa_tag_pointer(page, DPT_XA_TAG_ATOMIC)); mutex_unlock',
        run: (w, l) => {
          const b = mutexLock(w, updateLock(w, l.dev));
          if (b) return b;
          const index = tableIndex(pt, l.dev, l.i);
          tableInstall(w, pt, index, l.pfn, false);
          w.obj(DMIRROR_PT_TAG, index).atomic = 1;
          mutexUnlock(w, updateLock(w, l.dev));
          return 'folioUnlock';
        },
      },
      folioUnlock: {
        at: 'test_hmm: dmirror_exclusive folio_unlock(folio)',
        run: (w, l) => {
          mutexUnlock(w, folioLock(w, l.pfn));
          return 'folioPut';
        },
      },
      folioPut: {
        at: 'test_hmm: dmirror_exclusive folio_put(folio)',
        run: (w, l) => {
          putPage(w, l.pfn);
          [l.pfn, l.i] = [0, l.i + 1];
          return 'next';
        },
      },
      mmapUnlock: {
        at: 'test_hmm: dmirror_exclusive mmap_read_unlock(mm); mmput(mm)',
        run: (w, l) => {
          upRead(w, mmapLock(w, sourceMm(w, l.dev)));
          return w.call(mmput, 'putMm', sourceMm(w, l.dev));
        },
      },
      putMm: {
        at: 'test_hmm: dmirror_exclusive if (ret) return ret',
        run: (w, l) => {
          if (!l.ret) return 'lock';
          setCmd(w, l.dev, l.ret, 0);
          return w.ret(l.ret);
        },
      },
      // "Return the migrated data for verification": dmirror_do_read under the mutex, no fault.
      lock: {
        at: 'test_hmm: dmirror_exclusive mutex_lock(&dmirror->mutex); ret = dmirror_do_read(dmirror, start, end, &bounce)',
        run: (w, l) => mutexLock(w, updateLock(w, l.dev)) || 'copy',
      },
      ...doCopy(false, 'unlock'),
      unlock: {
        at: 'test_hmm: dmirror_exclusive mutex_unlock(&dmirror->mutex); cmd->cpages = bounce.cpages',
        run: (w, l) => {
          mutexUnlock(w, updateLock(w, l.dev));
          l.ret = l.page + l.cpages < mirror(w, l.dev).npages ? -ENOENT : 0;
          setCmd(w, l.dev, l.ret, l.cpages);
          return w.ret(l.ret);
        },
      },
    },
  });

  /** HMM_DMIRROR_CHECK_EXCLUSIVE (dmirror_check_atomic) of pages [page, npages): -EPERM if an entry still has the ATOMIC tag, else 0. */
  const checkExclusive = lib.routine({
    name: 'dmirror_check_atomic',
    params: ['dev', 'page', 'write'],
    locals: ['i'],
    steps: {
      // One xa_load per step (each is its own access under RCU, not under the mutex).
      check: {
        at: 'test_hmm: dmirror_check_atomic entry = xa_load(&dmirror->pt, pfn); if (xa_pointer_tag(entry) == DPT_XA_TAG_ATOMIC) return -EPERM',
        lockless: ['dmirrorPtTag.atomic'],
        run: (w, l) => {
          const i = l.page + l.i;
          let ret = 0;
          if (i < mirror(w, l.dev).npages) {
            if (!w.obj(DMIRROR_PT_TAG, tableIndex(pt, l.dev, i)).atomic) {
              l.i = l.i + 1;
              return 'check';
            }
            ret = -EPERM;
          }
          setCmd(w, l.dev, ret, 0);
          return w.ret(ret);
        },
      },
    },
  });

  /** The ioctl's outputs (the ioctl layer zeroes cpages and faults first). */
  function setCmd(w: World, dev: number, ret: number, cpages: number): void {
    const cmd = w.obj(DMIRROR_CMD, dev);
    [cmd.ret, cmd.cpages, cmd.faults] = [ret, cpages, 0];
  }


  /** xa_erase of table entries [a, b): the entry goes, and its tag with it. */
  function ptErase(w: World, a: number, b: number): void {
    tableClearRange(w, pt, a, b);
    for (let i = a; i < b; i++) w.obj(DMIRROR_PT_TAG, i).atomic = 0;
  }

  const invalidate = lib.routine({
    name: 'dmirror_interval_invalidate',
    params: ['sub', 'start', 'end', 'event', 'blockable', 'curSeq'],
    locals: ['dev'],
    counters: { curSeq: INTERVAL_SEQ },
    steps: {
      // Its own migration: the device table is updated by the migration code itself (reads the
      // owner only for a MIGRATE event, so no other invalidation's step touches more than its frame).
      owner: {
        at: 'test_hmm: if (range->event == MMU_NOTIFY_MIGRATE && range->owner == dmirror->mdevice) return true',
        run: (w, l) => (l.event === MMU_NOTIFY_MIGRATE && mmuNotifierRangeOwner(w, l.event) === mdevice(deviceOfSub(w, l.sub)) ? w.ret(1) : 'lock'),
      },
      // mutex_lock, or mutex_trylock when !blockable (false on contention): the shared update-lock step.
      lock: updateLockStep('test_hmm: if (blockable) mutex_lock(&dmirror->mutex); else if (!mutex_trylock(&dmirror->mutex)) return false', 'update'),
      update: {
        at: 'test_hmm: mmu_interval_set_seq(mni, cur_seq); dmirror_do_update(dmirror, range->start, range->end); mutex_unlock(&dmirror->mutex)',
        run: (w, l) => {
          assertHeld(w, updateLock(w, l.dev), 'mmu_interval_set_seq');
          mmuIntervalSetSeq(w, l.sub, l.curSeq);
          const [a, b] = sourceRangeToTable(w, pt, l.dev, l.start, l.end);
          ptErase(w, a, o.firstPageOnly ? Math.min(b, a + 1) : b); // xa_erase of each entry in the range
          mutexUnlock(w, updateLock(w, l.dev));
          return w.ret(1);
        },
      },
    },
  });

  // dmirror_fops_release: mmu_interval_notifier_remove (it sleeps while an invalidation epoch is
  // open), then xa_destroy of the table. The scenario's device is opened at set-up (attach); these
  // close it and open it again while the other actors run: the interval notifier unregistered and
  // registered at run time. The model empties the table first: after the remove the kernel's table
  // is unreachable (the file's last reference is gone) but still holds pointers no invalidation
  // will erase, which the device-table property, checking every table at every step, would report;
  // no access can tell the two orders apart.
  const close = lib.routine({
    name: 'dmirror_fops_release',
    params: ['dev', 'page', 'write'],
    steps: {
      destroy: {
        // xa_destroy takes the xarray's own lock; the model's table is guarded by the mutex instead.
        at: 'test_hmm: dmirror_fops_release xa_destroy(&dmirror->pt)',
        run: (w, l) => {
          const b = mutexLock(w, updateLock(w, l.dev));
          if (b) return b;
          ptErase(w, 0, pt.entries);
          mutexUnlock(w, updateLock(w, l.dev));
          return 'remove';
        },
      },
      remove: { at: 'test_hmm: dmirror_fops_release mmu_interval_notifier_remove(&dmirror->notifier)', run: (w, l) => w.call(mmuIntervalNotifierRemove, 'done', notifier(w, l.dev)) },
      done: { at: 'test_hmm: dmirror_fops_release', run: (w) => w.ret(0) },
    },
  });

  // dmirror_fops_open: mmu_interval_notifier_insert(&dmirror->notifier, current->mm, 0, ULONG_MAX & PAGE_MASK, &dmirror_min_ops).
  const open = lib.routine({
    name: 'dmirror_fops_open',
    params: ['dev', 'page', 'write'],
    steps: {
      insert: {
        at: 'test_hmm: dmirror_fops_open mmu_interval_notifier_insert',
        run: (w, l) => w.call(mmuIntervalNotifierInsert, 'opened', notifier(w, l.dev), sourceMm(w, l.dev), 0, w.layout.dims.mmPages, w.routineRef(invalidate), l.dev),
      },
      opened: { at: 'test_hmm: dmirror_fops_open', run: (w, l) => w.ret(l.result) },
    },
  });

  /**
   * mmap of the device file, MAP_PRIVATE and read-write, over pages [page, last] of the process
   * (vm_mmap_pgoff → do_mmap → dmirror_fops_mmap): a new VMA over a free range (-EEXIST if one is
   * there, as MAP_FIXED_NOREPLACE: the range a munmap freed), then for each page
   * alloc_page(GFP_KERNEL | __GFP_ZERO), vm_insert_page (VM_MIXEDMAP, a normal refcounted pte,
   * read-only in a private mapping) and put_page. Returns 0 or -errno (hmm-tests' mixedmap).
   */
  const fopsMmap = lib.routine({
    name: 'dmirror_fops_mmap',
    params: ['dev', 'page', 'write'],
    locals: ['vma', 'vpn', 'pfn', 'ret'],
    steps: {
      lock: {
        at: 'test_hmm: vm_mmap_pgoff mmap_write_lock_killable; do_mmap; call_mmap(file, vma)',
        run: (w, l) => {
          const mm = sourceMm(w, l.dev);
          const b = downWrite(w, mmapLock(w, mm));
          if (b) return b;
          const d = mirror(w, l.dev);
          const [start, end] = [d.srcStart + l.page, d.srcStart + d.npages];
          l.vma = -1;
          for (let vpn = start; vpn < end; vpn++) if (findVma(w, mm, vpn) >= 0) l.ret = -EEXIST; // MAP_FIXED_NOREPLACE
          if (l.ret === 0) l.vma = freeVmaSlot(w, mm); // vm_area_alloc
          if (l.ret === 0 && l.vma < 0) l.ret = -ENOMEM;
          if (l.ret < 0) return 'unlock';
          const v = vma(w, l.vma);
          v.start = start;
          v.end = end;
          v.pgoff = 0;
          v.flags = VM_READ | VM_WRITE; // a private file mapping: no VM_SHARED, no VM_ANON
          v.used = 1;
          l.vpn = start;
          return 'alloc';
        },
      },
      alloc: {
        at: 'test_hmm: dmirror_fops_mmap alloc_page(GFP_KERNEL | __GFP_ZERO)',
        run: (w, l) => {
          l.pfn = allocPage(w);
          if (l.pfn === 0) {
            l.ret = -ENOMEM;
            return 'unlock';
          }
          return 'insert';
        },
      },
      insert: {
        at: 'test_hmm: dmirror_fops_mmap vm_insert_page(vma, addr, page)',
        run: (w, l) => {
          w.own(PAGE, l.pfn); // not yet mapped: ours
          const b = insertPfnBusy(w, l.vma);
          if (b) return b;
          l.ret = vmInsertPage(w, l.vma, l.vpn, l.pfn);
          return 'put';
        },
      },
      put: {
        at: 'test_hmm: dmirror_fops_mmap put_page(page)',
        run: (w, l) => {
          putPage(w, l.pfn); // the pte holds its own reference (or, on -EBUSY, the page is freed)
          l.pfn = 0;
          l.vpn = l.vpn + 1;
          return l.ret === 0 && l.vpn < vma(w, l.vma).end ? 'alloc' : 'unlock';
        },
      },
      unlock: {
        at: 'test_hmm: vm_mmap_pgoff mmap_write_unlock',
        run: (w, l) => {
          upWrite(w, mmapLock(w, sourceMm(w, l.dev)));
          const r = l.ret;
          l.ret = 0;
          l.vma = 0;
          l.vpn = 0;
          return w.ret(r);
        },
      },
    },
  });

  return defineDriver({
    name: o.name,
    summary: `dmirror (lib/test_hmm.c): an interval notifier over the whole mm, hmm_range_fault on ranges, a device table without page references${readRetry ? '' : ', installing without mmu_interval_read_retry (the bug)'}`,
    library: lib,
    vmaFlags: VM_PFNMAP | VM_IO | VM_DONTCOPY | VM_DONTDUMP | VM_SHARED | VM_READ | VM_WRITE,
    fault: vmFault,
    routines: [read, write, snapshot, fault, invalidate, vmFault, close, open, migrateToDevice, devmemFault, exclusive, checkExclusive, fopsMmap],
    needs: { intervalNotifier: true },
    // dmirror_fops_open: mmu_interval_notifier_insert(&dmirror->notifier, current->mm, 0, ULONG_MAX & PAGE_MASK, &dmirror_min_ops)
    // dmirror_allocate_chunk: memremap_pages of the device's memory (MEMORY_DEVICE_PRIVATE, owner mdevice,
    // dmirror_devmem_ops), done here once, as many device pages as the device mirrors.
    attach: (w, dev) => {
      intervalNotifierInsert(w, notifier(w, dev), sourceMm(w, dev), 0, w.layout.dims.mmPages, invalidate, dev);
      memremapPages(w, dev, mdevice(dev), w.routineRef(devmemFault), mirror(w, dev).npages);
    },
    state: [
      { struct: DMIRROR_CMD, count: 1 },
      { struct: DEV_PAGEMAP, count: 1 },
      { struct: DMIRROR_PT_TAG, count: pt.entries },
    ],
    acceptedMutants: {
      'swap-set-seq@dmirror_interval_invalidate:update':
        'erasing the range before mmu_interval_set_seq is as correct as after it while both run under dmirror->mutex: ' +
        "dmirror_range_fault's mmu_interval_read_retry and dmirror_do_fault run under it too, so none falls between the erase and set_seq.",
      'drop-dontcopy@mirror_mmap:vma':
        "the introspector's device VMA is not dmirror's mapping (dmirror_vm_fault: VM_FAULT_SIGBUS, nothing is ever mapped in it), so a fork that copies it copies no translation.",
    },
    tables: [pt],
    operations: [
      { name: 'read', description: 'HMM_DMIRROR_READ from the page to the last: copy through the device table, faulting in what is missing', routine: read },
      { name: 'write', description: 'HMM_DMIRROR_WRITE from the page to the last: the same with writable entries', routine: write },
      { name: 'snapshot', description: 'HMM_DMIRROR_SNAPSHOT from the page to the last: hmm_range_fault without faulting, the protection of each page', routine: snapshot },
      {
        name: 'migrate-to-dev',
        description: 'HMM_DMIRROR_MIGRATE_TO_DEV from the page to the last: migrate_vma_* into device-private pages, the device table mapping them, then a read back through it without faulting',
        routine: migrateToDevice,
      },
      { name: 'close', description: 'the last close of the file: dmirror_fops_release removes the interval notifier (waiting for an open epoch) and empties the table', routine: close },
      { name: 'mmap', description: 'mmap of the device file, MAP_PRIVATE read-write, over the page to the last (a range munmap freed): a VM_MIXEDMAP VMA of zeroed pages inserted with vm_insert_page', routine: fopsMmap },
      { name: 'open', description: 'open the file again: dmirror_fops_open inserts the interval notifier over the whole mm while the others run', routine: open },
      { name: 'exclusive', description: 'HMM_DMIRROR_EXCLUSIVE from the page to the last: make_device_exclusive of each page, an ATOMIC entry in the device table, then read back through it', routine: exclusive },
      { name: 'check-exclusive', description: 'HMM_DMIRROR_CHECK_EXCLUSIVE from the page to the last: -EPERM while any entry still has the ATOMIC tag', routine: checkExclusive },
    ],
  });
}

/** dmirror_mkentry for the model's pages (neither device-private nor device-coherent): the zero page (the zero-page layer) adds HMM_DMIRROR_PROT_ZERO, PMD-mapped ones (the thp layer) HMM_DMIRROR_PROT_PMD. */
export function dmirrorMkentry(w: World, e: number): number {
  if (e & HMM_PFN_ERROR) return HMM_DMIRROR_PROT_ERROR;
  if (!hmmPfnValid(e)) return HMM_DMIRROR_PROT_NONE;
  // is_zero_pfn(page_to_pfn(page)): HMM_DMIRROR_PROT_ZERO (the zero-page layer), else PROT_NONE; then the R/W bit.
  const zero = isZeroPfn(w, hmmPfnToPfn(e)) ? HMM_DMIRROR_PROT_ZERO : HMM_DMIRROR_PROT_NONE;
  const perm = zero | (hmmPfnWritable(e) ? HMM_DMIRROR_PROT_WRITE : HMM_DMIRROR_PROT_READ);
  // `if (hmm_pfn_to_map_order(entry) + PAGE_SHIFT == PMD_SHIFT) *perm |= HMM_DMIRROR_PROT_PMD;`
  return hmmPfnToMapOrder(e) === HPAGE_PMD_ORDER ? perm | HMM_DMIRROR_PROT_PMD : perm;
}

export default dmirror({ name: 'dmirror' });
