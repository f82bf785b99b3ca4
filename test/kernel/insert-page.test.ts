/**
 * VM_MIXEDMAP's two kinds of pte (mm/memory.c): vm_insert_page maps a page as a normal,
 * refcounted pte with a mapcount (what test_hmm's dmirror_fops_mmap does, fidelity/H11), which
 * GUP follows and the zap puts; vmf_insert_mixed (x86: pte_special) maps a pfn special, with
 * neither, which GUP refuses and the zap leaves alone.
 */
import { describe, expect, it } from 'vitest';
import { buildWorld } from '../../src/kernel/topology.js';
import { addVma } from '../../src/kernel/setup.js';
import { allocPage, putPage } from '../../src/kernel/page.js';
import { pte } from '../../src/kernel/pgtable.js';
import { PAGE } from '../../src/kernel/structs.js';
import { EBUSY, EFAULT, VM_MIXEDMAP, VM_READ, VM_WRITE } from '../../src/kernel/flags.js';
import { vmfInsertMixed, vmInsertPage } from '../../src/kernel/ops/insert.js';
import { getUserPagesRemote } from '../../src/kernel/ops/gup.js';
import { zapPageRangeSingle } from '../../src/kernel/ops/zap.js';
import { vma } from '../../src/kernel/pgtable.js';
import { runToEnd } from '../../src/world/runner.js';
import type { World } from '../../src/world/world.js';
import { holdMmapRead } from '../helpers/mmap-read.js';

const MM0 = 0;
/** A private read-write file-like VMA (no VM_ANON) at [0, 2): what dmirror_fops_mmap gets. */
function world(): World {
  const w = buildWorld({ pages: 4, mmPages: 2, mms: ['proc'], actors: ['a', 'b'] });
  addVma(w, MM0, { start: 0, end: 2, flags: VM_READ | VM_WRITE });
  return w;
}

/** alloc_page, vm_insert_page, put_page, as dmirror_fops_mmap (set-up code: the ->mmap holds mmap_write_lock). */
function insertPage(w: World, vpn: number): { pfn: number; ret: number } {
  const pfn = allocPage(w);
  const ret = vmInsertPage(w, 0, vpn, pfn);
  putPage(w, pfn);
  return { pfn, ret };
}

describe('vm_insert_page', () => {
  it('sets VM_MIXEDMAP and maps the page as a normal pte, read-only in a private VMA, with its reference and mapcount', () => {
    const w = world();
    const { pfn, ret } = insertPage(w, 0);
    expect(ret).toBe(0);
    expect(vma(w, 0).flags & VM_MIXEDMAP).toBe(VM_MIXEDMAP);
    const p = pte(w, MM0, 0);
    expect([p.present, p.pfn, p.special, p.write]).toEqual([1, pfn, 0, 0]);
    expect([w.obj(PAGE, pfn).refcount, w.obj(PAGE, pfn).mapcount]).toEqual([1, 1]);
  });

  it('refuses an occupied pte with -EBUSY (the page then goes with the caller’s put_page)', () => {
    const w = world();
    insertPage(w, 0);
    const second = insertPage(w, 0);
    expect(second.ret).toBe(-EBUSY);
    expect(w.obj(PAGE, second.pfn).free).toBe(1);
  });

  it('GUP follows its page (vm_normal_page finds it), but refuses vmf_insert_mixed’s special pte', () => {
    const w = world();
    const { pfn } = insertPage(w, 0);
    const other = allocPage(w);
    expect(vmfInsertMixed(w, 0, 1, other, false)).toBeGreaterThanOrEqual(0);
    expect(pte(w, MM0, 1).special).toBe(1);
    expect([w.obj(PAGE, other).refcount, w.obj(PAGE, other).mapcount]).toEqual([1, 0]);
    holdMmapRead(w, MM0);
    w.spawn(0, getUserPagesRemote, [MM0, 0, 0]);
    runToEnd(w, 'a');
    expect(w.actorResult(0)).toBe(pfn);
    w.spawn(1, getUserPagesRemote, [MM0, 1, 0]);
    runToEnd(w, 'b');
    expect(w.actorResult(1)).toBe(-EFAULT);
  });

  it('the zap puts the page it inserted: its last reference frees it', () => {
    const w = world();
    const { pfn } = insertPage(w, 0);
    holdMmapRead(w, MM0);
    w.spawn(0, zapPageRangeSingle, [MM0, 0, 0, 1]);
    runToEnd(w, 'a');
    expect(pte(w, MM0, 0).present).toBe(0);
    expect(w.obj(PAGE, pfn).free).toBe(1);
  });
});
