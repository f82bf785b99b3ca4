/**
 * The operation table (src/scenario/operations.ts) is the one definition of the scenario
 * operations: the `Op` type is derived from it, the builder dispatches through it and the loader
 * checks fields by the kinds it gives; schema.json's operations are written from it.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { FIELD_KINDS, OP_NAMES, OPERATIONS, opCall, operationNamed, type CallContext, type FieldKind, type FieldKinds, type Op } from '../../src/scenario/operations.js';
import { buildScenario } from '../../src/scenario/build.js';
import { programs } from '../../src/scenario/workload.js';
import { interval } from '../../src/mirror/interval.js';
import type { ScenarioSpec } from '../../src/scenario/spec.js';
import { SCHEMA_URL } from '../../src/scenario/load.js';
import { generateSchema, opSchema, type Json } from '../../src/scenario/schema-gen.js';

/** A value of each kind, as a file could write it. */
const SAMPLE: FieldKinds = { mm: 'introspector', parent: 'source', vm: 'introspector', page: 1, npages: 2, write: true, value: 7, device: 0, call: 'job' };

/** An operation of entry `name` with every field (optional ones too) set to the sample of its kind. */
function sample(name: string): Op {
  const entry = operationNamed(name)!;
  return Object.fromEntries([['op', name], ...Object.entries(entry.fields).map(([f, d]) => [f, SAMPLE[d.kind]])]) as Op;
}

const context: CallContext = {
  mm: (n) => ['source', 'introspector', 'child'].indexOf(n),
  vpn: (_, p) => p,
  kvm: (v) => (v === 'source' ? 0 : 1),
  driverOperation: () => interval.fault,
  memfd: { mapping: 0, vpn: (_, p) => p },
};

describe('the operation table', () => {
  it('derives the Op type: one alternative per entry, required and optional fields by their kinds', () => {
    expectTypeOf<Op['op']>().toEqualTypeOf<(typeof OPERATIONS)[number]['name']>();
    expectTypeOf<Extract<Op, { op: 'access' }>>().toEqualTypeOf<{
      readonly op: 'access';
      readonly mm: 'source' | 'introspector' | 'child';
      readonly page: number;
      readonly write?: boolean;
      readonly value?: number;
      readonly device?: number;
    }>();
    expectTypeOf<Extract<Op, { op: 'fork' }>>().toEqualTypeOf<{ readonly op: 'fork'; readonly mm: 'source' | 'introspector' }>();
    expectTypeOf<Extract<Op, { op: 'munmap' }>>().toEqualTypeOf<{ readonly op: 'munmap'; readonly mm: 'source' | 'introspector' | 'child'; readonly page: number; readonly pages?: number }>();
  });

  it('names each operation once, and gives every field a known kind', () => {
    expect(new Set(OP_NAMES).size).toBe(OPERATIONS.length);
    for (const entry of OPERATIONS) {
      expect(entry.description).toMatch(/^\S.*\.$/);
      expect(entry.description).not.toMatch(/\n/);
      for (const def of Object.values(entry.fields) as { kind: FieldKind }[]) expect(Object.keys(FIELD_KINDS)).toContain(def.kind);
    }
  });

  it.each(OPERATIONS.map((o) => [o.name] as const))('%s: its call passes the routine as many arguments as it takes', (name) => {
    const call = opCall(sample(name), context);
    expect(call.args).toHaveLength(call.routine.params.length);
    expect(call.args.every((a) => Number.isInteger(a))).toBe(true);
    expect(call.label).toMatch(/^[\w-]+\(.*\)$/);
  });

  it('the builder turns each operation into the call it always made (label, routine, arguments)', () => {
    const spec: ScenarioSpec = {
      name: 'every-op',
      description: '',
      pages: 3,
      sourceKvm: true,
      introspectorKvm: true,
      actors: [
        {
          name: 'a',
          ops: [
            { op: 'access', mm: 'source', page: 1, write: true, value: 9 },
            { op: 'access', mm: 'introspector', page: 2 },
            { op: 'access', mm: 'child', page: 0, write: false },
          ],
        },
        {
          name: 'b',
          ops: [
            { op: 'guest-access', vm: 'source', page: 2, write: true, value: -3 },
            { op: 'guest-access', vm: 'introspector', page: 1 },
          ],
        },
        {
          name: 'c',
          ops: [
            { op: 'reclaim', page: 2 },
            { op: 'migrate', page: 1 },
            { op: 'madvise-dontneed', mm: 'introspector', page: 1, pages: 2 },
            { op: 'munmap', mm: 'source', page: 0 },
            { op: 'mmap', mm: 'source', page: 0 },
            { op: 'mprotect-readonly', mm: 'child', page: 1, pages: 1 },
            { op: 'mprotect-readwrite', mm: 'source', page: 0, pages: 2 },
            { op: 'mprotect-none', mm: 'introspector', page: 2 },
          ],
        },
        {
          name: 'd',
          ops: [
            { op: 'fork', mm: 'introspector' },
            { op: 'exit', mm: 'child' },
            { op: 'oom-reap', mm: 'source' },
          ],
        },
      ],
    };
    const calls = programs(buildScenario(spec, interval).world.layout).map((p) => p.map((c) => `${c.label} ${c.routine.name}(${c.args.join(', ')})`));
    expect(calls).toEqual([
      ['write(source@1) cpu_access(0, 1, 1, 9)', 'read(introspector@2) cpu_access(1, 2, 0, 0)', 'read(child@0) cpu_access(2, 0, 0, 0)'],
      ['guest-write(source:gfn2) guest_access(0, 2, 1, -3)', 'guest-read(introspector:gfn1) guest_access(1, 1, 0, 0)'],
      [
        'reclaim(source@2) kswapd_reclaim(0, 2)',
        'migrate(source@1) kcompactd_migrate(0, 1)',
        'madvise(introspector@1, DONTNEED) do_madvise(1, 1, 3)',
        'munmap(source@0) __vm_munmap(0, 0, 1)',
        'mmap(source@0) vm_mmap_pgoff(0, 0, 1)',
        'mprotect(child@1, PROT_READ) do_mprotect_pkey(2, 1, 2, 1)',
        'mprotect(source@0, PROT_READ|PROT_WRITE) do_mprotect_pkey(0, 0, 2, 3)',
        'mprotect(introspector@2, PROT_NONE) do_mprotect_pkey(1, 2, 3, 0)',
      ],
      ['fork(introspector) dup_mmap(1, 2)', 'exit(child) mmput(2)', 'oom_reap(source) oom_reap_task_mm(0)'],
    ]);
  });
});

describe('schema.json agrees with the table (npx tsx scripts/scenario-schema.ts writes it)', () => {
  const shipped = JSON.parse(readFileSync(SCHEMA_URL, 'utf8')) as Json;
  interface Alternative {
    description: string;
    required: string[];
    additionalProperties: boolean;
    properties: Record<string, { const?: string; $ref?: string }>;
  }
  const alternatives = (schema: Json) => (schema as unknown as { $defs: { op: { oneOf: Alternative[] } } }).$defs.op.oneOf;
  /** Each operation's description, required and optional fields and their kinds, by name. */
  const summary = (alts: Alternative[]) =>
    Object.fromEntries(
      alts.map((a) => {
        const fields = Object.keys(a.properties).filter((f) => f !== 'op');
        return [
          a.properties.op.const,
          {
            description: a.description,
            required: a.required.filter((f) => f !== 'op'),
            optional: fields.filter((f) => !a.required.includes(f)),
            kinds: Object.fromEntries(fields.map((f) => [f, a.properties[f].$ref])),
            closed: a.additionalProperties === false && a.required[0] === 'op',
          },
        ];
      }),
    );

  it('lists exactly the operations of the table, in its order', () => {
    expect(alternatives(shipped).map((a) => a.properties.op.const)).toEqual(OP_NAMES);
  });

  it('gives each operation the description, required and optional fields and field kinds of its table entry', () => {
    expect(summary(alternatives(shipped))).toEqual(summary(alternatives({ $defs: { op: opSchema() } } as unknown as Json)));
  });

  it('holds the field kinds, bounds and variants the code has, and nothing else differs from what the script writes', () => {
    expect(JSON.stringify(shipped, null, 1)).toBe(JSON.stringify(generateSchema(shipped), null, 1));
  });
});
