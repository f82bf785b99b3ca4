/**
 * The state tables (src/report/state-tables.ts) on built scenarios: what each table says is read
 * back here from the structs the model keeps, and a change made to the state shows in the tables.
 */
import { describe, expect, it } from 'vitest';
import { scenarioByName } from '../../src/scenario/catalogue.js';
import { variantByName } from '../../src/mirror/variants.js';
import { buildScenario } from '../../src/scenario/build.js';
import { traceStep } from '../../src/world/runner.js';
import { hmmPfnText, stateTables, type StateTable } from '../../src/report/state-tables.js';
import { traceOf } from '../../src/report/trace.js';
import { HMM_PFN_ERROR, hmmPfnEncode } from '../../src/kernel/hmm/hmm-pfn.js';
import { HMM_RANGE, MIN, MM, PAGE, TASK } from '../../src/kernel/structs.js';
import { KVM } from '../../src/kvm/structs.js';
import type { World } from '../../src/world/world.js';

const build = (s: string, v: string) => buildScenario(scenarioByName(s)!, variantByName(v)!).world;
const table = (w: World, id: string): StateTable | undefined => stateTables(w).find((t) => t.id === id);
/** The row whose first two cells are `object` and `second` (an mm, a counter, a lock class). */
const row = (t: StateTable | undefined, object: string, second?: string) => t?.rows.find((r) => r[0] === object && (second === undefined || r[1] === second));
const cellOf = (t: StateTable, r: readonly string[] | undefined, column: string) => r?.[t.columns.indexOf(column)];
const set = (w: World, def: Parameters<World['layout']['slot']>[0], i: number, field: string, x: number) => {
  w.v[w.layout.slot(def, i, field)] = x;
};

describe('state tables', () => {
  it('list the interval notifier of interval with its mm, range, state and seq, and KVM and each mm in the sequence numbers', () => {
    const w = build('introspect', 'interval');
    const intervals = table(w, 'interval-notifiers')!;
    const registered = Array.from({ length: w.layout.region(MIN).count }, (_, i) => i).filter((i) => w.v[w.layout.slot(MIN, i, 'mm')] !== 0);
    expect(registered.length).toBeGreaterThan(0);
    expect(intervals.rows).toHaveLength(registered.length);
    const i = registered[0];
    const r = row(intervals, `intervalNotifier[${i}]`)!;
    const mm = w.v[w.layout.slot(MIN, i, 'mm')] - 1;
    expect(cellOf(intervals, r, 'mm')).toBe(`mm[${w.layout.objectName(w.layout.region(MM), mm)}]`);
    expect(cellOf(intervals, r, 'vpn start..last')).toBe(`${w.v[w.layout.slot(MIN, i, 'start')]}..${w.v[w.layout.slot(MIN, i, 'last')]}`);
    expect(cellOf(intervals, r, 'state')).toMatch(/^inserted/);
    expect(cellOf(intervals, r, 'seq')).toBe(String(w.v[w.layout.slot(MIN, i, 'seq')]));

    const seqs = table(w, 'sequences')!;
    expect(cellOf(seqs, row(seqs, 'mm[source]', 'notifier_subscriptions->invalidate_seq'), 'value')).toBe(String(w.v[w.layout.slot(MM, 0, 'invalidateSeq')]));
    expect(row(seqs, `intervalNotifier[${i}]`, 'invalidate_seq')).toBeDefined();
    expect(w.layout.has(KVM)).toBe(true);
    expect(row(seqs, 'kvm[kvm-source]', 'mmu_invalidate_seq')).toBeDefined();
    expect(cellOf(seqs, row(seqs, 'kvm[kvm-source]', 'mmu_invalidate_in_progress'), 'meaning')).toBe('no invalidation in progress');
    // No HMM range in use, no table for them.
    expect(table(w, 'hmm-ranges')).toBeUndefined();
  });

  it('follow an invalidation: the mm seq goes odd with an open epoch, then the interval notifier takes a new seq', () => {
    const w = build('introspect', 'interval');
    const reclaimer = w.layout.actorNames.indexOf('kcompactd');
    const seqOf = () => cellOf(table(w, 'sequences')!, row(table(w, 'sequences'), 'mm[source]', 'notifier_subscriptions->invalidate_seq'), 'meaning');
    const subSeq = () => cellOf(table(w, 'interval-notifiers')!, table(w, 'interval-notifiers')!.rows[0], 'seq');
    const before = subSeq();
    let odd = false;
    for (let i = 0; w.actorSp(reclaimer) > 0 && i < 500; i++) {
      traceStep(w, reclaimer, i);
      odd ||= seqOf() === 'odd: an invalidation epoch is open';
    }
    expect(odd).toBe(true);
    expect(seqOf()).toBe('even: idle');
    expect(subSeq()).not.toBe(before);
  });

  it('name the actor holding each lock, readers by the class, and leave pfn 0 out', () => {
    const w = build('introspect', 'interval');
    const locks = () => table(w, 'locks')!;
    const pages = w.layout.region(PAGE).count;
    expect(locks().rows.filter((r) => r[1] === 'folio')).toHaveLength(pages - 1);
    for (const mm of ['mm[source]', 'mm[introspector]']) {
      expect(row(locks(), mm, 'mm.mmap_lock')).toEqual([mm, 'mm.mmap_lock', '-', '0']);
      expect(row(locks(), mm, 'mm.ptl')).toEqual([mm, 'mm.ptl', '-', '-']);
    }
    // Actor 1 takes the source ptl and a folio lock; actor 0 reads the introspector's mmap_lock.
    set(w, MM, 0, 'ptl', 2);
    set(w, PAGE, 1, 'locked', 2);
    set(w, MM, 1, 'mmapReaders', 1);
    set(w, TASK, 0, 'readLocks', 1);
    const [a0, a1] = w.layout.actorNames;
    expect(cellOf(locks(), row(locks(), 'mm[source]', 'mm.ptl'), 'held by')).toBe(a1);
    expect(cellOf(locks(), row(locks(), 'page[pfn1]', 'folio'), 'held by')).toBe(a1);
    expect(cellOf(locks(), row(locks(), 'mm[introspector]', 'mm.mmap_lock'), 'readers')).toBe(`1 (read holders of the class: ${a0})`);
    expect(cellOf(locks(), row(locks(), 'kvm[kvm-source]', 'kvm.mmu_lock'), 'held by')).toBe('-');
  });

  it('decode the HMM range of v5.3 once the fault snapshotted it', () => {
    // The introspector's first steps register its range and walk the source pte (README's R1 race).
    const t = traceOf(scenarioByName('swap-cycle')!, variantByName('seed-2019-literal')!, Array(11).fill(2));
    expect(t.initialTables?.some((x) => x.id === 'hmm-ranges')).toBe(false);
    const last = t.steps.at(-1)!.tables.find((x) => x.id === 'hmm-ranges')!;
    expect(last.rows).toHaveLength(1);
    const w = build('swap-cycle', 'seed-2019-literal');
    for (let i = 0; i < 11; i++) traceStep(w, 2, i);
    const used = Array.from({ length: w.layout.region(HMM_RANGE).count }, (_, i) => i).find((i) => w.v[w.layout.slot(HMM_RANGE, i, 'pfn')] !== 0)!;
    const pfn = w.v[w.layout.slot(HMM_RANGE, used, 'pfn')];
    expect(last.rows[0]).toEqual([`hmmRange[${used}]`, 'mm[source]', '0..1', String(w.v[w.layout.slot(HMM_RANGE, used, 'valid')]), String(pfn), hmmPfnText(pfn)]);
    expect(hmmPfnText(pfn)).toMatch(/^pfn [1-9]\d*, valid/);
    // Classic v5.3 registrations: hmm's own mmu_notifier and the driver's hmm_mirror on the source mm.
    const classic = t.steps.at(-1)!.tables.find((x) => x.id === 'notifiers')!;
    expect(classic.rows.map((r) => r[0].replace(/\[.*/, ''))).toEqual(['mmuNotifier', 'hmmMirror']);
    expect(classic.rows.every((r) => r[1] === 'mm[source]')).toBe(true);
    expect(classic.rows[1][2]).toMatch(/^sync_cpu_device_pagetables=/);
  });

  it('spell an HMM pfn entry', () => {
    expect(hmmPfnText(0)).toBe('none');
    expect(hmmPfnText(hmmPfnEncode(3, false))).toBe('pfn 3, valid');
    expect(hmmPfnText(hmmPfnEncode(1, true))).toBe('pfn 1, valid, write');
    expect(hmmPfnText(HMM_PFN_ERROR)).toBe('error');
  });
});

describe("today's struct hmm_range", () => {
  it('shows each task range a driver filled in: its notifier, notifier_seq, range, request flags and the hmm_pfns decoded', async () => {
    const { default: dmirror } = await import('../../examples/drivers/dmirror.js');
    const { runPhases } = await import('../helpers/phases.js');
    const w = buildScenario({ name: 'r', description: '', pages: 2, actors: [{ name: 'dev', ops: [{ op: 'device', call: 'read', page: 0 }] }] }, dmirror).world;
    expect(table(w, 'hmm-ranges-now')).toBeUndefined(); // no range used yet
    expect(runPhases(w, [{ actor: 'dev', until: 'dmirror_fault:lock' }]).violation).toBeUndefined();
    const t = table(w, 'hmm-ranges-now')!;
    const r = row(t, 'range[dev]')!;
    expect(cellOf(t, r, 'notifier')).toBe('intervalNotifier[0]');
    expect(cellOf(t, r, 'vpn start..end')).toBe('0..2');
    expect(cellOf(t, r, 'default_flags')).toBe('REQ_FAULT');
    expect(cellOf(t, r, 'hmm_pfns')).toMatch(/^pfn \d+, valid, write; pfn \d+, valid, write$/);
  });
});
