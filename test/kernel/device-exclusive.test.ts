/**
 * Device-exclusive entries (v6.15): mm/rmap.c:make_device_exclusive turns a writable anonymous pte
 * into a non-present entry inside an MMU_NOTIFY_EXCLUSIVE invalidation, the page returned locked
 * and referenced; a CPU fault on the entry (mm/memory.c:do_swap_page →
 * remove_device_exclusive_entry → restore_exclusive_pte) fires MMU_NOTIFY_EXCLUSIVE again and puts
 * the present pte back, with the mapcount and reference the entry kept; hmm_range_fault
 * (mm/hmm.c:hmm_vma_handle_pte) reports the entry as not valid without a fault request and faults
 * it back with one.
 */
import { describe, expect, it } from 'vitest';
import { buildWorld } from '../../src/kernel/topology.js';
import { addVma, populateAnon } from '../../src/kernel/setup.js';
import { pte, vma } from '../../src/kernel/pgtable.js';
import { MM, PAGE, TASK } from '../../src/kernel/structs.js';
import { vmMunmap } from '../../src/kernel/ops/munmap.js';
import { EBUSY, EOPNOTSUPP, VM_ANON, VM_READ } from '../../src/kernel/flags.js';
import { deviceExclusivePfn, makeDeviceExclusive } from '../../src/kernel/ops/device-exclusive.js';
import { cpuAccess } from '../../src/kernel/ops/access.js';
import { getUserPagesRemote } from '../../src/kernel/ops/gup.js';
import { putPage } from '../../src/kernel/page.js';
import { isEnabled, runToEnd, runUntil } from '../../src/world/runner.js';
import type { World } from '../../src/world/world.js';
import { attachRecorder, declareRecorder, recorded, RECORDER_LIB } from '../helpers/recorder.js';
import { holdMmapRead } from '../helpers/mmap-read.js';

const MMA = 0;
function world(): World {
  const w = buildWorld({ pages: 4, mmPages: 4, mms: ['proc'], actors: ['dev', 'cpu'], libraries: [RECORDER_LIB] }, declareRecorder);
  addVma(w, MMA, { start: 0, end: 4 });
  attachRecorder(w, MMA, 0);
  return w;
}

/** make_device_exclusive(proc, vpn) run to its end by actor dev (holding mmap_read_lock); its result. */
function makeExclusive(w: World, vpn: number): number {
  holdMmapRead(w, MMA);
  w.spawn(0, makeDeviceExclusive, [MMA, vpn]);
  runToEnd(w, 'dev');
  return w.actorResult(0);
}

/** The caller's folio_unlock and folio_put (dmirror_exclusive does both once its entry is stored), from the test. */
function release(w: World, pfn: number): void {
  w.obj(PAGE, pfn).locked = 0;
  putPage(w, pfn);
}

describe('make_device_exclusive (mm/rmap.c, v6.15)', () => {
  it('replaces a writable pte by a device-exclusive entry inside an MMU_NOTIFY_EXCLUSIVE invalidation, page locked and referenced', () => {
    const w = world();
    const pfn = populateAnon(w, MMA, 1, 7);
    expect(makeExclusive(w, 1)).toBe(pfn);
    const p = pte(w, MMA, 1);
    expect([p.present, p.pfn, deviceExclusivePfn(p)]).toEqual([0, 0, pfn]);
    expect(recorded(w).map((e) => [e.kind, e.start, e.end, e.event, e.pfnAtStart])).toEqual([
      ['start', 1, 2, 'EXCLUSIVE', pfn], // secondary MMUs hear of it while the pte still maps the page
      ['end', 1, 2, 'EXCLUSIVE', 0],
    ]);
    const page = w.obj(PAGE, pfn);
    // Locked for the caller; GUP's reference on top of the mapping's; the entry keeps the mapcount.
    expect([page.locked !== 0, page.refcount, page.mapcount]).toEqual([true, 2, 1]);
  });

  it('faults a read-only pte in writable first (GUP with FOLL_WRITE)', () => {
    const w = world();
    const pfn = populateAnon(w, MMA, 2, 7, false);
    expect(makeExclusive(w, 2)).toBe(pfn); // the only mapping: the write fault reuses the page
    expect(deviceExclusivePfn(pte(w, MMA, 2))).toBe(pfn);
  });

  it('refuses a page that is not anonymous with -EOPNOTSUPP and drops its reference', () => {
    const w = world();
    const pfn = populateAnon(w, MMA, 1, 7);
    w.obj(PAGE, pfn).anon = 0; // a page-cache page
    expect(makeExclusive(w, 1)).toBe(-EOPNOTSUPP);
    expect([pte(w, MMA, 1).present, w.obj(PAGE, pfn).refcount, w.obj(PAGE, pfn).locked]).toEqual([1, 1, 0]);
  });

  it('returns -EBUSY, the pte untouched, when the pte changed between GUP and the walk', () => {
    const w = world();
    const pfn = populateAnon(w, MMA, 1, 7);
    holdMmapRead(w, MMA);
    w.spawn(0, makeDeviceExclusive, [MMA, 1]);
    runUntil(w, 'dev', 'make_device_exclusive:walk');
    pte(w, MMA, 1).write = 0; // write-protected meanwhile (a fork, say): !pte_write(fw.pte)
    runToEnd(w, 'dev');
    expect(w.actorResult(0)).toBe(-EBUSY);
    const p = pte(w, MMA, 1);
    expect([p.present, p.pfn, p.swap]).toEqual([1, pfn, 0]);
    expect([w.obj(PAGE, pfn).refcount, w.obj(PAGE, pfn).locked]).toEqual([1, 0]);
    expect(recorded(w).map((e) => e.kind)).toEqual(['start', 'end']); // range_end still runs
  });
});

describe('remove_device_exclusive_entry (mm/memory.c:do_swap_page, v6.15)', () => {
  it('a CPU write fires MMU_NOTIFY_EXCLUSIVE and restores the writable pte of the same page; mapcount and refcount as before', () => {
    const w = world();
    const pfn = populateAnon(w, MMA, 1, 7);
    makeExclusive(w, 1);
    release(w, pfn);
    w.spawn(1, cpuAccess, [MMA, 1, 1, 9]);
    runToEnd(w, 'cpu');
    expect(w.actorResult(1)).toBe(9);
    const p = pte(w, MMA, 1);
    expect([p.present, p.pfn, p.write, p.swap]).toEqual([1, pfn, 1, 0]);
    const page = w.obj(PAGE, pfn);
    expect([page.contents, page.refcount, page.mapcount, page.locked]).toEqual([9, 1, 1, 0]);
    expect(
      recorded(w)
        .slice(2)
        .map((e) => [e.kind, e.start, e.event]),
    ).toEqual([
      ['start', 1, 'EXCLUSIVE'],
      ['end', 1, 'EXCLUSIVE'],
    ]);
  });

  it('waits for the folio lock the device still holds: the entry stays until make_device_exclusive’s caller unlocks', () => {
    const w = world();
    const pfn = populateAnon(w, MMA, 1, 7);
    makeExclusive(w, 1); // not released: the caller is still mapping it in its device
    w.spawn(1, cpuAccess, [MMA, 1, 0, 0]);
    runUntil(w, 'cpu', 'remove_device_exclusive_entry:lock');
    expect(isEnabled(w, 1)).toBe(false); // folio_lock_or_retry sleeps on the device's lock
    expect(deviceExclusivePfn(pte(w, MMA, 1))).toBe(pfn);
    release(w, pfn);
    runToEnd(w, 'cpu');
    expect(w.actorResult(1)).toBe(7);
    expect(pte(w, MMA, 1).present).toBe(1);
  });

  it('restores the pte read-only in a VMA without VM_WRITE (restore_exclusive_pte)', () => {
    const w = world();
    const vi = w.layout.dims.vmasPerMm * MMA; // the VMA world() added
    const pfn = populateAnon(w, MMA, 1, 7);
    makeExclusive(w, 1);
    release(w, pfn);
    vma(w, vi).flags = VM_ANON | VM_READ; // VM_WRITE gone since (as mprotect(PROT_READ) would leave it)
    w.spawn(1, cpuAccess, [MMA, 1, 0, 0]);
    runToEnd(w, 'cpu');
    const p = pte(w, MMA, 1);
    expect([p.present, p.pfn, p.write]).toEqual([1, pfn, 0]);
  });

  it('GUP on the entry faults it back (follow_page_pte: !pte_present → faultin_page)', () => {
    const w = world();
    const pfn = populateAnon(w, MMA, 1, 7);
    makeExclusive(w, 1);
    release(w, pfn);
    holdMmapRead(w, MMA);
    w.spawn(1, getUserPagesRemote, [MMA, 1, 0]);
    runToEnd(w, 'cpu');
    expect(w.actorResult(1)).toBe(pfn);
    expect(pte(w, MMA, 1).present).toBe(1);
    expect(
      recorded(w)
        .slice(2)
        .map((e) => e.event),
    ).toEqual(['EXCLUSIVE', 'EXCLUSIVE']);
  });

  it('munmap of a device-exclusive entry removes its mapping and frees the page (v6.15 zap_nonpresent_ptes)', () => {
    const w = world();
    const pfn = populateAnon(w, MMA, 1, 7);
    makeExclusive(w, 1);
    release(w, pfn);
    w.obj(MM, MMA).mmapReaders = 0; // makeExclusive's hold, dropped: munmap takes mmap_lock for write
    w.obj(TASK, 1).readLocks = 0;
    w.obj(TASK, 0).readLocks = 0;
    w.spawn(1, vmMunmap, [MMA, 0, 4]);
    runToEnd(w, 'cpu');
    expect([pte(w, MMA, 1).swap, w.obj(PAGE, pfn).free, w.obj(PAGE, pfn).mapcount]).toEqual([0, 1, 0]);
  });
});
