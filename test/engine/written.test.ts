/**
 * The watch of a transition's writes (src/engine/written.ts) on its own: a write it does not watch
 * leaves a transition untouched, a watched field touches it, and writes the world does not log
 * (a replay's) count as touching everything, since the log cannot say what they were.
 */
import { describe, expect, it } from 'vitest';
import { Layout, defineStruct } from '../../src/world/layout.js';
import { Library, Model } from '../../src/world/registry.js';
import { World } from '../../src/world/world.js';
import { WriteWatch } from '../../src/engine/written.js';

const BOX = defineStruct('written_box', ['watched', 'other'] as const);

function setup(): { w: World; watch: WriteWatch } {
  const L = new Layout();
  L.add(BOX, 1);
  L.addStacks(['t0'], 1, new Model([new Library('test-written')]));
  const w = new World(L);
  return { w, watch: new WriteWatch(L, [{ fields: [L.slot(BOX, 0, 'watched')], locals: [] }]) };
}

describe('the watch of a transition’s writes', () => {
  it('is untouched by a write it does not watch and touched by a watched field', () => {
    const { w, watch } = setup();
    w.undoing = true;
    const mark = w.undoMark();
    w.obj(BOX, 0).other = 3;
    expect(watch.touched(w, mark)).toBe(false);
    w.obj(BOX, 0).watched = 1;
    expect(watch.touched(w, mark)).toBe(true);
  });

  it('counts writes the world does not log as touching everything', () => {
    const { w, watch } = setup();
    w.undoing = false;
    w.obj(BOX, 0).watched = 1;
    expect(watch.touched(w, w.undoLength)).toBe(true);
  });
});
