/**
 * Symmetry of interchangeable rows (src/engine/symmetry.ts): the canonical renumbering moves rows
 * and rewrites their declared names (the fingerprint follows); a search with it interns exactly the
 * concrete search's states renumbered (the visible states agree, the count only falls) and gives
 * the same verdicts; an undeclared name makes them differ; where the lowest-free allocator makes
 * the numbering observable (an allocation while a free row is still named) or free rows keep data,
 * the search stops with a model error instead of merging states that have different futures.
 */
import { describe, expect, it } from 'vitest';
import { Library, Model } from '../../src/world/registry.js';
import { DATA_START, defineRowDomain, defineStruct, Layout } from '../../src/world/layout.js';
import { World } from '../../src/world/world.js';
import type { AnyRoutine } from '../../src/world/routine.js';
import { fullHash } from '../../src/world/hash.js';
import { explore } from '../../src/engine/exhaustive.js';
import { execStep } from '../../src/world/runner.js';
import { describeSlot } from '../../src/world/describe.js';
import { RowCanon } from '../../src/engine/symmetry.js';
import { withChangedOf } from '../helpers/changed-of.js';
import { ActorCanon } from '../../src/engine/actor-symmetry.js';
import { checkOne } from '../../src/check/run.js';
import { CATALOGUE } from '../../src/scenario/catalogue.js';
import { VARIANTS } from '../../src/mirror/variants.js';
import type { ScenarioSpec } from '../../src/scenario/spec.js';
import { buildScenario } from '../../src/scenario/build.js';
import { PTE, SWAP } from '../../src/kernel/structs.js';
import { expectPinnedVerdicts } from '../helpers/catalogue-table.js';
import { ROOT, vmamirror } from '../helpers/cli.js';
import { loadScenarioFile } from '../../src/scenario/load.js';
import { join } from 'node:path';

// A toy pool: rows 1..3 of `sym_row` (row 0 reserved), taken lowest free first; `sym_holder` names them (ref: row + 1).
const ROW = defineStruct('sym_row', ['used', 'data'] as const);
const HOLDER = defineStruct('sym_holder', ['a', 'b', 'c', 'seen'] as const);
const LIB = new Library('test-symmetry');
defineRowDomain({
  name: 'test-row',
  description: 'the rows of a test pool',
  struct: ROW,
  reserved: 1,
  free: { field: 'used', value: 0 },
  fields: ['a', 'b', 'c'].map((field) => ({ struct: HOLDER, field, encoding: 'ref' as const })),
  locals: [
    { routine: 'test_sym_keep', local: 'kept', encoding: 'index' },
    { routine: 'test_sym_hold_release', local: 'held', encoding: 'index' },
    { routine: 'test_sym_hold_return', local: 'held', encoding: 'index' },
    { routine: 'test_sym_take', local: 'mine', encoding: 'index' },
    { routine: 'test_sym_take_too', local: 'mine', encoding: 'index' },
  ],
});

type Field = 'a' | 'b' | 'c';
type Run = (w: World, l: Record<string, number>) => string | number;

/** alloc_pages: the lowest free row, its data `data`, named in the holder's `field`. */
const alloc =
  (field: Field, data: number, next: string): Run =>
  (w) => {
    for (let r = 1; r < w.count(ROW); r++) {
      const row = w.obj(ROW, r);
      if (row.used !== 0) continue;
      row.used = 1;
      row.data = data;
      w.obj(HOLDER, 0)[field] = r + 1;
      break;
    }
    return next === 'ret' ? w.ret(0) : next;
  };

/** Frees the row the holder's `field` names; `clear`: zeroes it (as freeSwapSlot does), else its data stays behind. */
const free =
  (field: Field, clear: boolean, next: string): Run =>
  (w) => {
    const h = w.obj(HOLDER, 0);
    const row = w.obj(ROW, h[field] - 1);
    row.used = 0;
    if (clear) row.data = 0;
    h[field] = 0;
    return next === 'ret' ? w.ret(0) : next;
  };

/** A routine of one actor: its steps in order, each naming the next ('ret': return). */
const routine = (name: string, steps: Record<string, Run>, locals: string[] = []) =>
  LIB.routine({
    name,
    params: [],
    locals,
    steps: Object.fromEntries(Object.entries(steps).map(([label, run]) => [label, { at: `test:${label}`, run }])) as never,
  });

const allocA = routine('test_sym_alloc_a', { alloc: alloc('a', 5, 'ret') });
const allocB = routine('test_sym_alloc_b', { alloc: alloc('b', 6, 'ret') });
const allocC = routine('test_sym_alloc_c', { alloc: alloc('c', 7, 'ret') });
const freeThenAllocA = routine('test_sym_free_alloc_a', { free: free('a', true, 'alloc'), alloc: alloc('a', 5, 'ret') });
const freeKeeping = routine('test_sym_free_keeping_a', { free: free('a', false, 'ret') });

/** Copies the row `a` names into a local, then reads that row's data back: declared (`kept`) or not. */
const keeper = (name: string) =>
  routine(
    name,
    {
      look: (w, l) => {
        l.kept = w.obj(HOLDER, 0).a - 1;
        return l.kept < 0 ? w.ret(0) : 'read';
      },
      read: (w, l) => {
        w.obj(HOLDER, 0).seen = w.obj(ROW, l.kept).data;
        return w.ret(0);
      },
    },
    ['kept'],
  );
const keepDeclared = keeper('test_sym_keep');
const keepUndeclared = keeper('test_sym_keep_undeclared');

/** A world of the pool (`rows` rows, the first `used` of the pool taken by a, b… with data 5, 6…) and a holder; one routine per actor. */
function world(actors: readonly AnyRoutine[], rows = 4, used = 0): World {
  const L = new Layout();
  L.add(ROW, rows);
  L.add(HOLDER, 1);
  L.addStacks(
    actors.map((_, i) => `t${i}`),
    2,
    new Model([LIB]),
  );
  const w = new World(L);
  for (let r = 1; r <= used; r++) {
    w.obj(ROW, r).used = 1;
    w.obj(ROW, r).data = 4 + r;
    w.obj(HOLDER, 0)[(['a', 'b', 'c'] as const)[r - 1]] = r + 1;
  }
  for (const [i, r] of actors.entries()) w.spawn(i, r, []);
  return w;
}

/** The states a search of `w` interns, as fingerprints; renumbered with `canon` when given. */
function interned(w: World, symmetry: boolean, canon?: RowCanon): Set<string> {
  const seen = new Set<string>();
  const scratch = new Int32Array(w.v.length);
  explore(w, {
    symmetry,
    onState: (v) => {
      const s = canon ? canon.canonicalCopy(v, scratch, w) : v;
      seen.add(`${s[0]},${s[1]}`);
    },
  });
  return seen;
}

/**
 * The symmetry itself, step by step: from each of `states` that the renumbering moves, every step
 * of every actor (each alternative of a branching one) must lead to the renumbered image of where
 * the same step leads from the renumbered state. Returns the first step that does not, as
 * "a step of ACTOR: SLOT differs", or undefined.
 */
function firstAsymmetricStep(w: World, states: readonly Int32Array[]): string | undefined {
  const canon = RowCanon.of(w.layout, true)!;
  const n = w.layout.size;
  const [image, a1, a2] = [new Int32Array(n), new Int32Array(n), new Int32Array(n)];
  const successor = (from: Int32Array, a: number, c: number, into: Int32Array): number => {
    w.load(from.slice());
    w.choice = c;
    execStep(w, a);
    w.choice = 0;
    w.clearBugs();
    canon.canonicalCopy(w.v, into, w);
    return Math.max(1, w.choices);
  };
  for (const s of states) {
    canon.canonicalCopy(s, image, w);
    if (image.every((x, o) => o < DATA_START || x === s[o])) continue;
    for (let a = 0; a < w.layout.actorNames.length; a++) {
      w.load(s.slice());
      if (w.actorSp(a) === 0) continue;
      for (let c = 0, alternatives = 1; c < alternatives; c++) {
        alternatives = successor(s, a, c, a1);
        successor(image, a, c, a2);
        const o = a1.findIndex((x, i) => i >= DATA_START && x !== a2[i]);
        if (o >= 0) return `a step of ${w.layout.actorNames[a]}: ${describeSlot(w, o) ?? `slot ${o}`} differs`;
      }
    }
  }
  return undefined;
}

/** Every state a search of `w` interns (concrete), as copies. */
function reachable(w: World): Int32Array[] {
  const out: Int32Array[] = [];
  explore(w, { onState: (v) => out.push(v.slice()) });
  return out;
}

describe('the canonical renumbering', () => {
  it('numbers the rows by their first name, moves their fields and rewrites the names; the lanes stay the full hash', () => {
    const w = world([]);
    const h = w.obj(HOLDER, 0);
    // b names row 3, a names row 1; row 2 is free.
    w.obj(ROW, 3).used = 1;
    w.obj(ROW, 3).data = 6;
    w.obj(ROW, 1).used = 1;
    w.obj(ROW, 1).data = 5;
    h.a = 1 + 1;
    h.b = 3 + 1;
    const canon = RowCanon.of(w.layout, true)!;
    expect(canon.names).toEqual(['test-row']);
    const c = canon.canonicalCopy(w.v, new Int32Array(w.v.length), w);
    const at = (def: typeof ROW | typeof HOLDER, i: number, f: string) => c[w.layout.slot(def, i, f)];
    // a's row stays first (1), b's becomes 2, the free row goes last (3).
    expect([at(HOLDER, 0, 'a'), at(HOLDER, 0, 'b')]).toEqual([2, 3]);
    expect([1, 2, 3].map((r) => [at(ROW, r, 'used'), at(ROW, r, 'data')])).toEqual([
      [1, 5],
      [1, 6],
      [0, 0],
    ]);
    expect([c[0], c[1]]).toEqual(fullHash(c, DATA_START));
    // Through the world: the incremental fingerprint follows, and the result is the same.
    canon.canonicalize(w);
    expect(Array.from(w.v)).toEqual(Array.from(c));
    expect([w.v[0], w.v[1]]).toEqual(fullHash(w.v, DATA_START));
  });

  it('leaves a state whose numbering is canonical as it is, and names a value beyond the pool', () => {
    const w = world([]);
    w.obj(ROW, 1).used = 1;
    w.obj(HOLDER, 0).a = 2;
    const before = Array.from(w.v);
    RowCanon.of(w.layout, true)!.canonicalize(w);
    expect(Array.from(w.v)).toEqual(before);
    w.obj(HOLDER, 0).b = 9;
    expect(() => RowCanon.of(w.layout, true)!.canonicalize(w)).toThrow(/^row domain test-row: sym_holder\[0\]\.b names sym_row\[8\], beyond the 4 rows$/);
  });

  it('refuses a pool whose row 0 an index could never name (a stored 0 names no row)', () => {
    const pool = defineStruct('sym_zero_row', ['used'] as const);
    expect(() =>
      defineRowDomain({
        name: 'test-zero-row',
        description: 'a pool from row 0',
        struct: pool,
        reserved: 0,
        free: { field: 'used', value: 0 },
        fields: [],
        locals: [{ routine: 'test_sym_keep', local: 'kept', encoding: 'index' }],
      }),
    ).toThrow(/^row domain test-zero-row: test_sym_keep\.kept names rows by index, but row 0 is in the pool \(reserved 0\) and a stored 0 names no row; reserve row 0 or encode the name as ref/);
  });

  it('is off unless asked for, and off for a layout without a pool', () => {
    expect(RowCanon.of(world([]).layout, false)).toBeUndefined();
    const L = new Layout();
    L.add(HOLDER, 1);
    L.addStacks([], 1, new Model([LIB]));
    expect(RowCanon.of(L, true)).toBeUndefined();
  });
});

describe('the visible states, with and without the renumbering', () => {
  it('agree when every name is declared, with fewer states; a local that keeps a row number undeclared makes them differ', () => {
    for (const [k, agree] of [
      [keepDeclared, true],
      [keepUndeclared, false],
    ] as const) {
      // Two allocations in either order take rows 1 and 2 either way round; a third actor reads a's row through a copy of its number.
      const shape = [allocA, allocB, k];
      const w = world(shape);
      const concrete = interned(w, false, RowCanon.of(w.layout, true));
      const symmetric = interned(world(shape), true);
      expect([...symmetric].sort().join(' ') === [...concrete].sort().join(' '), k.name).toBe(agree);
      // Step by step: the undeclared local is where a step stops commuting with the renumbering.
      expect(firstAsymmetricStep(world(shape), reachable(world(shape)))).toEqual(agree ? undefined : 'a step of t2: t2:test_sym_keep_undeclared.kept differs');
      if (agree) expect(symmetric.size).toBeLessThan(interned(world(shape), false).size);
    }
  });

  it('stops where an allocation could reuse a row that is still named: which one the lowest-free allocator takes depends on the numbering', () => {
    // t2 notes a's row (1) in a declared local; t0 frees it; t1 allocates with rows 1 and 3 free.
    const shape = [freeThenAllocA, allocC, keepDeclared];
    expect(() => explore(world(shape, 4, 2), { symmetry: true })).toThrow(
      /^row domain test-row: sym_row\[\d\] was allocated while t2:test_sym_keep\.kept still named the free sym_row\[\d\], and the allocator takes the lowest free one/,
    );
    // With one row free there is no choice to tell apart: the same shape on a pool of two rows is exact.
    const c = world(shape, 3, 2);
    expect(interned(world(shape, 3, 2), true)).toEqual(interned(c, false, RowCanon.of(c.layout, true)));
  });

  it('stops where a freed row keeps its data (the free rows are not alike)', () => {
    expect(() => explore(world([freeKeeping, allocB], 4, 1), { symmetry: true })).toThrow(
      /^row domain test-row: the free sym_row\[\d\] and sym_row\[\d\] differ in data \(\d and \d\): a free row keeps data/,
    );
  });
});

/**
 * The skip (symmetry.ts `intern`, written.ts): a transition that wrote no name, no tag and no row
 * of the pool is not renumbered. On a pool of three used rows (data 5, 6, 7, named by a, b, c),
 * each of these changes the numbering through one kind of write alone, once `dropNames` has left
 * rows 2 and 3 unnamed (the unnamed used rows go by their contents): a local that named row 3 is
 * cleared, or leaves with its frame; row 2's data moves past row 3's.
 */
const dropNames = routine('test_sym_drop_names', {
  drop: (w) => {
    const h = w.obj(HOLDER, 0);
    h.b = 0;
    h.c = 0;
    return w.ret(0);
  },
});
const holder = (releases: boolean) =>
  routine(
    releases ? 'test_sym_hold_release' : 'test_sym_hold_return',
    {
      grab: (w, l) => {
        l.held = w.obj(HOLDER, 0).c - 1;
        return 'wait';
      },
      // Holds the name until the holder's fields no longer name the row.
      wait: (w) => (w.obj(HOLDER, 0).c !== 0 ? 'wait' : releases ? 'release' : w.ret(0)),
      release: (_w, l) => {
        l.held = 0;
        return 'done';
      },
      // A read of the holder: a transition of its own, so the release above is one too (not merged with this return).
      done: (w) => w.ret(w.obj(HOLDER, 0).seen),
    },
    ['held'],
  );
const ages = routine('test_sym_age', {
  age: (w) => {
    for (let r = 1; r < w.count(ROW); r++) if (w.obj(ROW, r).data === 6) w.obj(ROW, r).data = 8;
    return w.ret(0);
  },
});

/** Takes the lowest free row into a local, then gives it back: two of them are interchangeable actors. */
const takes = (name: string) =>
  routine(
    name,
    {
      take: (w, l) => {
        for (let r = 1; r < w.count(ROW); r++) {
          const row = w.obj(ROW, r);
          if (row.used !== 0) continue;
          row.used = 1;
          row.data = 5;
          l.mine = r;
          break;
        }
        return 'give';
      },
      give: (w, l) => {
        const row = w.obj(ROW, l.mine);
        row.used = 0;
        row.data = 0;
        l.mine = 0;
        return w.ret(0);
      },
    },
    ['mine'],
  );
const taker = takes('test_sym_take');
const otherTaker = takes('test_sym_take_too');

describe('the renumbering skipped where a transition wrote no name, tag or row', () => {
  it('with interchangeable actors too: the rows are renumbered after a transition the actors’ order keeps', () => {
    // Two interchangeable takers and a third: when one gives its row back, another's row may become the first named.
    const shape = [taker, taker, otherTaker];
    const groups = [[0, 1]];
    const w = world(shape);
    const canon = ActorCanon.of(w.layout, groups, RowCanon.of(w.layout, true))!;
    const scratch = new Int32Array(w.v.length);
    const concrete = new Set<string>();
    explore(w, { onState: (v) => concrete.add(canon.canonicalCopy(v, scratch, w).join(',')) });
    const symmetric = () => {
      const seen = new Set<string>();
      explore(world(shape), { symmetry: true, actorGroups: groups, onState: (v) => seen.add(v.join(',')) });
      return [...seen].sort();
    };
    expect(symmetric()).toEqual([...concrete].sort());
    // The mutant: no renumbering at all where the actors stay put. The states say so.
    const intern = RowCanon.prototype.intern;
    try {
      RowCanon.prototype.intern = () => {};
      expect(symmetric()).not.toEqual([...concrete].sort());
    } finally {
      RowCanon.prototype.intern = intern;
    }
  });

  const shapes = [
    [holder(true), dropNames],
    [holder(false), dropNames],
    [dropNames, ages],
  ];
  /** Whether the symmetric run of each shape interns exactly the renumbered concrete states. */
  const exact = () =>
    shapes.map((shape) => {
      const w = world(shape, 4, 3);
      const concrete = [...interned(w, false, RowCanon.of(w.layout, true))].sort();
      return [...interned(world(shape, 4, 3), true)].sort().join(' ') === concrete.join(' ');
    });

  it('interns exactly the renumbered concrete states', () => {
    expect(exact()).toEqual([true, true, true]);
  });

  // Each mutant forgets one kind of write (the test reaches into the engine's private table to break it).
  type Watch = { kind: Uint8Array; routineInfo: Uint8Array; localMask: Uint8Array };
  const pool = (L: Layout) => L.region(ROW);
  const mutants: [string, (w: Watch, L: Layout) => void, boolean[]][] = [
    ['a local’s write', (w) => w.localMask.fill(0), [false, true, true]],
    ['a return takes its frame’s names away', (w) => w.routineInfo.fill(0), [true, false, true]],
    ['the names in fields', (w, L) => w.kind.fill(0, L.region(HOLDER).base, L.region(HOLDER).base + L.region(HOLDER).stride), [false, false, false]],
    ['a row’s contents', (w, L) => w.kind.fill(0, pool(L).base, pool(L).base + pool(L).count * pool(L).stride), [true, true, false]],
  ];
  it.each(mutants)('is unsound when it forgets %s, and the states say so', (_name, mutate, expected) => {
    withChangedOf(
      RowCanon,
      (c, L) => mutate((c as unknown as { watch: Watch }).watch, L),
      () => expect(exact()).toEqual(expected),
    );
  });
});

const interval = VARIANTS.find((v) => v.name === 'interval')!;

/** Every state a check of `spec` interns, as fingerprints; the concrete run's renumbered. */
function statesOf(spec: ScenarioSpec, symmetry: boolean): { verdict: string; states: Set<string>; count: number } {
  const seen = new Set<string>();
  const { world: w } = buildScenario(spec, interval);
  const canon = symmetry ? undefined : RowCanon.of(w.layout, true)!;
  const scratch = new Int32Array(w.v.length);
  let stale = 0;
  const r = checkOne(spec, interval, {
    audit: false,
    shrink: false,
    symmetry,
    onState: (v) => {
      if (symmetry) {
        const [lo, hi] = fullHash(v, DATA_START);
        if (lo !== v[0] || hi !== v[1]) stale++;
      }
      const s = canon ? canon.canonicalCopy(v, scratch, w) : v;
      seen.add(`${s[0]},${s[1]}`);
    },
  });
  expect(stale, 'states whose fingerprint is not their full hash').toBe(0);
  return { verdict: r.verdict === 'violation' ? r.violation!.property : r.verdict, states: seen, count: r.states };
}

/** Two kswapds reclaim a page each while the introspector reads both: the order of their add_to_swap decides which slot each page gets. */
const TWO_RECLAIMERS: ScenarioSpec = {
  name: 'two-reclaimers',
  description: '',
  pages: 2,
  actors: [
    { name: 'intro', ops: [0, 1].map((page) => ({ op: 'access', mm: 'introspector', page }) as const) },
    ...[0, 1].map((page) => ({ name: `kswapd${page}`, ops: [{ op: 'reclaim', page } as const] })),
  ],
};

describe('swap slots', () => {
  it('are declared where the model keeps a swap entry', () => {
    const { world: w } = buildScenario(TWO_RECLAIMERS, interval);
    expect(RowCanon.of(w.layout, true)?.names).toEqual(['swap-slot']);
    expect(w.layout.has(SWAP) && w.layout.has(PTE)).toBe(true);
  });

  it('two reclaimers: the renumbered concrete states are exactly the symmetric run’s, the verdict the same, about half the states', { timeout: 120_000 }, () => {
    const c = statesOf(TWO_RECLAIMERS, false);
    const s = statesOf(TWO_RECLAIMERS, true);
    expect(s.verdict).toBe(c.verdict);
    expect(s.count).toBe(s.states.size);
    expect(s.count).toBeLessThan(c.count * 0.6);
    expect([...s.states].sort()).toEqual([...c.states].sort());
  });

  it('two reclaimers: every step from a state the renumbering moves commutes with it', { timeout: 120_000 }, () => {
    const w = buildScenario(TWO_RECLAIMERS, interval).world;
    expect(firstAsymmetricStep(w, reachable(buildScenario(TWO_RECLAIMERS, interval).world))).toBeUndefined();
  });

  it('pages-2 (a fault still holds the entry of a slot MADV_DONTNEED freed while kswapd takes another): not a symmetry, and the search says so', { timeout: 120_000 }, () => {
    const spec = loadScenarioFile(join(ROOT, 'bench/scenarios/pages-2.yaml')).spec;
    expect(() => checkOne(spec, interval, { symmetry: true, shrink: false })).toThrow(
      /^row domain swap-slot: swap\[\d\] was allocated while intro:(handle_pte_fault|do_swap_page)\.origVal still named the free swap\[\d\]/,
    );
  });

  it('the catalogue: the verdicts of the pinned table, no count above its pin', { timeout: 300_000 }, () => {
    expectPinnedVerdicts(
      CATALOGUE.filter((s) => s.name !== 'introspect-nested'),
      { symmetry: true, shrink: false },
    );
  });
});

describe('the command line', () => {
  it('--symmetry with --workers 2: the one-thread figures and the actor-symmetry line (test/engine/parallel-symmetry.test.ts compares more)', { timeout: 120_000 }, () => {
    const figures = (out: string) => out.match(/^[^\n]*: holds — \d+ states, \d+ transitions, depth \d+/m)?.[0];
    const args = ['check', join(ROOT, 'examples/three-readers.yaml'), '--variant', 'interval', '--symmetry'];
    const one = vmamirror(args);
    const two = vmamirror([...args, '--workers', '2']);
    expect(one.code).toBe(0);
    expect(two.code).toBe(0);
    expect(figures(one.stdout)).toMatch(/^three-readers\/interval: holds/);
    expect(figures(two.stdout)).toBe(figures(one.stdout));
    expect(two.stdout).toMatch(/actor symmetry: intro, intro2, intro3 interchangeable; fair termination checked on the region graph times the 6 permutations/);
  });
});
