/**
 * handle_mm_fault dispatch (mm/memory.c:handle_pte_fault) driven through cpu_access: anonymous
 * fault-in, swap-in, migration-entry wait, vm_ops->fault, and the pte rechecks under the ptl that
 * make racing faults safe. Installing into a non-present slot must fire no notifier.
 */
import { describe, expect, it } from 'vitest';
import { buildWorld } from '../../src/kernel/topology.js';
import { addVma, populateAnon } from '../../src/kernel/setup.js';
import { clearPte, pte, setPte, vma } from '../../src/kernel/pgtable.js';
import { allocPage, putPage } from '../../src/kernel/page.js';
import { MM, PAGE, SWAP } from '../../src/kernel/structs.js';
import { EFAULT, VM_ANON, VM_FAULT_NOPAGE, VM_FAULT_SIGBUS, VM_IO, VM_PFNMAP, VM_READ, VM_SHARED, VM_WRITE } from '../../src/kernel/flags.js';
import { cpuAccess } from '../../src/kernel/ops/access.js';
import { handleMmFault } from '../../src/kernel/ops/fault.js';
import { vmfInsertPfn } from '../../src/kernel/ops/insert.js';
import { shrinkFolioList } from '../../src/kernel/ops/reclaim.js';
import { defineStruct } from '../../src/world/layout.js';
import { isEnabled, runToEnd, runUntil } from '../../src/world/runner.js';
import type { World } from '../../src/world/world.js';
import { attachRecorder, declareRecorder, recorded, stepIndex, RECORDER_LIB } from '../helpers/recorder.js';
import { Library } from '../../src/world/registry.js';
import { KERNEL } from '../../src/kernel/library.js';
import { betweenSteps } from '../helpers/between-steps.js';
import { swpEntry, swpOffset } from '../../src/kernel/ref.js';
import { holdMmapRead } from '../helpers/mmap-read.js';

const LIB = new Library('test-fault', [KERNEL]);

const MMA = 0;

const RESULT = defineStruct('testFaultResult', ['value'] as const);

/** cpu_access that stores its return value in RESULT[actor] so tests can read it. */
const access = LIB.routine({
  name: 'test_fault_access',
  params: ['mm', 'vpn', 'write', 'value'],
  steps: {
    go: { at: 'test', run: (w, l) => w.call(cpuAccess, 'store', l.mm, l.vpn, l.write, l.value) },
    store: {
      at: 'test',
      run: (w, l) => {
        w.obj(RESULT, w.actor).value = l.result;
        return w.ret(0);
      },
    },
  },
});

function worldR(actors: string[] = ['a', 'b'], pages = 6): World {
  const w = buildWorld({ pages, mmPages: 4, mms: ['proc', 'other'], actors, swapSlots: 2, libraries: [LIB, RECORDER_LIB] }, (L) => {
    declareRecorder(L);
    L.add(RESULT, actors.length);
  });
  addVma(w, MMA, { start: 0, end: 3 });
  attachRecorder(w, MMA, 0);
  return w;
}

const allocated = (w: World) => {
  const out: number[] = [];
  for (let pfn = 1; pfn < w.count(PAGE); pfn++) if (!w.obj(PAGE, pfn).free) out.push(pfn);
  return out;
};

const faultDirect = LIB.routine({
  name: 'test_fault_direct',
  params: ['vpn'],
  steps: {
    go: { at: 'test', run: (w, l) => w.call(handleMmFault, 'done', MMA, l.vpn, 0) },
    done: {
      at: 'test',
      run: (w, l) => {
        w.obj(RESULT, w.actor).value = l.result;
        return w.ret(0);
      },
    },
  },
});

describe('do_anonymous_page', () => {
  it('faults in a fresh anon page on a write, with no notifier, and releases mmap_lock', () => {
    const w = worldR();
    w.spawn(0, access, [MMA, 1, 1, 77]);
    const trace = runToEnd(w, 'a');
    expect(w.obj(RESULT, 0).value).toBe(77);
    const p = pte(w, MMA, 1);
    expect(p.present).toBe(1);
    expect(p.write).toBe(1);
    expect(p.special).toBe(0);
    const pg = w.obj(PAGE, p.pfn);
    expect([pg.refcount, pg.mapcount, pg.anon, pg.index, pg.contents]).toEqual([1, 1, 1, 1, 77]);
    expect(recorded(w)).toEqual([]);
    expect(stepIndex(trace, 'do_anonymous_page', 'ptLock')).toBeGreaterThan(0);
    expect(w.obj(MM, MMA).mmapReaders).toBe(0);
  });

  it('a read fault maps the (zeroed) page writable when the VMA is VM_WRITE, and read-only otherwise', () => {
    const w = worldR();
    addVma(w, MMA, { start: 3, end: 4, flags: VM_READ | VM_ANON });
    w.spawn(0, access, [MMA, 0, 0, 0]);
    w.spawn(1, access, [MMA, 3, 0, 0]);
    runToEnd(w, 'a');
    runToEnd(w, 'b');
    expect(w.obj(RESULT, 0).value).toBe(0);
    expect(pte(w, MMA, 0).write).toBe(1);
    expect(pte(w, MMA, 3).present).toBe(1);
    expect(pte(w, MMA, 3).write).toBe(0);
  });

  it('two threads faulting the same empty pte: the loser rechecks pte_none under the ptl and frees its page', () => {
    const w = worldR();
    w.spawn(0, access, [MMA, 1, 0, 0]);
    w.spawn(1, access, [MMA, 1, 1, 5]);
    runUntil(w, 'a', 'do_anonymous_page:ptLock'); // a allocated its page, not yet locked
    const aPage = allocated(w);
    expect(aPage).toHaveLength(1);
    runToEnd(w, 'b'); // b installs its own page and writes 5
    const bPfn = pte(w, MMA, 1).pfn;
    expect(bPfn).not.toBe(aPage[0]);
    runToEnd(w, 'a');
    expect(w.obj(RESULT, 0).value).toBe(5); // a retried and read b's page
    expect(allocated(w)).toEqual([bPfn]);
    expect(w.obj(PAGE, aPage[0]).free).toBe(1);
    expect(w.obj(PAGE, bPfn).mapcount).toBe(1);
    expect(recorded(w)).toEqual([]);
  });

  it('no VMA: cpu_access gets -EFAULT and handle_mm_fault says SIGBUS', () => {
    const w = worldR();
    w.spawn(0, access, [MMA, 3, 0, 0]);
    runToEnd(w, 'a');
    expect(w.obj(RESULT, 0).value).toBe(-EFAULT);
    holdMmapRead(w, MMA); // the caller of handle_mm_fault holds mmap_lock
    w.spawn(1, faultDirect, [3]);
    runToEnd(w, 'b');
    expect(w.obj(RESULT, 1).value).toBe(VM_FAULT_SIGBUS);
  });

  it('handle_mm_fault without mmap_lock is a BUG', () => {
    const w = worldR();
    w.spawn(0, handleMmFault, [MMA, 1, 0]);
    const trace = runUntil(w, 'a', 'do_anonymous_page:alloc');
    const bugged = trace.filter((s) => s.bugs.length > 0);
    expect(bugged.map((s) => s.where)).toEqual(['handle_pte_fault:readPte']); // handle_mm_fault's own step only calls
    expect(bugged[0].bugs.join()).toMatch(/lockdep_assert_held\(mm\[\w+\]\.mmap_lock\) failed/);
    // Going on without the lock, the fault reads the VMA unprotected: the lock discipline refuses it.
    expect(() => runToEnd(w, 'a')).toThrow(/do_anonymous_page:ptLock reads vma\[\w+#0\]\.flags \(protected by mm\.mmap_lock\) without holding mm\.mmap_lock/);
  });
});

/** A pte of `mm` at `vpn` that reclaim turned into swap entry `slot` holding `contents`. */
function swapOut(w: World, mm: number, vpn: number, slot: number, contents: number): void {
  clearPte(w, mm, vpn);
  pte(w, mm, vpn).swap = swpEntry(slot);
  w.obj(SWAP, slot).used = 1;
  w.obj(SWAP, slot).contents = contents;
}

/** A page in the swap cache of slot 1 holding `contents` (refcount 1: the cache's); `lockedBy` holds its folio lock (0: nobody). */
function swapCached(w: World, contents: number, lockedBy = 0): number {
  const pfn = allocPage(w);
  Object.assign(w.obj(PAGE, pfn), { anon: 1, contents, swap: swpEntry(1), locked: lockedBy });
  return pfn;
}

describe('do_swap_page', () => {
  it('reads the slot into a new page, maps it, frees the slot, fires no notifier', () => {
    const w = worldR();
    swapOut(w, MMA, 2, 1, 42);
    w.spawn(0, access, [MMA, 2, 0, 0]);
    runToEnd(w, 'a');
    expect(w.obj(RESULT, 0).value).toBe(42);
    const p = pte(w, MMA, 2);
    expect([p.present, p.swap, p.write]).toEqual([1, 0, 0]); // read fault: read-only
    expect([w.obj(PAGE, p.pfn).refcount, w.obj(PAGE, p.pfn).mapcount, w.obj(PAGE, p.pfn).anon]).toEqual([1, 1, 1]);
    expect(w.obj(SWAP, 1).used).toBe(0);
    expect(recorded(w)).toEqual([]);
  });

  it('a write fault on an exclusive entry maps it writable at once', () => {
    const w = worldR();
    swapOut(w, MMA, 2, 1, 42);
    w.spawn(0, access, [MMA, 2, 1, 9]);
    const trace = runToEnd(w, 'a');
    expect(pte(w, MMA, 2).write).toBe(1);
    expect(w.obj(PAGE, pte(w, MMA, 2).pfn).contents).toBe(9);
    expect(stepIndex(trace, 'handle_pte_fault', 'ptLock')).toBe(-1); // no do_wp_page needed
    expect(recorded(w)).toEqual([]);
  });

  it('keeps the slot while another mm (a fork child) still holds the entry', () => {
    const w = worldR();
    addVma(w, 1, { start: 0, end: 3 });
    swapOut(w, MMA, 2, 1, 42);
    pte(w, 1, 2).swap = swpEntry(1);
    w.spawn(0, access, [MMA, 2, 0, 0]);
    runToEnd(w, 'a');
    expect(w.obj(SWAP, 1).used).toBe(1);
    w.spawn(1, access, [1, 2, 0, 0]);
    runToEnd(w, 'b');
    expect(w.obj(RESULT, 1).value).toBe(42);
    expect(w.obj(SWAP, 1).used).toBe(0);
    expect(pte(w, 1, 2).pfn).not.toBe(pte(w, MMA, 2).pfn);
  });

  it('maps the swap-cache page itself (get_page) and leaves the slot to the swap cache', () => {
    const w = worldR();
    const pfn = swapCached(w, 42);
    swapOut(w, MMA, 2, 1, 0);
    w.spawn(0, access, [MMA, 2, 0, 0]);
    runToEnd(w, 'a');
    expect(w.obj(RESULT, 0).value).toBe(42);
    expect(pte(w, MMA, 2).pfn).toBe(pfn);
    expect([w.obj(PAGE, pfn).refcount, w.obj(PAGE, pfn).mapcount]).toEqual([2, 1]);
    expect(w.obj(SWAP, 1).used).toBe(1);
  });

  /** a reads vpn 2, swapped out to slot 1 (holding `slotContents`), whose swap-cache page (42) b has locked: a stops at folio_lock. */
  function waitingOnLockedSwapCache(slotContents: number): { w: World; pfn: number } {
    const w = worldR();
    const pfn = swapCached(w, 42, 2);
    swapOut(w, MMA, 2, 1, slotContents);
    w.spawn(0, access, [MMA, 2, 0, 0]);
    runUntil(w, 'a', 'do_swap_page:folioLock');
    return { w, pfn };
  }

  it('sleeps on the folio lock of a swap-cache page that reclaim holds', () => {
    const { w, pfn } = waitingOnLockedSwapCache(0);
    expect(isEnabled(w, 0)).toBe(false);
    w.obj(PAGE, pfn).locked = 0;
    runToEnd(w, 'a');
    expect(w.obj(RESULT, 0).value).toBe(42);
  });

  it('a swap-cache page that left the cache while the fault waited for its lock is dropped, and the fault retried', () => {
    const { w, pfn } = waitingOnLockedSwapCache(42);
    expect(w.obj(PAGE, pfn).refcount).toBe(2); // the cache's and the fault's
    betweenSteps(w, () => {
      // __remove_mapping of a clean page: out of the swap cache (its reference dropped), unlocked
      w.obj(PAGE, pfn).swap = 0;
      putPage(w, pfn);
      w.obj(PAGE, pfn).locked = 0;
    });
    const t = runToEnd(w, 'a');
    const freed = t.findIndex((s) => s.changes.some((c) => c.what === `page[pfn${pfn}].free` && c.to === 1));
    expect(t[freed].where).toBe('do_swap_page:release'); // !folio_matches_swap_entry: out_page unlocks, out_release puts (a step of its own)
    expect(t.filter((s) => s.where === 'do_swap_page:entry')).toHaveLength(1); // the retry reads the slot
    expect(w.obj(RESULT, 0).value).toBe(42);
    expect(pte(w, MMA, 2).pfn).not.toBe(0);
  });

  it('two threads swapping in the same entry: the loser sees the pte changed and drops its copy', () => {
    const w = worldR();
    swapOut(w, MMA, 2, 1, 42);
    w.spawn(0, access, [MMA, 2, 0, 0]);
    w.spawn(1, access, [MMA, 2, 1, 8]);
    runUntil(w, 'a', 'do_swap_page:ptLock');
    const aCopy = allocated(w)[0];
    runToEnd(w, 'b');
    runToEnd(w, 'a');
    expect(w.obj(RESULT, 0).value).toBe(8);
    expect(w.obj(PAGE, aCopy).free).toBe(1);
    expect(allocated(w)).toEqual([pte(w, MMA, 2).pfn]);
    expect(recorded(w)).toEqual([]);
  });
});

describe('migration_entry_wait', () => {
  it('sleeps while the pte holds the migration entry, then the access is retried', () => {
    const w = worldR();
    const old = populateAnon(w, MMA, 1, 3);
    const dst = allocPage(w);
    w.obj(PAGE, dst).contents = 4;
    clearPte(w, MMA, 1);
    pte(w, MMA, 1).migration = old;
    w.spawn(0, access, [MMA, 1, 0, 0]);
    runUntil(w, 'a', 'migration_entry_wait:wait');
    expect(isEnabled(w, 0)).toBe(false);
    betweenSteps(w, () => setPte(w, MMA, 1, dst, true, false)); // remove_migration_ptes
    runToEnd(w, 'a');
    expect(w.obj(RESULT, 0).value).toBe(4);
    expect(recorded(w)).toEqual([]);
  });
});

const driverFault = LIB.routine({
  name: 'test_fault_driver_fault',
  params: ['vma', 'vpn', 'write'],
  steps: {
    go: {
      at: 'test:driver fault',
      run: (w, l) => {
        w.obj(RESULT, 1).value = l.vma * 100 + l.vpn * 10 + l.write; // record the arguments
        return w.ret(vmfInsertPfn(w, l.vma, l.vpn, 1, l.write !== 0));
      },
    },
  },
});

describe('do_fault → vm_ops->fault', () => {
  it('calls the VMA fault routine with (vma, vpn, write) and returns its result', () => {
    const w = worldR();
    allocPage(w); // pfn 1, the driver's
    w.obj(PAGE, 1).contents = 55;
    const vi = addVma(w, 1, { start: 0, end: 2, flags: VM_PFNMAP | VM_IO | VM_SHARED | VM_READ | VM_WRITE, fault: driverFault });
    w.spawn(0, access, [1, 1, 0, 0]);
    const trace = runToEnd(w, 'a');
    expect(w.obj(RESULT, 0).value).toBe(55);
    expect(w.obj(RESULT, 1).value).toBe(vi * 100 + 10);
    expect(pte(w, 1, 1).special).toBe(1);
    // handle_pte_fault calls the ops pointer from its step (do_fault → __do_fault have no frames)
    // and returns the driver's result.
    const at = (where: string) => trace.findIndex((s) => s.where === where);
    expect(at('handle_pte_fault:readPte')).toBeGreaterThan(0);
    expect(at('test_fault_driver_fault:go')).toBe(at('handle_pte_fault:readPte') + 1);
    expect(at('handle_pte_fault:done')).toBe(at('test_fault_driver_fault:go') + 1);
    expect(VM_FAULT_NOPAGE).toBe(0x100);
  });

  it('a non-anonymous VMA without ->fault is SIGBUS', () => {
    const w = worldR();
    const vi = addVma(w, 1, { start: 0, end: 2, flags: VM_PFNMAP | VM_IO | VM_READ });
    expect(vma(w, vi).fault).toBe(0);
    w.spawn(0, access, [1, 0, 0, 0]);
    runToEnd(w, 'a');
    expect(w.obj(RESULT, 0).value).toBe(-EFAULT);
  });
});

describe('do_swap_page against reclaim (ops/reclaim.ts)', () => {
  it('a fault hitting the swap cache mid-reclaim waits for the folio lock; reclaim keeps the page', () => {
    const w = worldR(['reclaim', 'a']);
    const pfn = populateAnon(w, MMA, 1, 42);
    w.spawn(0, shrinkFolioList, [pfn]);
    runUntil(w, 'reclaim', 'shrink_folio_list:pageout'); // pte is a swap entry, page in the swap cache, locked
    expect(pte(w, MMA, 1).swap).toBe(w.obj(PAGE, pfn).swap);
    w.spawn(1, access, [MMA, 1, 0, 0]);
    runUntil(w, 'a', 'do_swap_page:folioLock'); // took its reference, now needs the folio lock
    expect(isEnabled(w, 1)).toBe(false);
    runToEnd(w, 'reclaim'); // the extra reference makes __remove_mapping keep the page
    runToEnd(w, 'a');
    expect(w.obj(RESULT, 1).value).toBe(42);
    expect(pte(w, MMA, 1).pfn).toBe(pfn);
    expect(w.obj(PAGE, pfn).free).toBe(0);
    expect([w.obj(PAGE, pfn).refcount, w.obj(PAGE, pfn).mapcount]).toEqual([2, 1]); // pte + swap cache
    const slot = swpOffset(w.obj(PAGE, pfn).swap);
    expect(w.obj(SWAP, slot).used).toBe(1); // still owned by the swap cache
  });
});
