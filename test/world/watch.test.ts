/**
 * The generated field accessors of struct views (world.ts `viewPrototype`) are what the step
 * merging's soundness and the audit rest on: a read or write through a view must be seen exactly as
 * `World.get`/`World.set` see it — it marks the step as touching shared state while tracking, and a
 * write keeps the incremental fingerprint equal to the full one.
 */
import { describe, expect, it } from 'vitest';
import { scenarioByName } from '../../src/scenario/catalogue.js';
import { variantByName } from '../../src/mirror/variants.js';
import { buildScenario } from '../../src/scenario/build.js';
import { PAGE, PTE } from '../../src/kernel/structs.js';
import { fullHash } from '../../src/world/hash.js';
import { DATA_START } from '../../src/world/layout.js';

const world = () => buildScenario(scenarioByName('introspect-nested')!, variantByName('interval')!).world;

describe('struct views while tracking', () => {
  it('a read through a view touches shared state; reading nothing does not', () => {
    const w = world();
    w.trackActor(0);
    expect(w.touchedShared).toBe(false);
    void w.obj(PTE, 1).present;
    expect(w.touchedShared).toBe(true);
    w.tracking = false;
    w.trackActor(1);
    expect(w.touchedShared).toBe(false);
    // A slot of the actor's own: not shared.
    void w.get(w.layout.actorSlot(1));
    expect(w.touchedShared).toBe(false);
    w.tracking = false;
  });

  it('a write through a view touches shared state and keeps the fingerprint whole', () => {
    const w = world();
    w.trackActor(0);
    const page = w.obj(PAGE, 2);
    page.refcount = page.refcount + 3;
    expect(w.touchedShared).toBe(true);
    w.tracking = false;
    expect(w.v[w.layout.slot(PAGE, 2, 'refcount')]).toBe(page.refcount);
    expect([w.v[0], w.v[1]]).toEqual(fullHash(w.v, DATA_START));
  });

  it('tracking and auditing are independent bits of one watch word', () => {
    const w = world();
    w.tracking = true;
    w.auditing = true;
    w.tracking = false;
    expect(w.auditing).toBe(true);
    expect(w.watch).not.toBe(0);
    w.auditing = false;
    expect(w.watch).toBe(0);
  });
});
