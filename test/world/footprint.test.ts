/**
 * Declared footprints, checked by the runner: an access, call, block or spawn a step did not
 * declare is a model error naming the routine, the label and what is missing.
 */
import { describe, expect, it } from 'vitest';
import { Library, Model } from '../../src/world/registry.js';
import { Layout, defineStruct } from '../../src/world/layout.js';
import { World } from '../../src/world/world.js';
import { BLOCK_SLEEP } from '../../src/world/routine.js';
import { ModelError } from '../../src/world/errors.js';
import { execStep, runSchedule } from '../../src/world/runner.js';
import type { FootprintTable } from '../../src/world/footprint.js';
import { explore } from '../../src/engine/exhaustive.js';

const CELL = defineStruct('fp_cell', ['a', 'b', 'lock'] as const, { a: 'lock:fp.lock', b: 'lockless', lock: 'lock-word' });

function setup(table: FootprintTable, define: (lib: Library) => void): World {
  const lib = new Library(`test-fp-${Math.random().toString(36).slice(2, 8)}`);
  define(lib);
  lib.declare(table);
  const L = new Layout();
  L.add(CELL, 1);
  L.addStacks(['t', 'u'], 3, new Model([lib]));
  const w = new World(L);
  w.recorder = null; // these tests check the audit, which recording (npm run footprints) turns off
  w.lockDiscipline = false; // and only the footprint half of it (test/world/discipline.test.ts has the other)
  w.spawn(0, lib.routines[0], []);
  return w;
}

const body = (run: (w: World) => string | number) => ({ name: 'f', params: [], steps: { go: { at: 'test', run } } });

describe('declared footprints', () => {
  it('lets a step do what it declares, struct.* included, and reads of written fields', () => {
    const w = setup({ 'f:go': { reads: ['fp_cell.b'], writes: ['fp_cell.a'] } }, (l) => l.routine(body((x) => x.ret(x.obj(CELL, 0).a + x.obj(CELL, 0).b))));
    expect(() => runSchedule(w, [0])).not.toThrow();
    const writeLock = (x: World) => {
      x.obj(CELL, 0).lock = 1;
      return x.ret(0);
    };
    const star = setup({ 'f:go': { writes: ['fp_cell.*'] } }, (l) => l.routine(body(writeLock)));
    expect(() => runSchedule(star, [0])).not.toThrow();
  });

  it('refuses an undeclared read or write, naming the routine, the label and the field', () => {
    const r = setup({ 'f:go': { reads: ['fp_cell.a'] } }, (l) => l.routine(body((x) => x.ret(x.obj(CELL, 0).b))));
    expect(() => runSchedule(r, [0])).toThrow(/f:go reads fp_cell\.b, which its footprint does not declare \(reads: fp_cell\.a\)/);
    const writeA = (x: World) => {
      x.obj(CELL, 0).a = 1;
      return x.ret(0);
    };
    const wr = setup({ 'f:go': { reads: ['fp_cell.a'] } }, (l) => l.routine(body(writeA)));
    expect(() => runSchedule(wr, [0])).toThrow(/f:go writes fp_cell\.a/);
  });

  it('refuses an undeclared call, block or spawn', () => {
    const callee = { name: 'g', params: [], steps: { go: { at: 'test', run: (x: World) => x.ret(0) } } };
    const calls = setup({ 'f:go': {}, 'g:go': {} }, (l) => {
      const g = l.routine(callee);
      l.routine({ name: 'f', params: [], steps: { go: { at: 'test', run: (x) => x.call(g, 'go') } } });
    });
    // routines[0] is g here: spawn f explicitly.
    calls.v.fill(0, calls.layout.actorBase);
    calls.spawn(0, calls.model.byNameOf('f')!, []);
    expect(() => runSchedule(calls, [0])).toThrow(/f:go calls g, which its footprint does not declare/);
    const blocks = setup({ 'f:go': { reads: ['fp_cell.lock'] } }, (l) => l.routine(body((x) => (x.obj(CELL, 0).lock ? BLOCK_SLEEP : x.ret(0)))));
    blocks.obj(CELL, 0).lock = 2;
    blocks.audit = true; // a blocked step is not a trace step: audit the raw step
    expect(() => execStep(blocks, 0)).toThrow(/f:go blocks, which its footprint does not declare/);
    const spawn = (x: World) => {
      x.spawn(1, x.model.byNameOf('f')!, []);
      return x.ret(0);
    };
    const spawns = setup({ 'f:go': {} }, (l) => l.routine(body(spawn)));
    expect(() => runSchedule(spawns, [0])).toThrow(/f:go starts another actor/);
  });

  it('refuses an undeclared call in a step the exhaustive search merges into the visible one before it', () => {
    // `first` writes the cell (visible); `second` touches only its own frame and calls g: the
    // search runs it unaudited as a look-ahead (transition.ts), keeps it, and must still check the call
    // (termination off: its lone-run look-ahead would run the step audited too).
    const w = setup({ 'f:first': { writes: ['fp_cell.b'] }, 'f:second': {}, 'g:go': {} }, (l) => {
      const g = l.routine({ name: 'g', params: [], steps: { go: { at: 'test', run: (x: World) => x.ret(0) } } });
      const first = (x: World) => {
        x.obj(CELL, 0).b = 1;
        return 'second';
      };
      l.routine({ name: 'f', params: [], steps: { first: { at: 'test', run: first }, second: { at: 'test', run: (x) => x.call(g, 'first') } } });
    });
    w.v.fill(0, w.layout.actorBase);
    w.spawn(0, w.model.byNameOf('f')!, []);
    expect(() => explore(w, { audit: true, liveness: false })).toThrow(/f:second calls g, which its footprint does not declare/);
  });

  it('refuses a table that misses a label of a routine it covers', () => {
    const w = setup({ 'f:one': {} }, (l) => l.routine({ name: 'f', params: [], steps: { one: { at: 'test', run: () => 'two' }, two: { at: 'test', run: (x) => x.ret(0) } } }));
    expect(() => runSchedule(w, [0])).toThrow(ModelError);
    expect(() => runSchedule(w, [0])).toThrow(/declares footprints but not for f:two/);
  });

  it("audits traces only: the explorer's raw steps run unaudited unless asked", () => {
    const w = setup({ 'f:go': {} }, (l) => l.routine(body((x) => x.ret(x.obj(CELL, 0).b))));
    expect(() => execStep(w, 0)).not.toThrow();
  });
});

describe('a field reached through others (StructDef.via)', () => {
  const VIA = defineStruct('fp_via', ['count', 'head'] as const, { count: 'atomic', head: 'stable' }, { via: { count: ['head'] } });

  it('lets a step that declares the field read the fields it is reached through', async () => {
    const { compileFootprint, fieldName } = await import('../../src/world/footprint.js');
    const L = new Layout();
    L.add(VIA, 1);
    const fp = compileFootprint(L, 'test:go', { writes: ['fp_via.count'] });
    expect([...fp.reads].map(fieldName).sort()).toEqual(['fp_via.count', 'fp_via.head']);
    expect([...fp.writes].map(fieldName)).toEqual(['fp_via.count']);
  });

  it('refuses a via naming a field the struct lacks', () => {
    expect(() => defineStruct('fp_via_bad', ['count'] as const, {}, { via: { count: ['head' as 'count'] } })).toThrow(/via for count names a field the struct lacks/);
  });
});

describe('fields that cost the lock discipline nothing (the audit answers them with one byte load)', () => {
  const FREE_CELL = defineStruct('fp_free', ['size', 'note'] as const, { size: 'stable', note: 'private' });

  /** A world running `f` then `g` on actor t, each step with its own footprint; the discipline on, as in a search. */
  const twoSteps = (fFp: object, gFp: object, g: (x: World) => number): World => {
    const lib = new Library(`test-fp-free-${Math.random().toString(36).slice(2, 8)}`);
    const gr = lib.routine({ name: 'g', params: ['n'], steps: { go: { at: 'test', run: g } } });
    lib.routine({ name: 'f', params: [], steps: { go: { at: 'test', run: (x) => x.call(gr, 'back', x.obj(FREE_CELL, 0).size) }, back: { at: 'test', run: (x) => x.ret(0) } } });
    lib.declare({ 'f:go': fFp, 'f:back': {}, 'g:go': gFp } as FootprintTable);
    const L = new Layout();
    L.add(FREE_CELL, 1);
    L.addStacks(['t'], 3, new Model([lib]));
    const w = new World(L);
    w.recorder = null;
    w.spawn(0, lib.routines[1], []);
    return w;
  };
  const readNote = (x: World) => x.ret(x.obj(FREE_CELL, 0).note);
  const writeNote = (x: World) => {
    x.obj(FREE_CELL, 0).note = 1;
    return x.ret(0);
  };

  it('still refuses an undeclared read or write of them, after a step with another footprint allowed it', () => {
    const ok = twoSteps({ reads: ['fp_free.size'], calls: ['g'] }, { reads: ['fp_free.note'] }, readNote);
    expect(() => runSchedule(ok, [0, 0, 0])).not.toThrow();
    // f:go may read size; g:go may not read note (nor size): each step is held to its own footprint.
    const read = twoSteps({ reads: ['fp_free.size', 'fp_free.note'], calls: ['g'] }, { reads: ['fp_free.size'] }, readNote);
    expect(() => runSchedule(read, [0, 0])).toThrow(/g:go reads fp_free\.note, which its footprint does not declare \(reads: fp_free\.size\)/);
    const write = twoSteps({ reads: ['fp_free.size'], writes: ['fp_free.note'], calls: ['g'] }, { reads: ['fp_free.note'] }, writeNote);
    expect(() => runSchedule(write, [0, 0])).toThrow(/g:go writes fp_free\.note, which its footprint does not declare/);
  });
});
