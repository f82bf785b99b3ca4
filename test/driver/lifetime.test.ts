/**
 * Use after free (src/kernel/lifetime.ts): kref get/put with free at zero, an SRCU grace period,
 * and the BUG when a step touches a freed object — on the drivers of lifetime.ts.
 */
import { describe, expect, it } from 'vitest';
import { checkOne } from '../../src/check/run.js';
import { scenarioByName } from '../../src/scenario/catalogue.js';
import { buildScenario } from '../../src/scenario/build.js';
import { runAllToEnd } from '../helpers/phases.js';
import { CTX, PUB, lifetimeDriver } from './lifetime.js';
import { declareLifetime, krefInit, kzalloc } from '../../src/kernel/lifetime.js';

const exit = scenarioByName('exit')!;

describe('use after free', () => {
  it('reports a fault that uses the context release freed, with no race', () => {
    const r = checkOne(exit, lifetimeDriver('no-ref'), { shrink: true });
    expect(r.violation?.property).toBe('kernel-bug');
    expect(r.violation?.message).toBe('use after free: ctx_no_ref_fault:use accesses test_ctx[0], which has been freed (its refs is 0)');
    expect(r.shrunk?.preemptions).toBe(0); // the source exits, then the introspector faults
  });

  it('reports a reference taken on a context freed without waiting for the SRCU readers', () => {
    const r = checkOne(exit, lifetimeDriver('no-sync'), { shrink: true });
    expect(r.violation?.message).toBe('use after free: ctx_no_sync_fault:get accesses test_ctx[0], which has been freed (its refs is 0)');
    expect(r.shrunk?.preemptions).toBeGreaterThan(0); // it needs the release between the load and the get
  });

  it('holds when release waits for the readers with synchronize_srcu', () => {
    expect(checkOne(exit, lifetimeDriver('srcu')).verdict).toBe('holds');
  });

  it('frees at the last put: every field back to 0', () => {
    const { world: w } = buildScenario(exit, lifetimeDriver('srcu'));
    expect(w.obj(CTX, 0).refs).toBe(1);
    expect(runAllToEnd(w).violation).toBeUndefined();
    expect([w.obj(CTX, 0).refs, w.obj(CTX, 0).active]).toEqual([0, 0]);
    // kzalloc hands the freed object out again, then finds none free.
    expect(kzalloc(w, CTX)).toBe(0);
    expect(w.obj(CTX, 0).refs).toBe(1);
    expect(kzalloc(w, CTX)).toBe(-1);
  });

  it("kzalloc's scan is a shared access for the step merging, even when it finds nothing free (a stand-in: not the audit's)", () => {
    const { world: w } = buildScenario(exit, lifetimeDriver('srcu'));
    expect(kzalloc(w, CTX)).toBe(-1); // the one context is live
    // A step that only looked for a free context read the kref another actor's put writes: not invisible.
    w.trackActor(0);
    expect(kzalloc(w, CTX)).toBe(-1);
    expect(w.touchedShared).toBe(true);
    w.tracking = false;
    expect(w.standIns).toContain('kzalloc finds a free object by its kref (the slab allocator keeps its free list under its own lock)');
  });

  it('takes only an atomic field of the struct as its kref', () => {
    expect(() => declareLifetime(PUB, 'ctx')).toThrow(/test_ctx_pointer.ctx is a kref: declare it 'atomic'/);
    expect(() => krefInit(buildScenario(exit, lifetimeDriver('srcu')).world, PUB, 0)).toThrow(/struct test_ctx_pointer declares no lifetime/);
  });
});
