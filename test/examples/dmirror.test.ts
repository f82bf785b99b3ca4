/**
 * dmirror (examples/drivers/dmirror.ts, lib/test_hmm.c): what the kernel's self-tests assert of its
 * counters and snapshot bytes, one actor at a time (kernel-selftest-cases.md §1.5, §1.6, H01), and
 * every scenario of examples/dmirror/ through the real binary: dmirror holds against the catalogue's
 * adversaries, the livelock of §1.9 point 3 is found on exit, and dmirror-no-retry is caught with
 * its interleaving.
 */
import { describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import { vmamirror } from '../helpers/cli.js';
import { runAllToEnd, runPhases } from '../helpers/phases.js';
import { buildScenario } from '../../src/scenario/build.js';
import type { ScenarioSpec, Op } from '../../src/scenario/spec.js';
import { pte } from '../../src/kernel/pgtable.js';
import { EFAULT, EPERM } from '../../src/kernel/flags.js';
import { mmIndex } from '../../src/kernel/topology.js';
import { deviceExclusivePfn } from '../../src/kernel/ops/device-exclusive.js';
import { combineDesigns } from '../../src/mirror/combined.js';
import { MIRROR } from '../../src/mirror/device.js';
import { MIN } from '../../src/kernel/structs.js';
import { NONE, ref } from '../../src/kernel/ref.js';
import type { World } from '../../src/world/world.js';
import dmirrorDriver, { DMIRROR_CMD, DMIRROR_PT_TAG, HMM_DMIRROR_PROT_ERROR, HMM_DMIRROR_PROT_NONE, HMM_DMIRROR_PROT_READ, HMM_DMIRROR_PROT_WRITE } from '../../examples/drivers/dmirror.js';

const spec = (pages: number, ops: Op[], other?: { name: string; ops: Op[] }): ScenarioSpec => ({
  name: 'dmirror-unit',
  description: '',
  pages,
  actors: [{ name: 'dev', ops }, ...(other ? [other] : [])],
});

/** Runs every actor to its end, in order; the world, and the ioctl's outputs. */
function run(s: ScenarioSpec): { w: World; cmd: { cpages: number; faults: number; snap: number[] }; ret: number } {
  const { world: w } = buildScenario(s, dmirrorDriver);
  expect(runAllToEnd(w).violation).toBeUndefined();
  const c = w.obj(DMIRROR_CMD, 0);
  return { w, cmd: { cpages: c.cpages, faults: c.faults, snap: [c.snap0, c.snap1, c.snap2, c.snap3] }, ret: c.ret };
}

describe('dmirror, one actor (hmm-tests.c, §1.5 and §1.6)', () => {
  it('READ of every page of a fresh mirror: one fault round, every page copied (H01: cpages == npages, faults == 1)', () => {
    const r = run(spec(3, [{ op: 'device', call: 'read', page: 0 }]));
    expect(r.cmd).toMatchObject({ cpages: 3, faults: 1 });
  });

  it('READ from page 1 copies the pages from it on', () => {
    const r = run(spec(3, [{ op: 'device', call: 'read', page: 1 }]));
    expect(r.cmd).toMatchObject({ cpages: 2, faults: 1 });
  });

  it('a second READ finds every entry in the table: no fault round', () => {
    const r = run(
      spec(2, [
        { op: 'device', call: 'read', page: 0 },
        { op: 'device', call: 'read', page: 0 },
      ]),
    );
    expect(r.cmd).toMatchObject({ cpages: 2, faults: 0 });
  });

  it('WRITE of a fresh mirror: one write fault round; on read-only pages hmm_range_fault says -EPERM and the write copies nothing', () => {
    const r = run(spec(2, [{ op: 'device', call: 'write', page: 0 }]));
    expect(r.cmd).toMatchObject({ cpages: 2, faults: 1 });
    const ro = run(
      spec(2, [
        { op: 'mprotect-readonly', mm: 'source', page: 0, pages: 2 },
        { op: 'device', call: 'read', page: 0 },
        { op: 'device', call: 'write', page: 0 },
      ]),
    );
    // A write fault on a read-only VMA: hmm_range_fault's -EPERM, nothing copied by the write.
    expect(ro.ret).toBe(-EPERM);
    expect(ro.cmd).toMatchObject({ cpages: 0, faults: 0 });
  });

  it('after the source unmapped the pages, READ fails with -EFAULT and counts no fault round (H02: nothing is delivered on error)', () => {
    const r = run(
      spec(2, [
        { op: 'munmap', mm: 'source', page: 0, pages: 2 },
        { op: 'device', call: 'read', page: 0 },
      ]),
    );
    expect(r.ret).toBe(-EFAULT);
    expect(r.cmd).toMatchObject({ cpages: 0, faults: 0 });
  });

  it('SNAPSHOT reports READ / WRITE per page and faults nothing in; an unmapped page is an error, a dropped one none', () => {
    const r = run(
      spec(3, [
        { op: 'mprotect-readonly', mm: 'source', page: 1, pages: 2 },
        { op: 'device', call: 'snapshot', page: 0 },
      ]),
    );
    expect(r.ret).toBe(0);
    expect(r.cmd.snap.slice(0, 3)).toEqual([HMM_DMIRROR_PROT_WRITE, HMM_DMIRROR_PROT_READ, HMM_DMIRROR_PROT_READ]);
    const gone = run(
      spec(3, [
        { op: 'munmap', mm: 'source', page: 0 },
        { op: 'madvise-dontneed', mm: 'source', page: 1 },
        { op: 'device', call: 'snapshot', page: 0 },
      ]),
    );
    expect(gone.cmd.snap.slice(0, 3)).toEqual([HMM_DMIRROR_PROT_ERROR, HMM_DMIRROR_PROT_NONE, HMM_DMIRROR_PROT_WRITE]);
    expect(pte(gone.w, mmIndex(gone.w, 'source'), 1).present).toBe(0); // the snapshot did not fault it back
  });

  it('two readers of one device each walk their own range (the struct hmm_range on each one’s stack)', () => {
    const s = spec(2, [{ op: 'device', call: 'read', page: 0 }], { name: 'dev2', ops: [{ op: 'device', call: 'read', page: 1 }] });
    const { world: w } = buildScenario(s, dmirrorDriver);
    const r = runPhases(w, [{ actor: 'dev', until: 'dmirror_fault:lockSource' }, { actor: 'dev2', until: 'dmirror_fault:lockSource' }, { actor: 'dev' }, { actor: 'dev2' }]);
    expect(r.violation).toBeUndefined();
    expect(w.obj(DMIRROR_CMD, 0).cpages).toBe(1); // dev2's, the last to finish: page 1 only
  });
});

describe('dmirror EXCLUSIVE and CHECK_EXCLUSIVE (dmirror_exclusive, dmirror_check_atomic; H19)', () => {
  const exclusive: Op = { op: 'device', call: 'exclusive', page: 0 };
  const check: Op = { op: 'device', call: 'check-exclusive', page: 0 };

  it('EXCLUSIVE makes every pte device-exclusive and reads back through ATOMIC entries; CHECK_EXCLUSIVE then says -EPERM', () => {
    const r = run(spec(2, [exclusive]));
    expect([r.ret, r.cmd.cpages]).toEqual([0, 2]);
    const src = mmIndex(r.w, 'source');
    for (const vpn of [0, 1]) expect([pte(r.w, src, vpn).present, deviceExclusivePfn(pte(r.w, src, vpn)) !== 0]).toEqual([0, true]);
    expect([r.w.obj(DMIRROR_PT_TAG, 0).atomic, r.w.obj(DMIRROR_PT_TAG, 1).atomic]).toEqual([1, 1]);
    expect(run(spec(2, [exclusive, check])).ret).toBe(-EPERM);
  });

  it('a CPU access to one page erases that page’s ATOMIC entry only: CHECK_EXCLUSIVE from it says 0, from before it -EPERM', () => {
    const touched = run(spec(2, [exclusive, { op: 'access', mm: 'source', page: 1 }, { op: 'device', call: 'check-exclusive', page: 1 }]));
    expect(touched.ret).toBe(0);
    const before = run(spec(2, [exclusive, { op: 'access', mm: 'source', page: 1 }, check]));
    expect(before.ret).toBe(-EPERM);
  });

  it('a device WRITE through ATOMIC entries (no WRITE tag) faults them back with hmm_range_fault: one round, no ATOMIC entry left', () => {
    const r = run(spec(2, [exclusive, { op: 'device', call: 'write', page: 0 }]));
    expect([r.ret, r.cmd.cpages, r.cmd.faults]).toEqual([0, 2, 1]);
    const src = mmIndex(r.w, 'source');
    expect([pte(r.w, src, 0).present, pte(r.w, src, 0).write]).toEqual([1, 1]);
    expect(run(spec(2, [exclusive, { op: 'device', call: 'write', page: 0 }, check])).ret).toBe(0);
  });

  it('SNAPSHOT (no fault request) sees a device-exclusive entry as not valid: PROT_NONE, and leaves it in place', () => {
    const r = run(spec(2, [exclusive, { op: 'device', call: 'snapshot', page: 0 }]));
    expect(r.cmd.snap.slice(0, 2)).toEqual([HMM_DMIRROR_PROT_NONE, HMM_DMIRROR_PROT_NONE]);
    expect(pte(r.w, mmIndex(r.w, 'source'), 0).present).toBe(0);
  });
});

describe('a device the fork child opens (`mm: child`; H05)', () => {
  const both = combineDesigns([dmirrorDriver, dmirrorDriver]);
  const childSpec = (ops: Op[]): ScenarioSpec => ({
    name: 'dmirror-child',
    description: '',
    pages: 2,
    actors: [
      { name: 'parent', ops: [{ op: 'fork', mm: 'source' }] },
      { name: 'child', ops: [{ op: 'access', mm: 'child', page: 0 }, ...ops] },
    ],
  });

  it('is bound to the child mm and not opened at set-up; its open inserts the interval notifier on the child mm', () => {
    const { world: w } = buildScenario(childSpec([{ op: 'device', call: 'open', page: 0, device: 1, mm: 'child' }]), both);
    const child = mmIndex(w, 'child');
    expect(w.obj(MIRROR, 1).srcMm).toBe(ref(child));
    expect([w.obj(MIN, 0).mm, w.obj(MIN, 1).mm]).toEqual([ref(mmIndex(w, 'source')), NONE]); // device 0 opened at set-up, device 1 not
    expect(runAllToEnd(w).violation).toBeUndefined();
    expect(w.obj(MIN, 1).mm).toBe(ref(child));
  });

  it('a device named with two processes cannot be built', () => {
    const s = childSpec([
      { op: 'device', call: 'open', page: 0, device: 1, mm: 'child' },
      { op: 'device', call: 'read', page: 0, device: 1 },
    ]);
    expect(() => buildScenario(s, both)).toThrow("scenario dmirror-child: device 1 is named with mm child and with mm source; a device's file belongs to one process");
  });
});

describe('examples/dmirror through the binary', () => {
  const files = readdirSync('examples/dmirror').filter((f) => f.endsWith('.yaml'));

  it('has a scenario for each adversary of the catalogue, and one that closes and reopens the device', () => {
    expect(files.sort()).toEqual(['exit.yaml', 'fork.yaml', 'madvise-dontneed.yaml', 'migrate.yaml', 'mprotect-readonly.yaml', 'munmap.yaml', 'oom.yaml', 'reclaim.yaml', 'reopen.yaml']);
  });

  it('close, then open while kswapd reclaims: the interval notifier removed and inserted at run time, each path of the insert and of the remove run', () => {
    const r = vmamirror(['check', 'examples/dmirror/reopen.yaml', '--variant', 'dmirror', '--json'], { timeoutMs: 120_000 });
    const [cell] = JSON.parse(r.stdout) as { verdict: string; unreached?: string[] }[];
    expect(cell.verdict).toBe('holds');
    // The tree already exists when the device reopens (no registration); every other label ran, the wait for an open epoch included.
    expect((cell.unreached ?? []).filter((u) => /^mmu_interval_notifier_(insert|remove):/.test(u))).toEqual(['mmu_interval_notifier_insert:register', 'mmu_interval_notifier_insert:registered']);
  });

  it('opening a device that is open is a BUG: the interval notifier is inserted twice', () => {
    const { world: w } = buildScenario(spec(2, [{ op: 'device', call: 'open', page: 0 }]), dmirrorDriver);
    expect(runAllToEnd(w).violation?.message).toMatch(/mmu_interval_notifier_insert of interval notifier 0, which is already inserted/);
  });

  // exit.yaml's termination check runs the looping reader LONE_BOUND (20000) steps: about 20 s.
  for (const f of files) {
    it(`${f}: every expectation met`, { timeout: 180_000 }, () => {
      const r = vmamirror(['check', `examples/dmirror/${f}`], { timeoutMs: 170_000 });
      expect(r.stderr).toBe('');
      expect(r.stdout).not.toMatch(/UNEXPECTED/);
      const met = r.stdout.match(/^as expected: /gm) ?? [];
      expect(met.length).toBeGreaterThan(0);
      expect(r.code).toBe(0);
    });
  }

  it('dmirror holds where it should, and the broken variant is reported as the device table mapping a page the source no longer maps', () => {
    const r = vmamirror(['check', 'examples/dmirror/munmap.yaml', '--json'], { timeoutMs: 120_000 });
    const cells = JSON.parse(r.stdout) as { variant: string; verdict: string; violation?: { property: string; message: string } }[];
    expect(cells.map((c) => [c.variant, c.verdict])).toEqual([
      ['dmirror', 'holds'],
      ['dmirror-no-retry', 'violation'],
    ]);
    expect(cells[1].violation).toMatchObject({
      property: 'device-table',
      message: expect.stringMatching(/^device table dmirror-no-retry-pt\[\d\] \(no-page-refs\) maps pfn \d+ but source@\d maps nothing$/),
    });
  });

  it('a READ that forgets dmirror->mutex is caught racing the invalidation (device-access), not a model error of the device latching its entry (regression)', () => {
    const r = vmamirror(['mutate', 'examples/dmirror/munmap.yaml', '--design', 'dmirror', '--json'], { timeoutMs: 180_000 });
    const report = JSON.parse(r.stdout) as { mutants: { id: string; outcome: string; caught?: { property: string } }[] };
    const forgot = report.mutants.find((m) => m.id === 'drop-lock@dmirror_read:lock');
    expect(forgot).toMatchObject({ outcome: 'caught', caught: { property: 'device-access' } });
    expect(report.mutants.map((m) => m.outcome).filter((o) => !['caught', 'accepted', 'not-checkable'].includes(o))).toEqual([]);
  });
});
