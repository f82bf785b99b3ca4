/**
 * The fixture of the rmap-driven tests (reclaim, migration): page 42 at vpn 1 of `parent`, shared
 * read-only with its fork `child` (mapcount 2, refcount 2), recorders on all three mms. With
 * `special`, `mirror` maps the same pfn with a special pte at vpn 2 of a PFNMAP VMA (no refcount,
 * no mapcount, no rmap).
 */
import { buildWorld } from '../../src/kernel/topology.js';
import { addVma, populateAnon } from '../../src/kernel/setup.js';
import { getPage, pageDupRmap } from '../../src/kernel/page.js';
import { setPte } from '../../src/kernel/pgtable.js';
import { MM } from '../../src/kernel/structs.js';
import { VM_IO, VM_PFNMAP, VM_READ } from '../../src/kernel/flags.js';
import type { TraceStep } from '../../src/world/runner.js';
import type { World } from '../../src/world/world.js';
import { RECORDER_LIB, attachRecorder, declareRecorder } from './recorder.js';

export const PARENT = 0;
export const CHILD = 1;
export const MIRROR = 2;

export function sharedPageWorld(actors: string[], special = false): { w: World; pfn: number } {
  const w = buildWorld({ pages: 4, mmPages: 4, mms: ['parent', 'child', 'mirror'], actors, swapSlots: 2, mmuNotifiers: 3, libraries: [RECORDER_LIB] }, declareRecorder);
  addVma(w, PARENT, { start: 0, end: 4 });
  addVma(w, CHILD, { start: 0, end: 4 });
  addVma(w, MIRROR, { start: 0, end: 4, flags: VM_PFNMAP | VM_IO | VM_READ });
  w.obj(MM, CHILD).anonVma = w.obj(MM, PARENT).anonVma;
  const pfn = populateAnon(w, PARENT, 1, 42, false);
  setPte(w, CHILD, 1, pfn, false, false);
  pageDupRmap(w, pfn);
  getPage(w, pfn);
  if (special) setPte(w, MIRROR, 2, pfn, false, true);
  attachRecorder(w, PARENT, 0);
  attachRecorder(w, CHILD, 1);
  attachRecorder(w, MIRROR, 2);
  return { w, pfn };
}

/** Indices of the trace steps where the recorder ran `kind` (in order). */
export function recorderSteps(trace: readonly TraceStep[], kind: 'start' | 'end'): number[] {
  const where = `test_recorder_invalidate_range_${kind}:record`;
  return trace.flatMap((s, i) => (s.where === where ? [i] : []));
}
