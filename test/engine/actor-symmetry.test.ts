/**
 * Symmetry of interchangeable actors (src/engine/actor-symmetry.ts, a scenario's `symmetric:`):
 * the canonical form is the same for every permutation of a state (the fingerprint follows); a
 * search with it interns exactly the concrete search's states canonicalised (the count only falls)
 * and gives the same verdicts, with schedules that replay concretely; a name the declarations do
 * not give (a field or an order comparison) makes the state sets differ, and the engine's
 * step-by-step equivariance check names it; the loader refuses groups that are not alike.
 */
import { describe, expect, it } from 'vitest';
import { Library, Model } from '../../src/world/registry.js';
import { DATA_START, defineActorNames, defineStruct, Layout } from '../../src/world/layout.js';
import { World } from '../../src/world/world.js';
import type { AnyRoutine } from '../../src/world/routine.js';
import { fullHash } from '../../src/world/hash.js';
import { explore, type ExploreOptions } from '../../src/engine/exhaustive.js';
import { ActorCanon } from '../../src/engine/actor-symmetry.js';
import { RowCanon } from '../../src/engine/symmetry.js';
import { judgeSchedule } from '../../src/engine/replay.js';
import { entryActor } from '../../src/world/entry.js';
import { execStep } from '../../src/world/runner.js';
import { checkOne } from '../../src/check/run.js';
import { VARIANTS } from '../../src/mirror/variants.js';
import { buildScenario } from '../../src/scenario/build.js';
import { parseScenario, ScenarioError } from '../../src/scenario/load.js';
import { actorGroups } from '../../src/scenario/symmetric.js';
import type { ScenarioSpec } from '../../src/scenario/spec.js';
import { propertiesFor } from '../../src/check/run.js';
import { vmamirror } from '../helpers/cli.js';
import { retryForever } from '../helpers/mutants.js';
import { TERMINATION } from '../../src/engine/verdict.js';
import { loadScenarioFile } from '../../src/scenario/load.js';
import { join } from 'node:path';
import { TWO_READERS } from '../helpers/symmetric-scenarios.js';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

// A toy: a lock (its owner word holds w.self: a name by its protection), a mask of who took it
// (bits, declared), one counter row per actor (declared), a local keeping the actor's number
// (declared); `last` is a field the mutants write an actor's number into without declaring it.
const LOCK = defineStruct('asym_lock', ['owner'] as const, { owner: 'lock-word:asym' });
const NOTE = defineStruct('asym_note', ['took', 'last', 'sum'] as const);
const TASK = defineStruct('asym_task', ['count'] as const);
const LIB = new Library('test-actor-symmetry');

type Run = (w: World, l: Record<string, number>) => string | number;
const routine = (name: string, steps: Record<string, Run>) =>
  LIB.routine({
    name,
    params: [],
    locals: ['me'],
    steps: Object.fromEntries(Object.entries(steps).map(([label, run]) => [label, { at: `test:${label}`, run }])) as never,
  });

/** Takes the lock (or tries again), notes itself, counts in its own row, releases. `extra`: what a mutant does besides, holding the lock. */
const worker = (name: string, extra: Run = () => 0) =>
  routine(name, {
    take: (w, l) => {
      const lock = w.obj(LOCK, 0);
      if (lock.owner !== 0) return 'take';
      lock.owner = w.self;
      l.me = w.actor;
      w.obj(NOTE, 0).took = w.obj(NOTE, 0).took | (1 << w.actor);
      extra(w, l);
      return 'count';
    },
    count: (w, l) => {
      w.obj(TASK, l.me).count = w.obj(TASK, l.me).count + 1;
      return 'release';
    },
    release: (w) => {
      w.obj(LOCK, 0).owner = 0;
      return w.ret(0);
    },
  });
const plain = worker('asym_worker');
/** Keeps the last taker's number in an undeclared field. */
const keepsNumber = worker('asym_worker_keeps', (w) => {
  w.obj(NOTE, 0).last = w.actor + 1;
  return 0;
});
/** Compares actor numbers for order: the lowest-numbered taker adds more. */
const ordersActors = worker('asym_worker_orders', (w) => {
  w.obj(NOTE, 0).sum = w.obj(NOTE, 0).sum + (w.actor === 0 ? 2 : 1);
  return 0;
});
/** A BUG that names the actor: the second to count. */
const countsSecond = worker('asym_worker_second', (w) => {
  const note = w.obj(NOTE, 0);
  if (note.sum > 0) w.bug(`${w.layout.actorNames[w.actor]} counts second`);
  note.sum = note.sum + 1;
  return 0;
});
defineActorNames({
  name: 'test-actors',
  rows: [TASK],
  fields: [{ struct: NOTE, field: 'took', encoding: 'bits' }],
  locals: ['asym_worker', 'asym_worker_keeps', 'asym_worker_orders', 'asym_worker_second'].map((r) => ({ routine: r, local: 'me', encoding: 'index' as const, setBy: 'take' })),
});

/** A world of `actors.length` actors, each running its routine. */
function world(actors: readonly AnyRoutine[]): World {
  const L = new Layout();
  L.add(LOCK, 1);
  L.add(NOTE, 1);
  L.add(TASK, actors.length);
  L.addStacks(
    actors.map((_, i) => `t${i}`),
    2,
    new Model([LIB]),
  );
  const w = new World(L);
  for (const [i, r] of actors.entries()) w.spawn(i, r, []);
  return w;
}

const all = (n: number) => [Array.from({ length: n }, (_, a) => a)];

/** The states a search interns, as fingerprints; canonicalised with `canon` when given. */
function interned(w: World, opts: ExploreOptions, canon?: ActorCanon): { states: Set<string>; verdict: string } {
  const seen = new Set<string>();
  const scratch = new Int32Array(w.v.length);
  const r = explore(w, {
    ...opts,
    onState: (v) => {
      const s = canon ? canon.canonicalCopy(v, scratch, w) : v;
      seen.add(`${s[0]},${s[1]}`);
    },
  });
  return { states: seen, verdict: r.verdict === 'violation' ? r.violation!.property : r.verdict };
}

const sorted = (s: Set<string>) => [...s].sort();

describe('the canonical form', () => {
  it('is the same for every permutation of a state; names move with their actors; the lanes stay the full hash', () => {
    const w = world([plain, plain, plain]);
    const canon = ActorCanon.of(w.layout, all(3))!;
    expect(canon.size).toBe(6);
    // t1 holds the lock and has counted once; t2 has counted twice.
    w.obj(LOCK, 0).owner = 2;
    w.obj(NOTE, 0).took = 0b110;
    w.obj(TASK, 1).count = 1;
    w.obj(TASK, 2).count = 2;
    const c = canon.canonicalCopy(w.v, new Int32Array(w.v.length), w);
    expect([c[0], c[1]]).toEqual(fullHash(c, DATA_START));
    // The same state with t0 and t2 swapped (rows, the owner word, the mask, the frames).
    const u = world([plain, plain, plain]);
    u.obj(LOCK, 0).owner = 2;
    u.obj(NOTE, 0).took = 0b011;
    u.obj(TASK, 1).count = 1;
    u.obj(TASK, 0).count = 2;
    expect(Array.from(canon.canonicalCopy(u.v, new Int32Array(u.v.length), u))).toEqual(Array.from(c));
    // The owner word still names the actor whose row counts 1.
    const owner = c[w.layout.slot(LOCK, 0, 'owner')] - 1;
    expect(c[w.layout.slot(TASK, owner, 'count')]).toBe(1);
    expect(c[w.layout.slot(NOTE, 0, 'took')]).toBe((1 << owner) | (1 << [0, 1, 2].find((a) => c[w.layout.slot(TASK, a, 'count')] === 2)!));
    // Through the world: the incremental fingerprint follows.
    canon.canonicalize(w);
    expect(Array.from(w.v)).toEqual(Array.from(c));
  });

  it('follows a concrete run as (canonical state, permutation): `after` composes as the canonical form applies (termination.ts multiplies the region graph so)', () => {
    // Beside a concrete run, its canonical image: C and τ with the concrete state τ(C). Concrete
    // actor x steps as canonical actor τ⁻¹(x); the canonical form of the result applies σ; τ
    // becomes τ∘σ⁻¹ (`after`). Whenever τ is wrong, some step runs an actor of C that is not x's
    // image (the lock's holder instead of a waiter, a finished one): the canonical forms part.
    const shape = [plain, plain, plain];
    const canon = ActorCanon.of(world(shape).layout, all(3))!;
    let rng = 7;
    const random = (n: number) => {
      rng = (Math.imul(rng, 1103515245) + 12345) >>> 0;
      return (rng >>> 8) % n;
    };
    let steps = 0;
    for (let run = 0; run < 40; run++) {
      const x = world(shape);
      const c = world(shape);
      canon.canonicalize(c);
      let k = canon.after(0, canon.applied);
      for (;;) {
        const live = [0, 1, 2].filter((a) => x.actorSp(a) !== 0);
        if (!live.length) break;
        const a = live[random(live.length)];
        const tau = canon.image(k);
        execStep(x, a);
        execStep(c, tau.indexOf(a));
        canon.canonicalize(c);
        k = canon.after(k, canon.applied);
        const seen = canon.canonicalCopy(x.v, new Int32Array(x.v.length), x);
        expect([c.v[0], c.v[1]], `run ${run}, step ${steps}`).toEqual([seen[0], seen[1]]);
        steps++;
      }
    }
    expect(steps).toBeGreaterThan(300);
  });

  it('refuses groups that are not groups, and a declared name beyond the actors', () => {
    const L = world([plain, plain, plain]).layout;
    expect(ActorCanon.of(L, undefined)).toBeUndefined();
    expect(() => ActorCanon.of(L, [[0]])).toThrow(/^actor symmetry: a group of 1 actor; a group names at least two$/);
    expect(() =>
      ActorCanon.of(L, [
        [0, 1],
        [1, 2],
      ]),
    ).toThrow(/^actor symmetry: actor t1 is named twice$/);
    expect(() => ActorCanon.of(L, [[0, 5]])).toThrow(/^actor symmetry: no actor 5$/);
    const w = world([plain, plain]);
    w.obj(LOCK, 0).owner = 7;
    expect(() => ActorCanon.of(w.layout, all(2))!.canonicalize(w)).toThrow(/^actor symmetry: asym_lock\[0\]\.owner holds 7, declared an actor's name, but there are 2 actors$/);
  });

  it('refuses actors that do not start alike', () => {
    const w = world([plain, plain]);
    w.obj(TASK, 1).count = 1;
    expect(() => explore(w, { actorGroups: all(2) })).toThrow(/^actor symmetry: actors t0, t1 do not start alike: asym_task\[0\]\.count is 0, and 1 once they are swapped/);
  });
});

describe('the visible states, with and without the permutation', () => {
  it('agree when every name is declared, with fewer states (three actors: under a third)', () => {
    const shape = [plain, plain, plain];
    const w = world(shape);
    const concrete = interned(w, {}, ActorCanon.of(w.layout, all(3)));
    const raw = interned(world(shape), {});
    const symmetric = interned(world(shape), { actorGroups: all(3), equivarianceEvery: 1 });
    expect(sorted(symmetric.states)).toEqual(sorted(concrete.states));
    expect(symmetric.verdict).toBe(raw.verdict);
    expect(symmetric.states.size * 3).toBeLessThan(raw.states.size);
  });

  it('an undeclared field holding an actor number, or an order comparison of actors: the sets differ, and the equivariance check names it', () => {
    for (const [mutant, slot] of [
      [keepsNumber, 'asym_note\\[0\\]\\.last'],
      [ordersActors, 'asym_note\\[0\\]\\.sum'],
    ] as const) {
      const shape = [mutant, mutant];
      const w = world(shape);
      const concrete = interned(w, {}, ActorCanon.of(w.layout, all(2)));
      const symmetric = interned(world(shape), { actorGroups: all(2), equivarianceEvery: 0 });
      expect(sorted(symmetric.states), mutant.name).not.toEqual(sorted(concrete.states));
      expect(() => explore(world(shape), { actorGroups: all(2), equivarianceEvery: 1 }), mutant.name).toThrow(
        new RegExp(`^actor symmetry: actors t0, t1 are told apart: ${slot} is \\d+ after t\\d's step`),
      );
    }
  });

  it('a violation is reported in concrete actors: its schedule replays to it, and its message names the actor that schedule runs', () => {
    const r = explore(world([countsSecond, countsSecond, plain]), { actorGroups: [[0, 1]], equivarianceEvery: 1 });
    expect(r.verdict).toBe('violation');
    const s = r.violation!.schedule;
    const last = world([countsSecond, countsSecond, plain]).layout.actorNames[entryActor(s[s.length - 1])];
    expect(r.violation!.message).toBe(`${last} counts second`);
    expect(judgeSchedule(world([countsSecond, countsSecond, plain]), s)?.message).toBe(r.violation!.message);
  });

  it('a search without groups is the concrete one, whatever else is on', () => {
    const a = interned(world([plain, plain]), { symmetry: true });
    const b = interned(world([plain, plain]), {});
    expect(sorted(a.states)).toEqual(sorted(b.states));
  });
});

const variant = (name: string) => VARIANTS.find((v) => v.name === name)!;

/** Two identical source vCPUs (KVM's mmu_lock owner word names them) writing while kswapd reclaims. */
const TWO_VCPUS = `
name: two-vcpus
description: two identical source vCPUs writing the page while kswapd reclaims it
pages: 1
sourceKvm: true
actors:
  - name: vcpu
    ops: [{ op: guest-access, vm: source, page: 0, write: true, value: 0x200 }]
  - name: kswapd
    ops: [{ op: reclaim, page: 0 }]
  - name: vcpu2
    ops: [{ op: guest-access, vm: source, page: 0, write: true, value: 0x200 }]
symmetric: [[vcpu, vcpu2]]
`;

/** Two identical MADV_DONTNEED threads under the CPU TLB layer (its pending bits name the actors that owe a flush) while the source writes. */
const TWO_DONTNEEDS = `
name: two-dontneeds
description: two identical MADV_DONTNEED threads under the CPU TLB layer while the source writes
pages: 1
layers: [cpu-tlb]
actors:
  - name: writer
    ops: [{ op: access, mm: source, page: 0, write: true, value: 0x200 }]
  - name: dn1
    ops: [{ op: madvise-dontneed, mm: source, page: 0 }]
  - name: dn2
    ops: [{ op: madvise-dontneed, mm: source, page: 0 }]
symmetric: [[dn1, dn2]]
`;

const spec = (text: string): ScenarioSpec => parseScenario(text, 'x.yaml', 'yaml').spec;

/** Every state a check of `s` under `design` interns, as fingerprints; the concrete run's canonicalised (actors and swap slots). */
function statesOf(s: ScenarioSpec, design: string, symmetric: boolean): { verdict: string; states: Set<string>; count: number; schedule?: readonly number[] } {
  const seen = new Set<string>();
  const { world: w } = buildScenario(s, variant(design));
  const canon = symmetric ? undefined : ActorCanon.of(w.layout, actorGroups(s), RowCanon.of(w.layout, true));
  const scratch = new Int32Array(w.v.length);
  let stale = 0;
  const r = checkOne(s, variant(design), {
    audit: false,
    shrink: false,
    symmetry: symmetric,
    equivarianceEvery: symmetric ? 1 : 0,
    onState: (v) => {
      const [lo, hi] = fullHash(v, DATA_START);
      if (lo !== v[0] || hi !== v[1]) stale++;
      const c = canon ? canon.canonicalCopy(v, scratch, w) : v;
      seen.add(`${c[0]},${c[1]}`);
    },
  });
  expect(stale, 'states whose fingerprint is not their full hash').toBe(0);
  return { verdict: r.verdict === 'violation' ? r.violation!.property : r.verdict, states: seen, count: r.states, schedule: r.violation?.schedule as readonly number[] | undefined };
}

describe('interchangeable actors of the model', () => {
  for (const [text, what, below] of [
    [TWO_READERS, 'two introspector readers', 0.6],
    [TWO_VCPUS, 'two source vCPUs', 0.6],
    [TWO_DONTNEEDS, 'two MADV_DONTNEED threads under the CPU TLB layer (its pending bits)', 0.6],
  ] as const) {
    it(`${what}: the canonicalised concrete states are exactly the symmetric run’s, the verdict the same, the count under ${below} of it; every transition equivariant`, { timeout: 120_000 }, () => {
      const s = spec(text);
      const c = statesOf(s, 'interval', false);
      const y = statesOf(s, 'interval', true);
      expect(y.verdict).toBe(c.verdict);
      expect(y.count).toBe(y.states.size);
      expect(y.count).toBeLessThan(c.count * below);
      expect(sorted(y.states)).toEqual(sorted(c.states));
    });
  }

  it('a broken design is still caught, at the same depth, and the schedule (in concrete actors) replays to the same violation', { timeout: 120_000 }, () => {
    const s = spec(TWO_READERS);
    const design = variant('seed-2019-fixed');
    const c = checkOne(s, design, { shrink: false });
    const y = checkOne(s, design, { shrink: false, symmetry: true });
    expect(c.verdict).toBe('violation');
    expect(y.verdict).toBe('violation');
    expect(y.violation!.property).toBe(c.violation!.property);
    expect(y.depth).toBe(c.depth);
    expect(y.actorSymmetry).toEqual({ groups: [['intro', 'intro2']], fairTermination: 'checked' });
    const w = buildScenario(s, design).world;
    expect(judgeSchedule(w, y.violation!.schedule, { properties: propertiesFor(s, design).properties })?.property).toBe(c.violation!.property);
  });

  it('a fault path that retries for ever (a livelock once kswapd stops): found with symmetry too, its concrete lasso replaying to it', { timeout: 120_000 }, () => {
    const s = spec(TWO_READERS);
    const c = checkOne(s, retryForever, { shrink: false });
    const y = checkOne(s, retryForever, { shrink: false, symmetry: true });
    expect(c.violation?.property).toBe(TERMINATION);
    expect(y.violation?.property).toBe(TERMINATION);
    expect(y.actorSymmetry?.fairTermination).toBe('checked');
    const w = buildScenario(s, retryForever).world;
    expect(judgeSchedule(w, y.violation!.schedule, { properties: propertiesFor(s, retryForever).properties })).toEqual({ property: TERMINATION, message: y.violation!.message });
  });

  it('examples/three-readers.yaml: the fair-termination check made on the product, with the concrete verdict', { timeout: 120_000 }, () => {
    const s = loadScenarioFile(join(ROOT, 'examples/three-readers.yaml')).spec;
    const c = checkOne(s, variant('interval'), { shrink: false, audit: false });
    const y = checkOne(s, variant('interval'), { shrink: false, audit: false, symmetry: true });
    expect(y.verdict).toBe(c.verdict);
    expect(y.actorSymmetry).toEqual({ groups: [['intro', 'intro2', 'intro3']], fairTermination: 'checked' });
  });

  it('without --symmetry the declaration changes nothing', { timeout: 60_000 }, () => {
    const s = spec(TWO_READERS);
    const { symmetric: _, ...plainSpec } = s;
    expect(checkOne(s, variant('interval'), { shrink: false }).states).toBe(checkOne(plainSpec, variant('interval'), { shrink: false }).states);
  });
});

describe('the scenario file', () => {
  const file = (symmetric: string, second = '[{ op: access, mm: introspector, page: 0 }]') => `
name: s
description: d
pages: 1
actors:
  - name: a
    ops: [{ op: access, mm: introspector, page: 0 }]
  - name: b
    ops: ${second}
  - name: c
    ops: [{ op: access, mm: introspector, page: 0 }]
symmetric: ${symmetric}
`;
  const problems = (text: string): string[] => {
    try {
      parseScenario(text, 'x.yaml', 'yaml');
    } catch (e) {
      if (e instanceof ScenarioError) return e.problems.map((p) => p.message);
      throw e;
    }
    return [];
  };

  it('takes groups of alike actors, in any key order, by name', () => {
    expect(problems(file('[[a, b, c]]', '[{ page: 0, op: access, mm: introspector }]'))).toEqual([]);
    expect(actorGroups(spec(file('[[c, a]]')))).toEqual([[2, 0]]);
  });

  it('refuses an unknown actor, an actor named twice, a group of one, actors that differ', () => {
    expect(problems(file('[[a, z]]'))).toEqual(['"z" is not an actor of this scenario; expected one of a, b, c']);
    expect(problems(file('[[a, b], [b, c]]'))).toEqual(['actor b is named twice (also in symmetric[0]); expected each actor in at most one group, once']);
    expect(problems(file('[[a, a]]'))).toEqual(['actor a is named twice (also in symmetric[0]); expected each actor in at most one group, once']);
    expect(problems(file('[[a]]'))).toEqual(['a group of 1 actor; expected at least two interchangeable actors']);
    expect(problems(file('[[a, b]]', '[{ op: access, mm: introspector, page: 0, write: true, value: 5 }]'))).toEqual([
      'actors a and b are not interchangeable: operation 0 is {"mm":"introspector","op":"access","page":0} in a and {"mm":"introspector","op":"access","page":0,"value":5,"write":true} in b; expected the same operations with the same arguments',
    ]);
    expect(problems(file('[[a, b]]', '[{ op: access, mm: introspector, page: 0 }, { op: reclaim, page: 0 }]'))).toEqual([
      'actors a and b are not interchangeable: a has 1 operation and b 2; expected the same operations with the same arguments',
    ]);
  });

  it('refuses vCPUs under the kvm-tlb layer: KVM asks them to flush in vCPU order', () => {
    const vcpus = TWO_VCPUS.replace('sourceKvm: true', 'sourceKvm: true\nlayers: [kvm-tlb]');
    expect(problems(vcpus)).toEqual(
      ['vcpu', 'vcpu2'].map((a) => `actor ${a} runs a vCPU, which kvm_flush_remote_tlbs asks in vCPU order under the kvm-tlb layer; vCPUs are interchangeable only without it`),
    );
  });

  it('refuses an actor an outcome names, and one that forks', () => {
    const outcome = `${file('[[a, c]]')}outcome:\n  - { result: { actor: a, op: 0 }, value: 0 }\n`;
    expect(problems(outcome)).toEqual(["actor a is named by an outcome's observation (result), which tells it apart from the others of its group"]);
    const forks = file('[[b, c]]', '[{ op: fork, mm: source }]');
    expect(problems(forks)).toContain("actor b forks, which starts the child's actors by number; a forking actor is not interchangeable");
  });

  it('through the binary: each problem named, the exit code of a scenario error', () => {
    const r = vmamirror(['check', '-', '--symmetry'], { input: file('[[a, z], [b, b], [c]]') });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/symmetric\[0\]\[1\]: "z" is not an actor of this scenario/);
    expect(r.stderr).toMatch(/symmetric\[1\]\[1\]: actor b is named twice/);
    expect(r.stderr).toMatch(/symmetric\[2\]: a group of 1 actor/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    const differ = vmamirror(['check', '-', '--symmetry'], { input: file('[[a, b]]', '[{ op: reclaim, page: 0 }]') });
    expect(differ.code).toBe(2);
    expect(differ.stderr).toMatch(/symmetric\[0\]: actors a and b are not interchangeable: operation 0 is \{"mm":"introspector","op":"access","page":0\} in a and \{"op":"reclaim","page":0\} in b/);
  });

  it('through the binary: a declared group checked with --symmetry, states fewer, verdict the same', { timeout: 60_000 }, () => {
    const r = vmamirror(['check', '-', '--variant', 'interval', '--symmetry'], { input: TWO_READERS });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^two-readers\/interval: holds — \d+ states/);
    expect(r.stdout).toMatch(/actor symmetry: intro, intro2 interchangeable; fair termination checked on the region graph times the 2 permutations/);
  });
});
