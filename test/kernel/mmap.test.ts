/**
 * mmap of an anonymous private read-write VMA (mm/util.c:vm_mmap_pgoff → mm/mmap.c:do_mmap →
 * mm/vma.c:__mmap_region / __mmap_new_vma, v6.18) at a range a munmap freed: under
 * mmap_write_lock, a new VMA with no ptes, no notifier fired (nothing was mapped there); its first
 * access faults in a fresh page (do_anonymous_page), never the frame the old VMA had. A range a VMA
 * still intersects is MAP_FIXED_NOREPLACE's -EEXIST; no VMA slot left is vm_area_alloc's -ENOMEM; an
 * mm without users (no process to call mmap) gets nothing, -ESRCH.
 */
import { describe, expect, it } from 'vitest';
import { buildWorld } from '../../src/kernel/topology.js';
import { addVma, populateAnon } from '../../src/kernel/setup.js';
import { EEXIST, ENOMEM, ESRCH, VM_ANON, VM_READ, VM_WRITE } from '../../src/kernel/flags.js';
import { findVma, pte, vma } from '../../src/kernel/pgtable.js';
import { MM, PAGE } from '../../src/kernel/structs.js';
import { vmMmapPgoff } from '../../src/kernel/ops/mmap.js';
import { vmMunmap } from '../../src/kernel/ops/munmap.js';
import { cpuAccess } from '../../src/kernel/ops/access.js';
import { actorIndex, isEnabled, runToEnd, runUntil } from '../../src/world/runner.js';
import type { World } from '../../src/world/world.js';
import { attachRecorder, declareRecorder, recorded, RECORDER_LIB } from '../helpers/recorder.js';

const SRC = 0;

/** The source: an anonymous read-write VMA [0, 4) with page 1 present (0xa); `slots` VMA slots. */
function world(slots = 2): { w: World; old: number } {
  const w = buildWorld({ pages: 6, mmPages: 6, vmasPerMm: slots, mms: ['src'], actors: ['t', 'cpu'], libraries: [RECORDER_LIB] }, declareRecorder);
  addVma(w, SRC, { start: 0, end: 4 });
  return { w, old: populateAnon(w, SRC, 1, 0xa) };
}

function run(w: World, actor: string, routine: Parameters<World['spawn']>[1], args: number[]): number {
  const a = actorIndex(w, actor);
  w.spawn(a, routine, args);
  runToEnd(w, actor);
  return w.actorResult(a);
}

describe('mmap (vm_mmap_pgoff → __mmap_new_vma)', () => {
  it('after a munmap, maps the freed range again as an anonymous read-write VMA with no ptes, firing no notifier', () => {
    const { w, old } = world();
    expect(run(w, 't', vmMunmap, [SRC, 0, 4])).toBe(0);
    expect(findVma(w, SRC, 1)).toBe(-1);
    attachRecorder(w, SRC);
    expect(run(w, 't', vmMmapPgoff, [SRC, 0, 4])).toBe(0);
    const i = findVma(w, SRC, 1);
    expect(i).toBeGreaterThanOrEqual(0);
    expect(vma(w, i)).toMatchObject({ used: 1, start: 0, end: 4, flags: VM_ANON | VM_READ | VM_WRITE, pgoff: 0 });
    for (const vpn of [0, 1, 2, 3]) expect(pte(w, SRC, vpn)).toMatchObject({ present: 0, pfn: 0 });
    expect(recorded(w)).toEqual([]);
    expect(w.obj(PAGE, old).free).toBe(1); // the old frame went with the munmap
    expect(w.obj(MM, SRC).mmapWriter).toBe(0);
  });

  it('the first access to the new VMA faults in a fresh zeroed page, not the old frame or its data', () => {
    const { w, old } = world();
    const oldGen = w.obj(PAGE, old).gen;
    run(w, 't', vmMunmap, [SRC, 0, 4]);
    run(w, 't', vmMmapPgoff, [SRC, 0, 4]);
    expect(run(w, 'cpu', cpuAccess, [SRC, 1, 0, 0])).toBe(0);
    const p = pte(w, SRC, 1);
    expect(p.present).toBe(1);
    expect(w.obj(PAGE, p.pfn)).toMatchObject({ free: 0, anon: 1, mapcount: 1, contents: 0 });
    expect(run(w, 'cpu', cpuAccess, [SRC, 2, 1, 7])).toBe(7);
    expect(pte(w, SRC, 2).write).toBe(1);
    // The allocator may hand out the same pfn again, never the same page: a new generation.
    expect([p.pfn, p.gen]).not.toEqual([old, oldGen]);
  });

  it('links the VMA under mmap_lock held for write: a fault on the range waits until the unlock', () => {
    const { w } = world();
    run(w, 't', vmMunmap, [SRC, 0, 4]);
    w.spawn(0, vmMmapPgoff, [SRC, 0, 4]);
    runUntil(w, 't', 'vm_mmap_pgoff:unlock');
    expect(findVma(w, SRC, 0)).toBeGreaterThanOrEqual(0);
    const cpu = actorIndex(w, 'cpu');
    w.spawn(cpu, cpuAccess, [SRC, 0, 0, 0]);
    runUntil(w, 'cpu', 'cpu_access:lock');
    expect(isEnabled(w, cpu)).toBe(false); // mmap_read_lock behind the writer
    runToEnd(w, 't');
    expect(isEnabled(w, cpu)).toBe(true);
    runToEnd(w, 'cpu');
    expect(w.actorResult(cpu)).toBe(0);
  });

  it('a range a VMA still intersects is -EEXIST (MAP_FIXED_NOREPLACE), and the mapping is left as it was', () => {
    const { w, old } = world();
    expect(run(w, 't', vmMmapPgoff, [SRC, 3, 5])).toBe(-EEXIST);
    expect(vma(w, findVma(w, SRC, 3))).toMatchObject({ start: 0, end: 4 });
    expect(findVma(w, SRC, 4)).toBe(-1);
    expect(pte(w, SRC, 1).pfn).toBe(old);
    expect(w.obj(MM, SRC).mmapWriter).toBe(0);
    // Beside it, in the hole, it maps.
    expect(run(w, 't', vmMmapPgoff, [SRC, 4, 6])).toBe(0);
    expect(vma(w, findVma(w, SRC, 5))).toMatchObject({ start: 4, end: 6 });
  });

  it('an mm no process uses (mm_users 0: the fork child before its fork, a process after its exit) gets no VMA: -ESRCH', () => {
    const { w } = world();
    w.obj(MM, SRC).users = 0;
    expect(run(w, 't', vmMmapPgoff, [SRC, 4, 6])).toBe(-ESRCH);
    expect(findVma(w, SRC, 4)).toBe(-1);
    expect(w.obj(MM, SRC).mmapWriter).toBe(0);
  });

  it('with no VMA slot left it fails with -ENOMEM (vm_area_alloc)', () => {
    const { w } = world(1);
    expect(run(w, 't', vmMmapPgoff, [SRC, 4, 6])).toBe(-ENOMEM);
    expect(findVma(w, SRC, 4)).toBe(-1);
    expect(w.obj(MM, SRC).mmapWriter).toBe(0);
  });
});
