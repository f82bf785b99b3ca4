/**
 * Write-protect faults (mm/memory.c, ops/wp.ts) and what each fault routine returns to its caller:
 * do_wp_page on a shared pfn mapping hands the fault to wp_pfn_shared (the driver's ->pfn_mkwrite,
 * then finish_mkwrite_fault) or reuses the pte in place; a private pfn mapping is SIGBUS (not
 * modelled); VM_FAULT_OOM of do_anonymous_page and wp_page_copy reaches handle_mm_fault's caller.
 * The `.todo`s are places where the model knowingly differs from mm/memory.c.
 */
import { describe, expect, it } from 'vitest';
import { buildWorld } from '../../src/kernel/topology.js';
import { addVma, populateAnon } from '../../src/kernel/setup.js';
import { pte, setPte } from '../../src/kernel/pgtable.js';
import { allocPage, getPage, pageDupRmap } from '../../src/kernel/page.js';
import { PAGE } from '../../src/kernel/structs.js';
import { VM_FAULT_NOPAGE, VM_FAULT_OOM, VM_FAULT_SIGBUS, VM_IO, VM_PFNMAP, VM_READ, VM_SHARED, VM_WRITE } from '../../src/kernel/flags.js';
import { handleMmFault } from '../../src/kernel/ops/fault.js';
import { defineStruct } from '../../src/world/layout.js';
import { runToEnd, runUntil } from '../../src/world/runner.js';
import type { World } from '../../src/world/world.js';
import { Library } from '../../src/world/registry.js';
import { KERNEL } from '../../src/kernel/library.js';
import { betweenSteps } from '../helpers/between-steps.js';
import { attachRecorder, declareRecorder, recorded, RECORDER_LIB } from '../helpers/recorder.js';
import { holdMmapRead } from '../helpers/mmap-read.js';

const LIB = new Library('test-wp', [KERNEL]);
const MMA = 0;
const SHARED_PFN = VM_PFNMAP | VM_IO | VM_SHARED | VM_READ | VM_WRITE;

/** RESULT[0]: what handle_mm_fault returned; MKWRITE: what ->pfn_mkwrite returns, and its calls. */
const RESULT = defineStruct('testWpResult', ['value'] as const);
const MKWRITE = defineStruct('testWpMkwrite', ['ret', 'calls', 'vma', 'vpn'] as const);

const pfnMkwrite = LIB.routine({
  name: 'test_wp_pfn_mkwrite',
  params: ['vma', 'vpn'],
  steps: {
    go: {
      at: 'test: vm_ops->pfn_mkwrite',
      run: (w, l) => {
        const m = w.obj(MKWRITE, 0);
        m.calls = m.calls + 1;
        m.vma = l.vma;
        m.vpn = l.vpn;
        return w.ret(m.ret);
      },
    },
  },
});

/** handle_mm_fault(mm, vpn, write) with mmap_lock held by the set-up; stores the result in RESULT[0]. */
const fault = LIB.routine({
  name: 'test_wp_fault',
  params: ['mm', 'vpn', 'write'],
  steps: {
    go: { at: 'test', run: (w, l) => w.call(handleMmFault, 'done', l.mm, l.vpn, l.write) },
    done: {
      at: 'test',
      run: (w, l) => {
        w.obj(RESULT, 0).value = l.result;
        return w.ret(0);
      },
    },
  },
});

function world(pages = 5): World {
  const w = buildWorld({ pages, mmPages: 4, mms: ['proc', 'other'], actors: ['a'], libraries: [LIB, RECORDER_LIB] }, (L) => {
    declareRecorder(L);
    L.add(RESULT, 1);
    L.add(MKWRITE, 1);
  });
  attachRecorder(w, MMA, 0);
  holdMmapRead(w, MMA); // the caller of handle_mm_fault holds mmap_lock
  return w;
}

/** A shared pfn VMA at [0, 2) with a read-only special pte at vpn 1 (a driver's page). */
function sharedPfn(w: World, mkwrite: boolean): { vi: number; pfn: number } {
  const vi = addVma(w, MMA, { start: 0, end: 2, flags: SHARED_PFN, pfnMkwrite: mkwrite ? pfnMkwrite : undefined });
  const pfn = allocPage(w);
  setPte(w, MMA, 1, pfn, false, true);
  return { vi, pfn };
}

const path = (t: readonly { where: string }[]) => t.map((s) => s.where);

describe('do_wp_page on a shared pfn mapping', () => {
  it('wp_pfn_shared: ->pfn_mkwrite says 0, finish_mkwrite_fault makes the pte writable in place', () => {
    const w = world();
    const { vi, pfn } = sharedPfn(w, true);
    w.spawn(0, fault, [MMA, 1, 1]);
    const t = runToEnd(w, 'a');
    expect(path(t)).toEqual([
      'test_wp_fault:go',
      'handle_mm_fault:fault',
      'handle_pte_fault:readPte',
      'handle_pte_fault:ptLock', // do_wp_page: drops the ptl, calls wp_pfn_shared
      'wp_pfn_shared:mkwrite',
      'test_wp_pfn_mkwrite:go',
      'wp_pfn_shared:mkwritten',
      'finish_mkwrite_fault:ptLock', // wp_page_reuse
      'wp_pfn_shared:finished',
      'handle_pte_fault:done',
      'handle_mm_fault:out',
      'test_wp_fault:done',
    ]);
    expect([w.obj(MKWRITE, 0).calls, w.obj(MKWRITE, 0).vma, w.obj(MKWRITE, 0).vpn]).toEqual([1, vi, 1]);
    expect([pte(w, MMA, 1).pfn, pte(w, MMA, 1).write, pte(w, MMA, 1).special]).toEqual([pfn, 1, 1]);
    expect(w.obj(RESULT, 0).value).toBe(0);
    expect(recorded(w)).toEqual([]); // an upgrade in place fires no notifier
  });

  it('wp_pfn_shared: VM_FAULT_NOPAGE from ->pfn_mkwrite ends the fault with the pte untouched and reaches the caller', () => {
    const w = world();
    sharedPfn(w, true);
    w.obj(MKWRITE, 0).ret = VM_FAULT_NOPAGE;
    w.spawn(0, fault, [MMA, 1, 1]);
    const t = runToEnd(w, 'a');
    expect(path(t)).not.toContain('finish_mkwrite_fault:ptLock');
    expect(pte(w, MMA, 1).write).toBe(0);
    expect(w.obj(RESULT, 0).value).toBe(VM_FAULT_NOPAGE);
  });

  it("wp_pfn_shared: an error from ->pfn_mkwrite is handle_mm_fault's result", () => {
    const w = world();
    sharedPfn(w, true);
    w.obj(MKWRITE, 0).ret = VM_FAULT_SIGBUS;
    w.spawn(0, fault, [MMA, 1, 1]);
    runToEnd(w, 'a');
    expect(pte(w, MMA, 1).write).toBe(0);
    expect(w.obj(RESULT, 0).value).toBe(VM_FAULT_SIGBUS);
  });

  it('finish_mkwrite_fault: a pte changed while ->pfn_mkwrite ran is left alone', () => {
    const w = world();
    const { pfn } = sharedPfn(w, true);
    const other = allocPage(w);
    w.spawn(0, fault, [MMA, 1, 1]);
    runUntil(w, 'a', 'finish_mkwrite_fault:ptLock');
    betweenSteps(w, () => setPte(w, MMA, 1, other, false, true)); // the driver remapped it meanwhile
    runToEnd(w, 'a');
    expect([pte(w, MMA, 1).pfn, pte(w, MMA, 1).write]).toEqual([other, 0]);
    expect(pfn).not.toBe(other);
    expect(w.obj(RESULT, 0).value).toBe(0);
  });

  it.todo('finish_mkwrite_fault returns VM_FAULT_NOPAGE when the pte changed (the model returns 0; every caller retries on both)');

  it("without ->pfn_mkwrite: wp_page_reuse under handle_pte_fault's ptl, no driver call", () => {
    const w = world();
    const { pfn } = sharedPfn(w, false);
    w.spawn(0, fault, [MMA, 1, 1]);
    const t = runToEnd(w, 'a');
    expect(path(t).filter((s) => !s.startsWith('test_'))).toEqual(['handle_mm_fault:fault', 'handle_pte_fault:readPte', 'handle_pte_fault:ptLock', 'handle_mm_fault:out']);
    expect([pte(w, MMA, 1).pfn, pte(w, MMA, 1).write]).toEqual([pfn, 1]);
    expect(w.obj(RESULT, 0).value).toBe(0);
    expect(recorded(w)).toEqual([]);
  });

  it('a private pfn mapping (COW of device memory) is SIGBUS: not modelled', () => {
    const w = world();
    addVma(w, MMA, { start: 0, end: 2, flags: VM_PFNMAP | VM_IO | VM_READ | VM_WRITE });
    const pfn = allocPage(w);
    setPte(w, MMA, 1, pfn, false, true);
    w.spawn(0, fault, [MMA, 1, 1]);
    runToEnd(w, 'a');
    expect(w.obj(RESULT, 0).value).toBe(VM_FAULT_SIGBUS);
    expect([pte(w, MMA, 1).pfn, pte(w, MMA, 1).write]).toEqual([pfn, 0]);
  });

  it.todo('a write to a read-only pte of a private pfn mapping is copied (do_wp_page → wp_page_copy with no old folio), not SIGBUS');
});

describe('handle_pte_fault on a present pte', () => {
  it('a spurious fault (read, or write to a writable pte) takes the ptl, changes nothing and returns 0', () => {
    for (const write of [0, 1]) {
      const w = world();
      addVma(w, MMA, { start: 0, end: 2 });
      const pfn = populateAnon(w, MMA, 1, 7, true);
      w.spawn(0, fault, [MMA, 1, write]);
      const t = runToEnd(w, 'a');
      expect(path(t).filter((s) => !s.startsWith('test_'))).toEqual(['handle_mm_fault:fault', 'handle_pte_fault:readPte', 'handle_pte_fault:ptLock', 'handle_mm_fault:out']);
      expect(t.flatMap((s) => s.changes.map((c) => c.what)).filter((c) => !c.startsWith('a:'))).toEqual([]);
      expect([pte(w, MMA, 1).pfn, pte(w, MMA, 1).write, w.obj(RESULT, 0).value]).toEqual([pfn, 1, 0]);
    }
  });

  it('a pte changed since the lockless read fails pte_same under the ptl: goto unlock, return 0, no do_wp_page', () => {
    const w = world();
    addVma(w, MMA, { start: 0, end: 2 });
    const pfn = populateAnon(w, MMA, 1, 7, false);
    w.spawn(0, fault, [MMA, 1, 1]);
    runUntil(w, 'a', 'handle_pte_fault:ptLock');
    betweenSteps(w, () => (pte(w, MMA, 1).write = 1)); // another thread's fault made it writable meanwhile
    const t = runToEnd(w, 'a');
    expect(path(t)).not.toContain('wp_page_copy:copy');
    expect([pte(w, MMA, 1).pfn, w.obj(PAGE, pfn).refcount, w.obj(RESULT, 0).value]).toEqual([pfn, 1, 0]);
  });
});

describe('what the fault routines return', () => {
  it('do_anonymous_page: no free page is VM_FAULT_OOM, returned by handle_pte_fault and handle_mm_fault', () => {
    const w = world(1);
    allocPage(w); // the only page frame is taken
    addVma(w, MMA, { start: 0, end: 2 });
    w.spawn(0, fault, [MMA, 1, 0]);
    const t = runToEnd(w, 'a');
    expect(path(t).filter((s) => !s.startsWith('test_'))).toEqual(['handle_mm_fault:fault', 'handle_pte_fault:readPte', 'do_anonymous_page:alloc', 'handle_pte_fault:done', 'handle_mm_fault:out']);
    expect(w.obj(RESULT, 0).value).toBe(VM_FAULT_OOM);
    expect(pte(w, MMA, 1).present).toBe(0);
  });

  it('wp_page_copy: no page for the copy is VM_FAULT_OOM, and the reference do_wp_page took is dropped', () => {
    const w = world(1); // only the shared page
    addVma(w, MMA, { start: 0, end: 2 });
    addVma(w, 1, { start: 0, end: 2 });
    const old = populateAnon(w, MMA, 1, 10, false);
    setPte(w, 1, 1, old, false, false); // the fork child maps it too
    pageDupRmap(w, old);
    getPage(w, old);
    w.spawn(0, fault, [MMA, 1, 1]);
    const t = runToEnd(w, 'a');
    expect(path(t)).toContain('wp_page_copy:copy');
    expect(path(t)).not.toContain('wp_page_copy:start');
    expect(w.obj(RESULT, 0).value).toBe(VM_FAULT_OOM);
    expect([w.obj(PAGE, old).refcount, w.obj(PAGE, old).mapcount]).toEqual([2, 2]);
    expect([pte(w, MMA, 1).pfn, pte(w, MMA, 1).write]).toEqual([old, 0]);
    expect(recorded(w)).toEqual([]); // nothing was started
  });
});

describe('known differences from mm/memory.c', () => {
  it.todo('do_swap_page: a write fault on a page that cannot be mapped writable breaks COW in the same fault (do_wp_page under the ptl); the model maps it read-only and the access faults again');
  it.todo('do_swap_page: when no page can be allocated, the kernel rechecks pte_same under the ptl and returns VM_FAULT_OOM only if the pte is unchanged (0 otherwise)');
  it.todo('do_fault without ->fault: the kernel rechecks the pte under the ptl and returns VM_FAULT_NOPAGE if it is no longer none (SIGBUS otherwise)');
  it.todo('handle_mm_fault: a write fault on a VMA without VM_WRITE (and not a COW mapping) is VM_FAULT_SIGSEGV with a WARN (sanitize_fault_flags); the model answers VM_FAULT_SIGBUS');
});
