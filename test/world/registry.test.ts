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
});
