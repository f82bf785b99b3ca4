/**
 * The COW break (mm/memory.c:do_wp_page → wp_page_copy), checked against reference §5 row
 * "COW break": start(CLEAR, one page) on the faulting mm while the old page is still mapped →
 * ptl → pte_same → ptep_clear_flush + new pte + rmap → unlock → end → put the old page.
 */
import { describe, expect, it } from 'vitest';
import { buildWorld } from '../../src/kernel/topology.js';
import { addVma, populateAnon } from '../../src/kernel/setup.js';
import { clearPte, pte, setPte } from '../../src/kernel/pgtable.js';
import { getPage, pageDupRmap, pageRemoveRmap, putPage } from '../../src/kernel/page.js';
import { MM, PAGE } from '../../src/kernel/structs.js';
import { cpuAccess } from '../../src/kernel/ops/access.js';
import { runToEnd, runUntil, type TraceStep } from '../../src/world/runner.js';
import type { World } from '../../src/world/world.js';
import { attachRecorder, changeIndex, declareRecorder, recorded, stepIndex, RECORDER_LIB } from '../helpers/recorder.js';
import { betweenSteps } from '../helpers/between-steps.js';

const PARENT = 0;
const CHILD = 1;
/** Page with contents 10 at vpn 1, shared read-only by parent and fork child (mapcount 2, refcount 2). */
function world(actors: string[] = ['a', 'b']): { w: World; old: number } {
  const w = buildWorld({ pages: 5, mmPages: 3, mms: ['parent', 'child'], actors, libraries: [RECORDER_LIB] }, declareRecorder);
  addVma(w, PARENT, { start: 0, end: 3 });
  addVma(w, CHILD, { start: 0, end: 3 });
  w.obj(MM, CHILD).anonVma = w.obj(MM, PARENT).anonVma;
  const old = populateAnon(w, PARENT, 1, 10, false);
  setPte(w, CHILD, 1, old, false, false);
  pageDupRmap(w, old);
  getPage(w, old);
  attachRecorder(w, PARENT, 0);
  attachRecorder(w, CHILD, 1);
  return { w, old };
}

const recStart = (t: readonly TraceStep[]) => stepIndex(t, 'test_recorder_invalidate_range_start');
const recEnd = (t: readonly TraceStep[]) => stepIndex(t, 'test_recorder_invalidate_range_end');

describe('COW break (wp_page_copy)', () => {
  it('fires one CLEAR start/end on the faulting mm around the pte change, puts the old page after end', () => {
    const { w, old } = world();
    w.spawn(0, cpuAccess, [PARENT, 1, 1, 99]);
    const t = runToEnd(w, 'a');

    expect(recorded(w)).toEqual([
      { kind: 'start', mm: PARENT, start: 1, end: 2, event: 'CLEAR', blockable: true, pfnAtStart: old },
      { kind: 'end', mm: PARENT, start: 1, end: 2, event: 'CLEAR', blockable: true, pfnAtStart: expect.any(Number) },
    ]);
    const p = pte(w, PARENT, 1);
    expect(p.pfn).not.toBe(old);
    expect(p.write).toBe(1);
    expect(w.obj(PAGE, p.pfn).contents).toBe(99);
    expect([w.obj(PAGE, p.pfn).mapcount, w.obj(PAGE, p.pfn).refcount, w.obj(PAGE, p.pfn).anon]).toEqual([1, 1, 1]);
    // The child keeps the old page, with its old contents.
    expect(pte(w, CHILD, 1).pfn).toBe(old);
    expect(w.obj(PAGE, old).contents).toBe(10);
    expect([w.obj(PAGE, old).mapcount, w.obj(PAGE, old).refcount]).toEqual([1, 1]);

    const change = changeIndex(t, 'pte[parent@1].pfn');
    expect(recStart(t)).toBeGreaterThanOrEqual(0);
    expect(change).toBeGreaterThan(recStart(t));
    expect(change).toBeLessThan(recEnd(t));
    // The old page's refcount only falls back to the child's 1 after end (the put is last).
    const put = changeIndex(t, `page[pfn${old}].refcount`, 1);
    expect(put).toBeGreaterThan(recEnd(t));
    // The copy is made before start, as in the kernel (copy_mc_user_highpage precedes range_init).
    expect(stepIndex(t, 'wp_page_copy', 'copy')).toBeLessThan(recStart(t));
  });

  it('an exclusive anon page is reused in place: no notifier, same pfn made writable', () => {
    const { w, old } = world();
    w.spawn(0, cpuAccess, [PARENT, 1, 1, 1]);
    runToEnd(w, 'a');
    const before = recorded(w).length;
    // Now the child is the only mapper of `old` (mapcount 1, refcount 1): wp_page_reuse.
    w.spawn(1, cpuAccess, [CHILD, 1, 1, 2]);
    runToEnd(w, 'b');
    expect(recorded(w).length).toBe(before);
    expect(pte(w, CHILD, 1).pfn).toBe(old);
    expect(pte(w, CHILD, 1).write).toBe(1);
    expect(w.obj(PAGE, old).contents).toBe(2);
  });

  it('two threads breaking the same COW: the loser fails pte_same under the ptl and frees its copy', () => {
    const { w, old } = world();
    w.spawn(0, cpuAccess, [PARENT, 1, 1, 1]);
    w.spawn(1, cpuAccess, [PARENT, 1, 1, 2]);
    runUntil(w, 'a', 'wp_page_copy:ptLock'); // a: copy made, start done, ptl not yet taken
    const aCopy = [1, 2, 3, 4, 5].find((pfn) => pfn !== old && !w.obj(PAGE, pfn).free)!;
    expect(w.obj(PAGE, aCopy).free).toBe(0);
    runToEnd(w, 'b'); // b copies too (a's reference makes the page non-exclusive) and wins
    const winner = pte(w, PARENT, 1).pfn;
    expect(winner).not.toBe(aCopy);
    const t = runToEnd(w, 'a');
    // a's recheck failed: it did not touch the pte, freed its copy, dropped its reference on old.
    expect(changeIndex(t, 'pte[parent@1].pfn')).toBe(-1);
    expect(w.obj(PAGE, aCopy).free).toBe(1);
    expect([w.obj(PAGE, old).mapcount, w.obj(PAGE, old).refcount]).toEqual([1, 1]);
    expect(w.obj(PAGE, winner).contents).toBe(1); // a retried the store on b's writable copy
    expect(recorded(w).filter((e) => e.kind === 'start')).toHaveLength(2);
    expect(recorded(w).filter((e) => e.kind === 'end')).toHaveLength(2);
  });

  it('when the other mapper goes away mid-COW, the old page is freed only at the final put, after end', () => {
    const { w, old } = world();
    w.spawn(0, cpuAccess, [PARENT, 1, 1, 5]);
    runUntil(w, 'a', 'wp_page_copy:start');
    // The child unmaps it meanwhile (zap: clear, remove rmap, put).
    betweenSteps(w, () => {
      clearPte(w, CHILD, 1);
      pageRemoveRmap(w, old);
      putPage(w, old);
    });
    const t = runToEnd(w, 'a');
    const freed = changeIndex(t, `page[pfn${old}].free`, 1);
    expect(freed).toBeGreaterThan(recEnd(t));
    expect(freed).toBeGreaterThan(changeIndex(t, 'pte[parent@1].pfn'));
    expect(t[freed].where).toBe('wp_page_copy:putOld');
    expect(t.every((s) => s.bugs.length === 0)).toBe(true);
  });
});
