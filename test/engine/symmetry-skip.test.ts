/**
 * The renumbering's skip (symmetry.ts `intern`, written.ts) rests on the parent being canonical
 * and the canonical form being a fixpoint of the renumbering: a successor whose transition wrote
 * no name, tag or row is the parent's numbering, so it is taken as canonical already. The
 * renumbering numbers the named rows in the order of their first name, by slot; where a name is
 * kept in a row of a pool (a field the domain declares on its own struct: the engine supports it,
 * `renumber` moves such a name with its row), moving the rows moves the names, and renumbering
 * the renumbered state can move them again. The skip then keeps a state the whole renumbering
 * would have moved.
 */
import { describe, expect, it } from 'vitest';
import { Library, Model } from '../../src/world/registry.js';
import { DATA_START, defineRowDomain, defineStruct, Layout } from '../../src/world/layout.js';
import { World } from '../../src/world/world.js';
import { explore } from '../../src/engine/exhaustive.js';
import { RowCanon } from '../../src/engine/symmetry.js';
import { withChangedOf } from '../helpers/changed-of.js';

// A pool of linked rows: rows 1..3 of `skip_link` (row 0 reserved), each naming the next in `next` (ref: row + 1).
const LINK = defineStruct('skip_link', ['used', 'next'] as const);
const OTHER = defineStruct('skip_other', ['ticks'] as const);
const LIB = new Library('test-symmetry-skip');
defineRowDomain({
  name: 'test-linked-row',
  description: 'rows that name each other',
  struct: LINK,
  reserved: 1,
  free: { field: 'used', value: 0 },
  fields: [{ struct: LINK, field: 'next', encoding: 'ref' }],
  locals: [],
});

/** Writes nothing the renumbering reads: a field of another struct, then returns. */
const ticks = LIB.routine({
  name: 'test_skip_ticks',
  params: [],
  steps: {
    tick: {
      at: 'test:tick',
      run: (w) => {
        w.obj(OTHER, 0).ticks = 1;
        return w.ret(0);
      },
    },
  },
});

/** Rows 1..3 used; row 1 names row 3, row 3 names row 2, row 2 names none. */
function world(): World {
  const L = new Layout();
  L.add(LINK, 4);
  L.add(OTHER, 1);
  L.addStacks(['t0'], 1, new Model([LIB]));
  const w = new World(L);
  for (const [r, next] of [
    [1, 3],
    [2, -1],
    [3, 2],
  ]) {
    w.obj(LINK, r).used = 1;
    w.obj(LINK, r).next = next + 1;
  }
  w.spawn(0, ticks, []);
  return w;
}

/** Every state a symmetric search interns; `whole`: every successor renumbered (a watch that says yes to every transition). */
function interned(whole: boolean): string[] {
  const seen: string[] = [];
  withChangedOf(
    RowCanon,
    (c) => {
      if (whole) Object.assign(c, { watch: { touched: () => true } });
    },
    () => explore(world(), { symmetry: true, onState: (v) => seen.push(Array.from(v.subarray(DATA_START)).join(',')) }),
  );
  return seen.sort();
}

describe('the renumbering skipped where a transition wrote no name, tag or row, with names kept in the pool', () => {
  it('the renumbering is not a fixpoint of itself there (what the skip assumes)', () => {
    const w = world();
    const canon = RowCanon.of(w.layout, true)!;
    const once = canon.canonicalCopy(w.v, new Int32Array(w.v.length), w);
    const twice = canon.canonicalCopy(once, new Int32Array(w.v.length), w);
    expect(Array.from(twice)).not.toEqual(Array.from(once));
  });

  it('interns exactly the states of the whole renumbering at every transition', () => {
    expect(interned(false)).toEqual(interned(true));
  });
});
