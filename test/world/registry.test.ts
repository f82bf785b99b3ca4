import { describe, expect, it } from 'vitest';
import { Library, Model } from '../../src/world/registry.js';
import { ModelError } from '../../src/world/errors.js';
import { Layout, defineStruct } from '../../src/world/layout.js';
import { World } from '../../src/world/world.js';
import { runToEnd } from '../../src/world/runner.js';

const BOX = defineStruct('registry_box', ['x'] as const);

function lib(name: string, routineNames: readonly string[]): Library {
  const l = new Library(name);
  for (const n of routineNames) l.routine({ name: n, params: [], steps: { go: { at: 'test', run: (w) => w.ret(0) } } });
  return l;
}

function worldOf(model: Model, actors = ['a']): World {
  const L = new Layout();
  L.add(BOX, 1);
  L.addStacks(actors, 4, model);
  return new World(L);
}

describe('the per-model registry', () => {
  it('assigns ids by qualified name, whatever the order the routines were defined in', () => {
    const one = lib('reg-order', ['b_second', 'a_first']);
    const two = lib('reg-order', ['a_first', 'b_second']);
    expect(new Model([one]).routines.map((r) => r.name)).toEqual(['a_first', 'b_second']);
    expect(new Model([two]).routines.map((r) => r.name)).toEqual(['a_first', 'b_second']);
  });

  it('lets two models hold a routine of the same name (a rebuilt driver), and refuses it twice in one model', () => {
    const a = lib('reg-a', ['mirror_fault']);
    const b = lib('reg-b', ['mirror_fault']);
    expect(new Model([a]).byNameOf('mirror_fault')?.library).toBe(a);
    expect(new Model([b]).byNameOf('mirror_fault')?.library).toBe(b);
    expect(() => new Model([a, b])).toThrow(/routine mirror_fault is defined by both library reg-a and library reg-b/);
  });

  it('refuses a routine defined twice in one library', () => {
    expect(() => lib('reg-twice', ['x', 'x'])).toThrow(ModelError);
  });

  it('is sealed: a routine defined after the world was built is a model error when called, not a frame written past its slot', () => {
    const l = lib('reg-late', ['early']);
    const w = worldOf(new Model([l]));
    const late = l.routine({ name: 'late', params: ['p1', 'p2', 'p3', 'p4', 'p5'], steps: { go: { at: 'test', run: (w2) => w2.ret(0) } } });
    expect(() => w.spawn(0, late, [1, 2, 3, 4, 5])).toThrow(/routine late \(library reg-late\) is not part of this model/);
  });

  it("sizes every frame for the model's largest routine and runs routines through model ids", () => {
    const l = new Library('reg-run');
    const callee = l.routine({ name: 'callee', params: ['a', 'b', 'c'], steps: { go: { at: 'test', run: (w, x) => w.ret(x.a + x.b + x.c) } } });
    const caller = l.routine({
      name: 'caller',
      params: [],
      steps: { go: { at: 'test', run: (w) => w.call(callee, 'done', 1, 2, 3) }, done: { at: 'test', run: (w, x) => w.ret(x.result) } },
    });
    const w = worldOf(new Model([l]));
    expect(w.layout.maxLocals).toBe(3);
    w.spawn(0, caller, []);
    runToEnd(w, 'a');
    expect(w.actorResult(0)).toBe(6);
  });

  it('includes the libraries a library uses', () => {
    const base = lib('reg-base', ['base_fn']);
    const top = new Library('reg-top', [base]);
    expect(new Model([top]).libraries.map((l) => l.name)).toEqual(['reg-top', 'reg-base']);
    expect(new Model([top]).byNameOf('base_fn')).toBeDefined();
  });

  it('calls through an ops pointer only to a routine of the model', () => {
    const l = lib('reg-ptr', ['target']);
    const w = worldOf(new Model([l]));
    expect(w.routineRef(undefined)).toBe(0);
    expect(w.routineRef(l.routines[0])).toBe(1);
    expect(() => w.model.routine(7)).toThrow(/no routine with id 7/);
  });

  describe('replacing a routine (kernel eras, src/driver/era.ts)', () => {
    function base(): { lib: Library; callee: ReturnType<Library['routine']>; caller: ReturnType<Library['routine']> } {
      const lib = new Library('rep-base');
      const callee = lib.routine({ name: 'today', params: ['a'], steps: { go: { at: 'test', run: (w, x) => w.ret(x.a + 1) } } });
      const caller = lib.routine({
        name: 'caller',
        params: [],
        steps: { go: { at: 'test', run: (w) => w.call(callee, 'done', 10) }, done: { at: 'test', run: (w, x) => w.ret(x.result) } },
      });
      return { lib, callee, caller };
    }

    it('runs the replacement wherever the original is called, spawned or pointed to, only in a model holding the replacing library', () => {
      const { lib, callee, caller } = base();
      const era = new Library('rep-era', [lib]);
      const old = era.routine({ name: 'old_today', params: ['a'], steps: { go: { at: 'test', run: (w, x) => w.ret(x.a * 100) } } });
      era.replace('today', old);
      const w = worldOf(new Model([era]));
      w.spawn(0, caller, []);
      runToEnd(w, 'a');
      expect(w.actorResult(0)).toBe(1000);
      expect(w.routineRef(callee)).toBe(w.routineRef(old));
      expect(new Model([era]).replaced.get(callee)).toBe(old);
      // The library alone, without the era: today's routine.
      const w2 = worldOf(new Model([lib]));
      w2.spawn(0, caller, []);
      runToEnd(w2, 'a');
      expect(w2.actorResult(0)).toBe(11);
    });

    it('follows a replaced replacement (a driver on an era) to the last one', () => {
      const { lib, caller } = base();
      const era = new Library('rep-era2', [lib]);
      const mid = era.routine({ name: 'mid', params: ['a'], steps: { go: { at: 'test', run: (w, x) => w.ret(x.a * 2) } } });
      era.replace('today', mid);
      const drv = new Library('rep-drv', [era]);
      const last = drv.routine({ name: 'last', params: ['a'], steps: { go: { at: 'test', run: (w, x) => w.ret(x.a * 3) } } });
      drv.replace(mid, last);
      const w = worldOf(new Model([drv]));
      w.spawn(0, caller, []);
      runToEnd(w, 'a');
      expect(w.actorResult(0)).toBe(30);
    });

    it('refuses a replacement that cannot be: unknown routine, other params, twice, two libraries, a cycle, a routine of another library', () => {
      const { lib } = base();
      const mk = (name: string, params: string[] = ['a']) => {
        const l = new Library(name, [lib]);
        return { l, r: l.routine({ name: `${name.replace(/-/g, '_')}_fn`, params, steps: { go: { at: 'test', run: (w) => w.ret(0) } } }) };
      };
      const unknown = mk('rep-unknown');
      unknown.l.replace('no_such_routine', unknown.r);
      expect(() => new Model([unknown.l])).toThrow(/library rep-unknown replaces routine no_such_routine, which no library of this model defines/);
      const arity = mk('rep-arity', ['a', 'b']);
      arity.l.replace('today', arity.r);
      expect(() => new Model([arity.l])).toThrow(/rep_arity_fn replaces today, which takes 1 params \(a\); it takes 2 \(a, b\)/);
      const twice = mk('rep-twice');
      twice.l.replace('today', twice.r);
      expect(() => twice.l.replace('today', twice.r)).toThrow(/routine today replaced twice/);
      const other = mk('rep-other');
      other.l.replace('today', other.r);
      expect(() => new Model([twice.l, other.l])).toThrow(/routine today is replaced by both library rep-twice \(rep_twice_fn\) and library rep-other \(rep_other_fn\)/);
      const cyc = mk('rep-cycle');
      cyc.l.replace('today', cyc.r);
      lib.replace('rep_cycle_fn', lib.routines[0]); // by name: base's today replaces the era's routine that replaces it
      expect(() => new Model([cyc.l])).toThrow(/routine today: its replacements form a cycle/);
      expect(() => new Library('rep-foreign').replace('today', cyc.r)).toThrow(/the replacement rep_cycle_fn is of library rep-cycle/);
    });
  });
});
