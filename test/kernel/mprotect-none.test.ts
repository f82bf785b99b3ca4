/**
 * mprotect(PROT_NONE) and back (mm/mprotect.c:do_mprotect_pkey → mprotect_fixup →
 * change_protection → change_pte_range, v6.18): the VMA loses VM_READ and VM_WRITE, its present ptes
 * become protnone (pte_modify(oldpte, PAGE_NONE)) inside one PROTECTION_VMA bracket, still mapping
 * their pages; a CPU access faults and fails (arch/x86/mm/fault.c:access_error: SIGSEGV); a later
 * mprotect(PROT_READ) makes them accessible again with the data intact. The protnone bit follows
 * the pte through fork (copy_present_pte copies it whole) and migration (remove_migration_pte:
 * mk_pte(new, vma->vm_page_prot)).
 */
import { describe, expect, it } from 'vitest';
import { buildWorld } from '../../src/kernel/topology.js';
import { addVma, populateAnon } from '../../src/kernel/setup.js';
import { EFAULT, PROT_NONE, PROT_READ, PROT_WRITE, VM_ANON, VM_READ, VM_WRITE } from '../../src/kernel/flags.js';
import { pte, setPte, vma, vmaIndex } from '../../src/kernel/pgtable.js';
import { MM, PAGE } from '../../src/kernel/structs.js';
import { doMprotectPkey } from '../../src/kernel/ops/mprotect.js';
import { cpuAccess } from '../../src/kernel/ops/access.js';
import { getUserPagesRemote } from '../../src/kernel/ops/gup.js';
import { migratePages } from '../../src/kernel/ops/migrate.js';
import { dupMmap } from '../../src/kernel/ops/fork.js';
import { actorIndex, runToEnd } from '../../src/world/runner.js';
import type { World } from '../../src/world/world.js';
import { attachRecorder, changeIndex, declareRecorder, recorded, stepIndex, RECORDER_LIB } from '../helpers/recorder.js';

const SRC = 0;
const CHILD = 1;

/** The source: an anonymous read-write VMA [0, 4) with pages 0 (0xa) and 2 (0xb) present and writable. */
function world(): { w: World; p0: number; p2: number } {
  const w = buildWorld({ pages: 6, mmPages: 4, mms: ['src', 'child'], actors: ['t'], libraries: [RECORDER_LIB] }, declareRecorder);
  w.obj(MM, CHILD).users = 0; // not yet born
  addVma(w, SRC, { start: 0, end: 4 });
  return { w, p0: populateAnon(w, SRC, 0, 0xa), p2: populateAnon(w, SRC, 2, 0xb) };
}

/** Runs `routine(args)` on actor t to its end; its return value. */
function run(w: World, routine: Parameters<World['spawn']>[1], args: number[]): number {
  w.spawn(0, routine, args);
  runToEnd(w, 't');
  return w.actorResult(actorIndex(w, 't'));
}

describe('mprotect(PROT_NONE) (change_pte_range with PAGE_NONE)', () => {
  it('set_pte_at of a new page makes an accessible pte, whatever the slot held (setPte clears protnone)', () => {
    // A merge once dropped the clear from setPte: every caller installs into a VMA the access was
    // allowed in (mk_pte with a readable vm_page_prot), so a stale protnone bit would fault for ever.
    const { w, p0 } = world();
    pte(w, SRC, 1).protnone = 1;
    setPte(w, SRC, 1, p0, false, false);
    expect(pte(w, SRC, 1)).toMatchObject({ present: 1, pfn: p0, protnone: 0 });
  });

  it('makes every present pte protnone strictly inside one PROTECTION_VMA bracket; the pages stay mapped and the VMA has neither VM_READ nor VM_WRITE', () => {
    const { w, p0, p2 } = world();
    attachRecorder(w, SRC);
    w.spawn(0, doMprotectPkey, [SRC, 0, 4, PROT_NONE]);
    const trace = runToEnd(w, 't');
    expect(w.actorResult(0)).toBe(0);
    expect(recorded(w).map((e) => [e.kind, e.event, e.start, e.end, e.blockable])).toEqual([
      ['start', 'PROTECTION_VMA', 0, 4, true],
      ['end', 'PROTECTION_VMA', 0, 4, true],
    ]);
    const start = stepIndex(trace, 'test_recorder_invalidate_range_start');
    const end = stepIndex(trace, 'test_recorder_invalidate_range_end');
    for (const vpn of [0, 2]) {
      const change = changeIndex(trace, `pte[src@${vpn}].protnone`, 1);
      expect(start).toBeLessThan(change);
      expect(change).toBeLessThan(end);
    }
    expect(pte(w, SRC, 0)).toMatchObject({ present: 1, pfn: p0, write: 0, protnone: 1 });
    expect(pte(w, SRC, 2)).toMatchObject({ present: 1, pfn: p2, write: 0, protnone: 1 });
    expect(pte(w, SRC, 1)).toMatchObject({ present: 0, protnone: 0 }); // pte_none: left alone
    expect(w.obj(PAGE, p0)).toMatchObject({ refcount: 1, mapcount: 1, free: 0, contents: 0xa });
    expect(vma(w, 0).flags).toBe(VM_ANON);
    expect(w.obj(MM, SRC).mmapWriter).toBe(0);
  });

  it('a CPU load or store then fails without a fault (access_error: no VM_READ), and writes nothing', () => {
    const { w, p0 } = world();
    run(w, doMprotectPkey, [SRC, 0, 4, PROT_NONE]);
    w.spawn(0, cpuAccess, [SRC, 0, 0, 0]);
    const load = runToEnd(w, 't');
    expect(w.actorResult(0)).toBe(-EFAULT);
    // The MMU faulted on the protnone pte (the step went to the fault handler), which found the VMA unreadable.
    expect(load.map((s) => s.where)).toEqual(['cpu_access:access', 'cpu_access:lock']);
    expect(run(w, cpuAccess, [SRC, 0, 1, 0x77])).toBe(-EFAULT);
    expect(run(w, cpuAccess, [SRC, 1, 0, 0])).toBe(-EFAULT); // pte_none in the VMA: no fault-in either
    expect(pte(w, SRC, 1).present).toBe(0);
    expect(w.obj(PAGE, p0).contents).toBe(0xa);
    expect(w.obj(MM, SRC).mmapReaders).toBe(0);
  });

  it('GUP refuses the VMA too (check_vma_flags: no VM_READ)', () => {
    const { w } = world();
    run(w, doMprotectPkey, [SRC, 0, 4, PROT_NONE]);
    expect(run(w, getUserPagesRemote, [SRC, 0, 0])).toBe(-EFAULT);
  });

  it('mprotect(PROT_READ) after it makes the ptes accessible again: the CPU reads the old data through the same frames, and a store still fails', () => {
    const { w, p0, p2 } = world();
    run(w, doMprotectPkey, [SRC, 0, 4, PROT_NONE]);
    attachRecorder(w, SRC);
    expect(run(w, doMprotectPkey, [SRC, 0, 4, PROT_READ])).toBe(0);
    expect(recorded(w).map((e) => [e.kind, e.event])).toEqual([
      ['start', 'PROTECTION_VMA'],
      ['end', 'PROTECTION_VMA'],
    ]);
    expect(vma(w, 0).flags).toBe(VM_ANON | VM_READ);
    expect(pte(w, SRC, 0)).toMatchObject({ present: 1, pfn: p0, write: 0, protnone: 0 });
    expect(run(w, cpuAccess, [SRC, 0, 0, 0])).toBe(0xa);
    expect(run(w, cpuAccess, [SRC, 2, 0, 0])).toBe(0xb);
    expect(pte(w, SRC, 2).pfn).toBe(p2);
    expect(run(w, cpuAccess, [SRC, 0, 1, 5])).toBe(-EFAULT);
  });

  it('mprotect(PROT_READ|PROT_WRITE) after it: readable at once, writable at the next write fault', () => {
    const { w, p0 } = world();
    run(w, doMprotectPkey, [SRC, 0, 4, PROT_NONE]);
    expect(run(w, doMprotectPkey, [SRC, 0, 4, PROT_READ | PROT_WRITE])).toBe(0);
    expect(vma(w, 0).flags).toBe(VM_ANON | VM_READ | VM_WRITE);
    expect(pte(w, SRC, 0)).toMatchObject({ present: 1, write: 0, protnone: 0 });
    expect(run(w, cpuAccess, [SRC, 0, 1, 0x5])).toBe(0x5);
    expect(pte(w, SRC, 0)).toMatchObject({ pfn: p0, write: 1 }); // do_wp_page reused the exclusive page
  });

  it('a PROT_NONE range inside a VMA splits it: only the middle loses access', () => {
    const { w } = world();
    expect(run(w, doMprotectPkey, [SRC, 2, 3, PROT_NONE])).toBe(0);
    expect(pte(w, SRC, 0).protnone).toBe(0);
    expect(pte(w, SRC, 2).protnone).toBe(1);
    expect(run(w, cpuAccess, [SRC, 0, 0, 0])).toBe(0xa);
    expect(run(w, cpuAccess, [SRC, 2, 0, 0])).toBe(-EFAULT);
    const vmas = [0, 1, 2, 3]
      .map((k) => vma(w, vmaIndex(w, SRC, k)))
      .filter((v) => v.used)
      .map((v) => [v.start, v.end, v.flags])
      .sort((a, b) => a[0] - b[0]);
    expect(vmas).toEqual([
      [0, 2, VM_ANON | VM_READ | VM_WRITE],
      [2, 3, VM_ANON],
      [3, 4, VM_ANON | VM_READ | VM_WRITE],
    ]);
  });

  it('a page migrated while protnone comes back protnone (remove_migration_pte: mk_pte with vm_page_prot), and accessible after mprotect(PROT_READ)', () => {
    const { w, p0 } = world();
    run(w, doMprotectPkey, [SRC, 0, 4, PROT_NONE]);
    expect(run(w, migratePages, [p0])).toBe(0);
    const moved = pte(w, SRC, 0);
    expect(moved.pfn).not.toBe(p0);
    expect(moved).toMatchObject({ present: 1, protnone: 1 });
    expect(run(w, cpuAccess, [SRC, 0, 0, 0])).toBe(-EFAULT);
    run(w, doMprotectPkey, [SRC, 0, 4, PROT_READ]);
    expect(run(w, cpuAccess, [SRC, 0, 0, 0])).toBe(0xa);
  });

  it("fork copies protnone ptes as they are (copy_present_pte): the child's PROT_NONE VMA is as inaccessible as the parent's", () => {
    const { w, p0 } = world();
    run(w, doMprotectPkey, [SRC, 0, 4, PROT_NONE]);
    run(w, dupMmap, [SRC, CHILD]);
    expect(pte(w, CHILD, 0)).toMatchObject({ present: 1, pfn: p0, protnone: 1 });
    expect(run(w, cpuAccess, [CHILD, 0, 0, 0])).toBe(-EFAULT);
  });
});
