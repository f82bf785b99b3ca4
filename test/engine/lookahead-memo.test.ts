/**
 * The look-ahead memo (transition.ts `LookaheadMemo`): a try of an actor's next step after a
 * visible one is not run again from a state whose actor's top frame and actor slots equal those
 * of a try taken back before. It must change nothing but the work: the search with it interns the
 * same states (fingerprints, in the same order), counts the same transitions and gives the same
 * verdict as the search without it (the memo is off while a lock-order graph is recorded, which
 * changes nothing else on a cell with no lock-order cycle). The unit tests pin what the key is.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CATALOGUE } from '../../src/scenario/catalogue.js';
import { buildScenario } from '../../src/scenario/build.js';
import { VARIANTS } from '../../src/mirror/variants.js';
import { explore } from '../../src/engine/exhaustive.js';
import { LookaheadMemo } from '../../src/engine/transition.js';
import { ACTOR_NONBLOCK, CALL_LOCALS, CALL_PC } from '../../src/world/layout.js';
import type { ScenarioSpec } from '../../src/scenario/spec.js';
import type { MirrorVariant } from '../../src/mirror/device.js';
import { scenarios } from '../generative/scenarios.js';

const CORRECTED = VARIANTS[0];

/** Every state a search interns, as its fingerprint lanes in order, and its figures. */
function search(spec: ScenarioSpec, design: MirrorVariant, memo: boolean, maxStates = 100_000) {
  const w = buildScenario(spec, design).world;
  const order: string[] = [];
  // A recorded lock-order graph switches the memo off (a try records its lock edges).
  const r = explore(w, { maxStates, lockOrder: !memo, onState: (v) => order.push(`${v[0]},${v[1]}`) });
  return { verdict: r.verdict, property: r.violation?.property, states: r.states, transitions: r.transitions, depth: r.depth, order, schedule: r.violation?.schedule };
}

function same(spec: ScenarioSpec, design: MirrorVariant, maxStates?: number): void {
  const on = search(spec, design, true, maxStates);
  const off = search(spec, design, false, maxStates);
  expect(on.verdict).toBe(off.verdict);
  expect(on.property).toBe(off.property);
  expect([on.states, on.transitions, on.depth]).toEqual([off.states, off.transitions, off.depth]);
  expect(on.schedule).toEqual(off.schedule);
  expect(on.order).toEqual(off.order);
}

describe('the look-ahead memo changes no search', () => {
  for (const [name, design] of [
    ['swap-cycle', 'interval'],
    ['fork-introspector', 'interval'],
    ['mirror-write', 'raw-clear'],
    ['introspect-nested', 'seed-2019-fixed'],
  ] as const) {
    it(`${name}/${design}: same states in the same order, transitions, verdict and counterexample`, { timeout: 120_000 }, () => {
      same(CATALOGUE.find((s) => s.name === name)!, VARIANTS.find((v) => v.name === design)!, 60_000);
    });
  }

  it('on generated scenarios', { timeout: 240_000 }, () => {
    fc.assert(
      fc.property(scenarios(), (spec) => same(spec, CORRECTED, 10_000)),
      { seed: 20261130, numRuns: 10 },
    );
  });
});

describe('LookaheadMemo keys', () => {
  const world = () => buildScenario(CATALOGUE.find((s) => s.name === 'swap-cycle')!, CORRECTED).world;

  it('knows a key remembered, by the top frame and the actor slots of that actor', () => {
    const w = world();
    const L = w.layout;
    const memo = new LookaheadMemo(L);
    expect(memo.knows(w, 0)).toBe(false);
    memo.remember(w);
    expect(memo.knows(w, 0)).toBe(true);
    expect(memo.knows(w, 1)).toBe(false); // another actor
    const top = L.callSlot(0, w.actorSp(0) - 1);
    for (const o of [top + CALL_PC, top + CALL_LOCALS, L.actorSlot(0) + ACTOR_NONBLOCK]) {
      const old = w.v[o];
      w.v[o] = old + 7;
      expect(memo.knows(w, 0), `slot ${o} changed`).toBe(false);
      w.v[o] = old;
      expect(memo.knows(w, 0)).toBe(true);
    }
    // Anything else — a struct field, another actor's frame — is not part of the key.
    const other = L.callSlot(1, 0) + CALL_LOCALS;
    w.v[other] += 3;
    w.v[L.actorBase - 1] += 3;
    expect(memo.knows(w, 0)).toBe(true);
  });

  it('keeps every key as its table grows', () => {
    const w = world();
    const memo = new LookaheadMemo(w.layout);
    const slot = w.layout.callSlot(0, w.actorSp(0) - 1) + CALL_LOCALS;
    for (let x = 0; x < 5000; x++) {
      w.v[slot] = x;
      expect(memo.knows(w, 0)).toBe(false);
      memo.remember(w);
    }
    expect(memo.size).toBe(5000);
    for (let x = 0; x < 5000; x++) {
      w.v[slot] = x;
      expect(memo.knows(w, 0)).toBe(true);
    }
    w.v[slot] = 5000;
    expect(memo.knows(w, 0)).toBe(false);
  });
});
