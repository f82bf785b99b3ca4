/**
 * The device-table API from outside: through the real binary (`--driver` files that import
 * 'vmamirror', a scenario file naming the driver's operations), the lock discipline over a
 * driver's table writes, and what `defineTable` / `defineDriver` / the builder refuse, each in one
 * sentence naming the table, driver or scenario.
 */
import { describe, expect, it } from 'vitest';
import { vmamirror } from '../../helpers/cli.js';
import { checkOne } from '../../../src/check/run.js';
import { defineStruct, defineTable, DriverError, KERNEL, Library, type DeviceTable } from '../../../src/driver/api.js';
import { intervalTableDriver } from './drivers.js';
import { PROPERTIES } from '../../../src/check/properties.js';

const FILE = 'test/driver/tables/device-job.yaml';
const OK = 'test/driver/tables/dmirror-table.ts';
const UNFENCED = 'test/driver/tables/dmirror-table-unfenced.ts';

describe('through the binary', () => {
  it('a scenario file runs the driver’s job: the fenced driver holds, the unfenced one is caught with its schedule', () => {
    const r = vmamirror(['check', FILE, '--driver', OK, '--driver', UNFENCED]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^device-job\/dmirror-table: holds — /m);
    expect(r.stdout).toMatch(
      /^device-job\/dmirror-table-unfenced: violation — device-access: an access in flight through dmirror-table-unfenced-pt\[0\] \(no-page-refs\) uses pfn 1 but source@0 maps nothing \(its entry was cleared while it was in flight: the job still runs\)$/m,
    );
    const schedule = /schedule: (device-job\/dmirror-table-unfenced:\S+)/.exec(r.stdout)?.[1];
    expect(schedule).toBeDefined();
    // The trace names the table's entries as it names the kernel's objects.
    const replay = vmamirror(['replay', schedule!, '--file', FILE, '--driver', UNFENCED]);
    expect(replay.code).toBe(1);
    expect(replay.stdout).toMatch(/^ +dmirror-table-unfenced-pt\[0\]\.pfn: 1 -> 0$/m);
    expect(replay.stdout).toMatch(/^VIOLATED device-access: /m);
  });

  it('a design that does not declare the operation is refused in one line, exit 2', () => {
    const r = vmamirror(['check', FILE, '--variant', 'interval']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      'vmamirror: scenario device-job: device operation "job": design interval has no such operation (it declares none); check the scenario only with designs that declare it (--driver FILE, --variant NAME)\n',
    );
  });
});

describe('the lock discipline covers the table', () => {
  it('a callback that clears entries without the update lock is a data race (kernel-bug), on any schedule reaching it', () => {
    const r = checkOne(
      { name: 'unlocked', description: '', pages: 1, actors: [{ name: 'src', ops: [{ op: 'munmap', mm: 'source', page: 0 }] }] },
      intervalTableDriver({ name: 'unlocked', kind: 'no-page-refs', lock: false }),
    );
    expect(r.violation?.property).toBe('kernel-bug');
    expect(r.violation?.message).toMatch(/unlocked_invalidate:clear writes unlocked-pt\[0\]\.pfn \(protected by driver\) without holding driver: a data race/);
  });
});

describe('the properties', () => {
  it('are built in, after the others', () => {
    expect(PROPERTIES.map((p) => p.name).slice(-2)).toEqual(['device-table', 'device-access']);
  });
});

describe('refused', () => {
  const table = (spec: object) => () => defineTable({ name: 'refused-pt', kind: 'no-page-refs', entries: 1, parent: 'source', ...spec } as never);

  it('a kind not modelled yet, with what is missing', () => {
    expect(table({ kind: 'cpu-tlb' })).toThrow(/^defineTable: table "refused-pt": kind cpu-tlb is not modelled yet: .*the model has no CPU TLB layer yet/);
  });

  it('an unknown kind, a parent that is not the source, no entries, a bad protection', () => {
    expect(table({ kind: 'tlb' })).toThrow(/kind: expected one of no-page-refs, page-refs, cache, strict, got "tlb"/);
    expect(table({ parent: 'introspector' })).toThrow(/parent: expected 'source'/);
    expect(table({ entries: 0 })).toThrow(/entries: expected the number of entries per device/);
    expect(table({ protect: 'stable' })).toThrow(/protect: expected 'lock:CLASS'/);
    expect(table({ name: 'Bad' })).toThrow(DriverError);
  });

  it('a table name defined twice, a window counter outside the driver’s state, a table listed twice', () => {
    defineTable({ name: 'twice-pt', kind: 'cache', entries: 1, parent: 'source' });
    expect(() => defineTable({ name: 'twice-pt', kind: 'cache', entries: 1, parent: 'source' })).toThrow(/table "twice-pt": the name is another table's/);
    const counter = defineStruct('refused-count', ['n'] as const, { n: 'lock:driver' });
    const windowed: DeviceTable = defineTable({ name: 'windowed-pt', kind: 'page-refs', entries: 1, parent: 'source', window: { struct: counter, field: 'n' } });
    expect(() => intervalTableDriver({ name: 'refused-window', kind: 'cache', spec: { tables: [windowed] } })).toThrow(
      /table windowed-pt: window: struct refused-count is not one of the driver's state structs/,
    );
    expect(table({ window: { struct: counter, field: 'm' } })).toThrow(/window: expected \{ struct, field \}/);
  });

  it('an operation that is no routine of the driver’s, or takes other params', () => {
    const other = new Library('test-refused-other', [KERNEL], { kind: 'driver', sources: ['device'] });
    const foreign = other.routine({ name: 'refused_foreign', params: ['dev', 'page', 'write'], steps: { go: { at: 'device: go', run: (w) => w.ret(0) } } });
    expect(() => intervalTableDriver({ name: 'refused-op', kind: 'cache', spec: { operations: [{ name: 'x', description: 'x', routine: foreign }] } })).toThrow(
      /operations\[0\] \(x\): routine: expected a routine of the driver's library test-refused-op/,
    );
  });
});
