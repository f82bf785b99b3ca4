/**
 * KVM's gfn→pfn cache (src/kvm/gpc.ts): a cached translation checked when it is used. Today's
 * refresh retries while an invalidation is active (mn_active_invalidate_count, raised before the
 * notifier invalidates the cache), so the B-23 interleaving — the refresh between the cache's
 * invalidation and mmu_invalidate_in_progress++ — cannot leave it valid for a page being zapped;
 * the properties hold a cache in use to its parent (refinement, no-dangling-pfn) and leave a stale
 * unused one alone; scenarios without a cache have none of its state.
 */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GPC, KVM_MN, gpcLock, gpcRefreshLock } from '../../src/kvm/gpc.js';
import { PAGE } from '../../src/kernel/structs.js';
import { interval } from '../../src/mirror/interval.js';
import { buildScenario } from '../../src/scenario/build.js';
import { loadScenarioFile } from '../../src/scenario/load.js';
import { scenarioByName } from '../../src/scenario/catalogue.js';
import type { ScenarioSpec } from '../../src/scenario/spec.js';
import { checkOne } from '../../src/check/run.js';
import { noDanglingPfn, refinement } from '../../src/check/properties.js';
import { actorIndex, whereIs } from '../../src/world/runner.js';
import { runAllToEnd, runPhases } from '../helpers/phases.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const B23 = loadScenarioFile(join(ROOT, 'examples/races/B-23-gpc-refresh-race/scenario.yaml')).spec;

/** The Xen actor alone: refresh the cache for gfn 0, then store 7 through it. */
const xenAlone: ScenarioSpec = { ...B23, name: 'gpc-alone', actors: B23.actors.filter((a) => a.name === 'xen') };

describe("KVM's gfn→pfn cache", () => {
  it('names its two locks as messages and lock-order classes show them (gpc->lock, gpc->refresh_lock)', () => {
    const { world: w } = buildScenario(xenAlone, interval);
    expect([gpcLock(w, 0).name(), gpcRefreshLock(w, 0).name()]).toEqual(['gpc[0].lock', 'gpc[0].refresh_lock']);
    expect(gpcLock(w, 0).writer).not.toBe(gpcRefreshLock(w, 0).slot);
  });

  it('a refresh makes it valid for the page the hva maps, without pinning it; a use stores through it', () => {
    const { world: w } = buildScenario(xenAlone, interval);
    const xen = actorIndex(w, 'xen');
    expect(runPhases(w, [{ actor: 'xen', until: 'gpc_use:check' }]).violation).toBeUndefined();
    const gpc = w.obj(GPC, 0);
    expect({ gfn: gpc.gfn, uhva: gpc.uhva, valid: gpc.valid }).toEqual({ gfn: 0, uhva: 0, valid: 1 });
    expect(w.obj(PAGE, gpc.pfn).refcount).toBe(1); // the mapping's only: "The pfn is now tracked by the cache"
    expect(runAllToEnd(w).violation).toBeUndefined();
    expect(w.obj(PAGE, gpc.pfn).contents).toBe(7);
    expect(w.actorSp(xen)).toBe(0);
  });

  it("B-23's interleaving on today's kernel: the refresh that runs after the cache was invalidated waits for mn_active_invalidate_count, then caches the new page", () => {
    const { world: w } = buildScenario(B23, interval);
    const xen = actorIndex(w, 'xen');
    // The balloon's MADV_DONTNEED has raised the count and invalidated the (empty) cache, not yet mmu_invalidate_in_progress.
    expect(runPhases(w, [{ actor: 'balloon', after: 'kvm_mmu_notifier_invalidate_range_start:gpc' }]).violation).toBeUndefined();
    expect(w.obj(KVM_MN, 0).activeInvalidateCount).toBe(1);
    const oldGen = w.obj(PAGE, 1).gen; // the page behind gfn 0 before the balloon frees it
    expect(
      runPhases(w, [
        { actor: 'xen', until: 'hva_to_pfn_retry:recheck' },
        { actor: 'xen', after: 'hva_to_pfn_retry:recheck' },
      ]).violation,
    ).toBeUndefined();
    expect(whereIs(w, xen)).toBe('hva_to_pfn_retry:retry'); // the count says an invalidation is active
    expect(w.obj(GPC, 0).valid).toBe(0);
    expect(runPhases(w, [{ actor: 'balloon', until: 'end' }]).violation).toBeUndefined();
    expect(w.obj(KVM_MN, 0).activeInvalidateCount).toBe(0);
    expect(runAllToEnd(w).violation).toBeUndefined();
    const gpc = w.obj(GPC, 0);
    expect(gpc.valid).toBe(1);
    // The page the refault gave (its frame may be the freed one, reused: a new generation).
    expect(gpc.gen).toBe(w.obj(PAGE, gpc.pfn).gen);
    expect(gpc.gen).not.toBe(oldGen);
    expect(w.obj(PAGE, gpc.pfn).contents).toBe(7);
  });

  it('the notifier clears a valid cache whose hva it invalidates; the next use refreshes it', () => {
    const spec: ScenarioSpec = {
      ...B23,
      actors: [
        {
          name: 'xen',
          ops: [
            { op: 'gpc-refresh', vm: 'source', page: 0 },
            { op: 'madvise-dontneed', mm: 'source', page: 0 },
            { op: 'gpc-use', vm: 'source', page: 0 },
          ],
        },
      ],
    };
    const { world: w } = buildScenario(spec, interval);
    expect(runPhases(w, [{ actor: 'xen', until: 'gpc_use:check' }]).violation).toBeUndefined();
    expect(w.obj(GPC, 0).valid).toBe(0);
    expect(runPhases(w, [{ actor: 'xen', after: 'gpc_use:check' }]).violation).toBeUndefined();
    expect(whereIs(w, actorIndex(w, 'xen'))).toBe('kvm_gpc_refresh:serialise');
    expect(runAllToEnd(w).violation).toBeUndefined();
  });

  it('a refresh of an hva no VMA maps fails (-EFAULT) and leaves the cache invalid: the use gives up', () => {
    const spec: ScenarioSpec = {
      ...B23,
      actors: [
        {
          name: 'xen',
          ops: [
            { op: 'munmap', mm: 'source', page: 0 },
            { op: 'gpc-use', vm: 'source', page: 0 },
          ],
        },
      ],
    };
    const { world: w } = buildScenario(spec, interval);
    expect(runAllToEnd(w).violation).toBeUndefined();
    expect(w.obj(GPC, 0)).toMatchObject({ gfn: 0, uhva: 0, valid: 0, pfn: 0, users: 0 });
  });

  it('a refresh of a valid cache for the same gfn keeps its pfn; a gfn no memslot covers fails (-EFAULT), leaving no hva', () => {
    const again: ScenarioSpec = {
      ...xenAlone,
      actors: [
        {
          name: 'xen',
          ops: [
            { op: 'gpc-refresh', vm: 'source', page: 0 },
            { op: 'gpc-refresh', vm: 'source', page: 0 },
          ],
        },
      ],
    };
    const { world: w } = buildScenario(again, interval);
    expect(
      runPhases(w, [
        { actor: 'xen', after: 'workload:next' },
        { actor: 'xen', until: 'workload:next' },
      ]).violation,
    ).toBeUndefined();
    const first = { gfn: w.obj(GPC, 0).gfn, uhva: w.obj(GPC, 0).uhva, pfn: w.obj(GPC, 0).pfn, valid: w.obj(GPC, 0).valid };
    expect(first.valid).toBe(1);
    expect(runAllToEnd(w).violation).toBeUndefined();
    expect(w.obj(GPC, 0)).toMatchObject(first);
    const noSlot: ScenarioSpec = { ...xenAlone, kvm: { memslotPages: 0 } };
    const { world: v } = buildScenario(noSlot, interval);
    expect(runAllToEnd(v).violation).toBeUndefined();
    expect(v.obj(GPC, 0)).toMatchObject({ gfn: 0, uhva: -1, valid: 0, pfn: 0, users: 0 });
  });

  it("holds exhaustively on the B-23 scenario (today's kernel)", () => {
    expect(checkOne(B23, interval).verdict).toBe('holds');
  });

  it('the properties judge a cache only while in use: a stale unused cache is fine, a used one must match its parent and not be freed', () => {
    const { world: w } = buildScenario(xenAlone, interval);
    expect(runPhases(w, [{ actor: 'xen', until: 'gpc_use:access' }]).violation).toBeUndefined();
    const gpc = w.obj(GPC, 0);
    expect(gpc.users).toBe(1);
    const pfn = gpc.pfn;
    gpc.pfn = pfn + 1; // as if the cache had kept a translation its parent no longer has
    expect(refinement.check(w)).toBe(`gfn→pfn cache kvm-source:gfn0 (in use) maps pfn ${pfn + 1} but source@0 maps pfn ${pfn}`);
    gpc.pfn = pfn;
    gpc.gen = gpc.gen + 1; // as if it had cached a previous use of the frame
    expect(noDanglingPfn.check(w)).toBe(`gfn→pfn cache kvm-source:gfn0 (in use) maps pfn ${pfn}, which was freed and reused since it was mapped`);
    gpc.users = 0;
    expect(noDanglingPfn.check(w)).toBeUndefined();
  });

  it('a valid cache with no pfn is a NULL khva to its user: a kernel BUG (oops)', () => {
    const { world: w } = buildScenario(xenAlone, interval);
    expect(runPhases(w, [{ actor: 'xen', until: 'gpc_use:check' }]).violation).toBeUndefined();
    w.obj(GPC, 0).pfn = 0;
    const r = runAllToEnd(w);
    expect(r.violation?.property).toBe('kernel-bug');
    expect(r.violation?.message).toMatch(/kvm_gpc_check passed with pfn KVM_PFN_ERR_FAULT: NULL khva dereferenced/);
  });

  it('costs nothing where no operation uses a cache: no cache, no mn_active_invalidate_count', () => {
    const { world: w } = buildScenario(scenarioByName('introspect')!, interval);
    expect([w.layout.has(GPC), w.layout.has(KVM_MN)]).toEqual([false, false]);
  });
});
