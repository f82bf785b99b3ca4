/**
 * The shared zero page (the zero-page layer, src/kernel/zero-page.ts): a read fault on an
 * unpopulated anonymous page maps the zero pfn read-only and special, with no reference and no
 * mapcount (mm/memory.c:do_anonymous_page); a write copies it to a new zeroed page (do_wp_page →
 * wp_page_copy, is_zero_pfn); GUP returns it with a reference but never pins it; test_hmm's
 * snapshot reports it as HMM_DMIRROR_PROT_ZERO | READ (dmirror_mkentry). Without the layer a read
 * fault allocates, as before; and the catalogue keeps its verdicts with the layer on.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildWorld } from '../../src/kernel/topology.js';
import { addVma } from '../../src/kernel/setup.js';
import { pte } from '../../src/kernel/pgtable.js';
import { PAGE } from '../../src/kernel/structs.js';
import { FOLL_LONGTERM, GUP_PIN_COUNTING_BIAS } from '../../src/kernel/flags.js';
import { handleMmFault } from '../../src/kernel/ops/fault.js';
import { getUserPagesRemote, pinUserPagesRemote } from '../../src/kernel/ops/gup.js';
import { myZeroPfn, reserveZeroPage, ZERO_PAGE_LAYER } from '../../src/kernel/zero-page.js';
import { setLayers } from '../../src/world/layers.js';
import { runToEnd } from '../../src/world/runner.js';
import type { World } from '../../src/world/world.js';
import { CATALOGUE } from '../../src/scenario/catalogue.js';
import { checkOne } from '../../src/check/run.js';
import { variantByName } from '../../src/mirror/variants.js';
import { attachRecorder, declareRecorder, recorded, RECORDER_LIB } from '../helpers/recorder.js';
import { holdMmapRead } from '../helpers/mmap-read.js';
import { ROOT, vmamirror } from '../helpers/cli.js';
import { checkYaml } from '../helpers/pin-scenario.js';

const MMA = 0;
function world(layers: readonly string[] = [ZERO_PAGE_LAYER]): World {
  const w = buildWorld({ pages: 5, mmPages: 4, mms: ['proc'], actors: ['a', 'b', 'c', 'd'], libraries: [RECORDER_LIB] }, (layout) => {
    declareRecorder(layout);
    setLayers(layout, layers);
  });
  addVma(w, MMA, { start: 0, end: 4 });
  reserveZeroPage(w);
  attachRecorder(w, MMA, 0);
  holdMmapRead(w, MMA);
  return w;
}

const ACTORS = ['a', 'b', 'c', 'd'];
/** Runs `routine` to its end in the next actor that has not run yet (each call a task of its own). */
function run(w: World, routine: Parameters<World['spawn']>[1], args: number[]): number {
  const a = (runs.get(w) ?? 0) as number;
  runs.set(w, a + 1);
  w.spawn(a, routine, args);
  runToEnd(w, ACTORS[a]);
  return w.actorResult(a);
}
const runs = new WeakMap<World, number>();

describe('the shared zero page', () => {
  it('a read fault maps the zero pfn read-only and special: no allocation, no reference, no mapcount', () => {
    const w = world();
    const zero = myZeroPfn(w);
    expect(zero).toBeGreaterThan(0);
    expect(run(w, handleMmFault, [MMA, 1, 0])).toBe(0);
    const p = pte(w, MMA, 1);
    expect([p.present, p.pfn, p.write, p.special]).toEqual([1, zero, 0, 1]);
    expect(w.obj(PAGE, zero).refcount).toBe(1);
    expect(w.obj(PAGE, zero).mapcount).toBe(0);
    expect(w.obj(PAGE, zero + 1).free).toBe(1); // nothing allocated
  });

  it('without the layer a read fault allocates a zeroed page, as before', () => {
    const w = world([]);
    expect(myZeroPfn(w)).toBe(0);
    run(w, handleMmFault, [MMA, 1, 0]);
    const p = pte(w, MMA, 1);
    expect(p.special).toBe(0);
    expect(w.obj(PAGE, p.pfn).mapcount).toBe(1);
  });

  it('a write to the zero page copies it to a new zeroed page (wp_page_copy from is_zero_pfn), bracketed by CLEAR', () => {
    const w = world();
    const zero = myZeroPfn(w);
    w.obj(PAGE, zero).contents = 0;
    run(w, handleMmFault, [MMA, 1, 0]);
    expect(run(w, handleMmFault, [MMA, 1, 1])).toBe(0);
    const p = pte(w, MMA, 1);
    expect(p.pfn).not.toBe(zero);
    expect([p.write, p.special]).toEqual([1, 0]);
    const pg = w.obj(PAGE, p.pfn);
    expect([pg.refcount, pg.mapcount, pg.contents, pg.anon]).toEqual([1, 1, 0, 1]);
    expect(w.obj(PAGE, zero).refcount).toBe(1); // never got or put
    expect(recorded(w).map((e) => [e.kind, e.event])).toEqual([
      ['start', 'CLEAR'],
      ['end', 'CLEAR'],
    ]);
  });

  it('GUP (FOLL_GET) returns the zero page with a reference; a short-term R/O pin does not pin it; a long-term one unshares it', () => {
    const w = world();
    const zero = myZeroPfn(w);
    run(w, handleMmFault, [MMA, 1, 0]);
    expect(run(w, getUserPagesRemote, [MMA, 1, 0])).toBe(zero);
    expect(w.obj(PAGE, zero).refcount).toBe(2);
    expect(run(w, pinUserPagesRemote, [MMA, 1, 0])).toBe(zero);
    expect(w.obj(PAGE, zero).refcount).toBe(2); // "Don't take a pin on the zero page"
    const got = run(w, pinUserPagesRemote, [MMA, 1, FOLL_LONGTERM]);
    expect(got).not.toBe(zero);
    expect(pte(w, MMA, 1).pfn).toBe(got);
    expect(pte(w, MMA, 1).write).toBe(0); // unshared: still read-only
    expect(w.obj(PAGE, got).refcount).toBe(1 + GUP_PIN_COUNTING_BIAS);
  });
});

describe('test_hmm snapshot of the zero page', () => {
  it('reports HMM_DMIRROR_PROT_ZERO | HMM_DMIRROR_PROT_READ (0x11), with the layer; WRITE (0x02) of the page a read fault allocates without it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vmamirror-zero-'));
    const file = (layers: string) => {
      const f = join(dir, `snapshot${layers ? '-zero' : ''}.yaml`);
      writeFileSync(
        f,
        [
          'name: zero-snapshot',
          'description: a read zero page snapshotted',
          'pages: 1',
          layers ? `layers: [${layers}]` : '',
          `driver: ${join(ROOT, 'examples/drivers/dmirror.ts')}`,
          'actors:',
          '  - name: test',
          '    ops:',
          '      - { op: madvise-dontneed, mm: source, page: 0 }',
          '      - { op: access, mm: source, page: 0 }',
          '      - { op: device, call: snapshot, page: 0 }',
          'outcome:',
          `  - { counter: { struct: dmirrorCmd, field: snap0 }, value: ${layers ? '0x11' : '0x02'} }`,
          '',
        ].join('\n'),
      );
      return f;
    };
    expect(vmamirror(['check', file('zero-page')], { timeoutMs: 60_000 }).stdout).toMatch(/holds/);
    expect(vmamirror(['check', file('')], { timeoutMs: 60_000 }).stdout).toMatch(/holds/);
  });
});

describe('KVM on the zero page (hva_to_pfn → GUP)', () => {
  it('a guest read maps the zero pfn read-only in the EPT; its write faults, copies, and the EPT follows the new page', () => {
    const text = [
      'name: kvm-zero',
      'description: a guest reads an untouched page, then writes it',
      'pages: 1',
      'layers: [zero-page]',
      'sourceKvm: true',
      'actors:',
      '  - name: vmm',
      '    ops:',
      '      - { op: madvise-dontneed, mm: source, page: 0 }',
      '      - { op: guest-access, vm: source, page: 0 }',
      '      - { op: guest-access, vm: source, page: 0, write: true, value: 7 }',
      '      - { op: access, mm: source, page: 0 }',
      'variants: [interval]',
      'outcome:',
      '  - { result: { actor: vmm, op: 1 }, value: 0 }',
      '  - { pte: { mm: source, page: 0 }, after: { actor: vmm, op: 1 }, writable: false, mapcount: 0 }',
      '  - { ept: { vm: source, page: 0 }, after: { actor: vmm, op: 1 }, writable: false, samePage: { mm: source, page: 0 }, value: 0 }',
      '  - { ept: { vm: source, page: 0 }, writable: true, samePage: { mm: source, page: 0 }, value: 7 }',
      '  - { result: { actor: vmm, op: 3 }, value: 7 }',
      '',
    ].join('\n');
    expect(checkYaml(text).verdict).toBe('holds');
  });
});

describe('the zero-page layer on catalogue scenarios', () => {
  it.each([
    ['cow', 'interval'],
    ['cow', 'start-only'],
    ['munmap', 'interval'],
    ['fork-introspector', 'seed-2019-literal'],
  ])('%s/%s keeps its verdict', (name, variant) => {
    const spec = CATALOGUE.find((s) => s.name === name)!;
    const v = variantByName(variant)!;
    const off = checkOne(spec, v).verdict;
    expect(checkOne({ ...spec, layers: [...(spec.layers ?? []), 'zero-page'] }, v).verdict).toBe(off);
  });
});
