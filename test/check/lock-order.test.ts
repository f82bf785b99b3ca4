/**
 * The `lock-order` check over whole explorations: a driver that allocates (GFP_KERNEL) under the
 * lock its invalidate callback takes has the cycle driver lock → fs_reclaim →
 * mmu_notifier_invalidate_range_start → driver lock, reported even though no explored schedule
 * deadlocks; the corrected design has none (but at exit: see below); the check is off unless
 * selected and moves no count.
 */
import { describe, expect, it } from 'vitest';
import { interval } from '../../src/mirror/interval.js';
import allocatesUnderLock from '../../examples/drivers/allocates-under-lock.js';
import { CATALOGUE, scenarioByName } from '../../src/scenario/catalogue.js';
import { checkOne } from '../../src/check/run.js';
import { MEASURED_COUNTS } from '../../src/check/costs.js';
import { counterexampleTrace, traceOf } from '../../src/report/trace.js';
import { decodeSchedule } from '../../src/engine/schedule.js';
import { LOCK_ORDER, Verdicts } from '../../src/engine/verdict.js';
import { resultLine, verdictTable } from '../../src/report/text.js';

/** The corrected design that kmallocs (GFP_KERNEL) a device page-table node under the update lock. */
const allocUnderLock = allocatesUnderLock;

const scenario = (name: string) => scenarioByName(name)!;
const cycleOf = (r: ReturnType<typeof checkOne>) => r.lockOrder!.cycles.map((c) => [...c.classes, c.classes[0]].join(' → '));

describe('the lock-order check', () => {
  it('reports the allocation under the update lock as a cycle through fs_reclaim and the notifier map', () => {
    const r = checkOne(scenario('munmap'), allocUnderLock, { lockOrder: true });
    expect([r.verdict, r.violation?.property]).toEqual(['violation', LOCK_ORDER]);
    expect(cycleOf(r)).toEqual(['mirror.update → fs_reclaim → mmu_notifier_invalidate_range_start → mirror.update']);
    expect(r.violation!.message).toMatch(/^potential deadlock \(lock order\): mirror\.update → fs_reclaim → mmu_notifier_invalidate_range_start → mirror\.update \(/);
    const [toReclaim, priming, callback] = r.lockOrder!.cycles[0].edges;
    expect(toReclaim.witness).toMatchObject({ actor: 'intro', where: 'aul_install_kmalloc:alloc', held: ['mm.mmap_lock', 'mirror.update'] });
    expect(priming.witness).toMatchObject({ where: 'aul_install_kmalloc:alloc', held: ['mm.mmap_lock', 'mirror.update', 'fs_reclaim'] });
    expect(callback.witness).toMatchObject({ actor: 'source', where: 'mirror_invalidate:lock' });
    expect(callback.witness.held).toContain('mmu_notifier_invalidate_range_start');
    // No schedule deadlocks: each edge was seen on a schedule of its own, and each replays to its step.
    for (const e of r.lockOrder!.cycles[0].edges) {
      const t = traceOf(scenario('munmap'), allocUnderLock, decodeSchedule(e.witness.schedule!).choices);
      expect([t.replayError, t.steps.at(-1)?.where, t.steps.at(-1)?.actor]).toEqual([undefined, e.witness.where, e.witness.actor]);
    }
    // The counterexample is the schedule through the step that closed the cycle; not shrunk.
    expect(r.shrunk).toBeUndefined();
    expect(r.lockOrder!.cycles[0].edges.map((e) => e.witness.schedule)).toContain(r.schedule);
    expect(resultLine(r)).toMatch(
      /\n {2}lock order: mirror\.update → fs_reclaim → .*\n {4}mirror\.update → fs_reclaim: actor intro at aul_install_kmalloc:alloc holding \[mm\.mmap_lock, mirror\.update\]\n {6}first seen: munmap\/allocates-under-lock:/,
    );
  });

  it('finds it under reclaim too, where kswapd runs the callback holding fs_reclaim', () => {
    const r = checkOne(scenario('swap-cycle'), allocUnderLock, { lockOrder: true });
    expect(r.violation?.property).toBe(LOCK_ORDER);
    expect(r.lockOrder!.cycles[0].classes).toEqual(expect.arrayContaining(['mirror.update', 'fs_reclaim']));
  });

  it('is off unless selected: no graph, the same verdict and counts', () => {
    const r = checkOne(scenario('munmap'), allocUnderLock);
    expect([r.verdict, r.lockOrder]).toEqual(['holds', undefined]);
    const plain = checkOne(scenario('munmap'), interval);
    const withOrder = checkOne(scenario('munmap'), interval, { lockOrder: true });
    expect([withOrder.verdict, withOrder.states, withOrder.transitions]).toEqual(['holds', ...MEASURED_COUNTS['munmap/interval']]);
    expect([plain.states, plain.transitions]).toEqual([withOrder.states, withOrder.transitions]);
  });

  it('is listed with the built-in checks', () => {
    expect(new Verdicts().list().map((c) => c.name)).toContain(LOCK_ORDER);
  });

  it('finds no cycle for the corrected design, but at exit', { timeout: 120_000 }, () => {
    for (const spec of CATALOGUE.filter((s) => s.name !== 'introspect-nested' && s.name !== 'exit')) {
      const r = checkOne(spec, interval, { lockOrder: true });
      expect([spec.name, r.verdict, r.lockOrder!.cycles]).toEqual([spec.name, 'holds', []]);
    }
  });

  it('pins the finding at exit: the RELEASE callback zaps under the update lock, the one invalidation that does not hold the notifier map', () => {
    // exit_mmap → mmu_notifier_release → mn_itree_release runs ops->invalidate without the map;
    // the callback takes the update lock and zap_vma_ptes starts an invalidation of the
    // introspector's mm, which acquires the map: update → map. Every other invalidation holds the
    // map while the callback takes update: map → update. Lockdep's map is one class for every mm.
    const r = checkOne(scenario('exit'), interval, { lockOrder: true });
    expect(r.violation?.property).toBe(LOCK_ORDER);
    expect(cycleOf(r)).toEqual(['mirror.update → mmu_notifier_invalidate_range_start → mirror.update']);
    expect(r.lockOrder!.cycles[0].edges[0].witness).toMatchObject({ actor: 'source', where: 'mmu_notifier_invalidate_range_start:itree', held: ['mirror.update'] });
    // Its trace runs to the step that closed the cycle and carries the finding (no schedule replays to it).
    const trace = counterexampleTrace(r)!;
    expect([trace.replayError, trace.violated?.property, trace.steps.length]).toEqual([undefined, LOCK_ORDER, r.violation!.schedule.length]);
  });

  it('notes the nested invalidation of the corrected design as a recursion of the notifier map, not a verdict', () => {
    const r = checkOne(scenario('munmap'), interval, { lockOrder: true });
    expect(r.verdict).toBe('holds');
    expect(r.lockOrder!.recursions).toEqual([
      { lock: 'mmu_notifier_invalidate_range_start', witness: expect.objectContaining({ actor: 'source', where: 'mmu_notifier_invalidate_range_start:itree' }) },
    ]);
    expect(resultLine(r)).toMatch(
      /\n {2}note: mmu_notifier_invalidate_range_start taken while held \(lockdep: possible recursive locking\): actor source at mmu_notifier_invalidate_range_start:itree/,
    );
    // Under the table, grouped over the cells.
    const other = checkOne(scenario('mprotect'), interval, { lockOrder: true });
    expect(verdictTable([r, other])).toMatch(
      /\n\nLock-order notes \(lockdep would report possible recursive locking; not a verdict\):\n {2}mmu_notifier_invalidate_range_start taken while held, at mmu_notifier_invalidate_range_start:itree: munmap\/interval, mprotect\/interval$/,
    );
  });
});
