/**
 * Property-based test of the schema's bounds: documents generated from the operation table and
 * the bounds (so, valid against the shipped schema — checked) either load, build a world for
 * every variant they apply to and run, or are refused with a ScenarioError whose every line is
 * `file:line:column: path: found; expected` — never anything else. Documents generated to
 * meet the loader's checks as well must load. Each world runs a random schedule of up to STEPS
 * steps, stopped at the first kernel BUG or property violation (as the checker stops): this is
 * what finds a bound that only a deep path or many allocations reach (call depth, page frames).
 *
 * BUILD_FUZZ_RUNS=5000 npx vitest run test/scenario/build.fuzz.test.ts   # a longer run
 */
import fc from 'fast-check';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { buildScenario } from '../../src/scenario/build.js';
import { MAX_ACTORS, MAX_OPS, MAX_PAGES } from '../../src/scenario/bounds.js';
import { FIELD_KINDS, KVM_FLAGS, OPERATIONS, operationNamed, threadOf, type FieldKind, type KindSchema, type Op } from '../../src/scenario/operations.js';
import { formatProblem, parseScenario, scenarioSchema, ScenarioError, type LoadedScenario, type ScenarioFormat } from '../../src/scenario/load.js';
import { VARIANTS } from '../../src/mirror/variants.js';
import { execStep, isEnabled } from '../../src/world/runner.js';
import { PROPERTIES } from '../../src/check/properties.js';
import { appliesTo } from '../../src/check/run.js';
import { MEMORY_KINDS } from '../../src/scenario/spec.js';

type Doc = Record<string, unknown>;

/** Any value the schema allows for a field of this kind. */
function arbitraryOf(schema: KindSchema): fc.Arbitrary<unknown> {
  if (schema.enum) return fc.constantFrom(...schema.enum);
  if (schema.type === 'boolean') return fc.boolean();
  const min = schema.minimum ?? -(2 ** 31);
  const max = schema.maximum ?? 2 ** 31 - 1;
  return fc.oneof(fc.integer({ min, max }), fc.constantFrom(min, max));
}

/**
 * The operations any design runs: a `device` operation names a routine a driver declares, which no
 * built-in design does (the builder refuses it, one line: test/driver/tables/api.test.ts).
 */
const BUILT_IN_OPS = OPERATIONS.filter((o) => !Object.values(o.fields).some((d) => d.kind === 'call')).map((o) => o.name as string);

/**
 * One operation of any entry of the table, its required fields always present and its optional
 * ones sometimes; `kinds` may narrow what a kind's fields take (the loader's checks).
 */
function operation(kinds: Partial<Record<FieldKind, fc.Arbitrary<unknown>>> = {}, ops = BUILT_IN_OPS): fc.Arbitrary<Doc> {
  return fc.constantFrom(...ops).chain((name) => {
    const entry = operationNamed(name)!;
    const fields = Object.fromEntries(Object.entries(entry.fields).map(([f, d]) => [f, kinds[d.kind] ?? arbitraryOf(FIELD_KINDS[d.kind].schema)]));
    const optional = Object.entries(entry.fields)
      .filter(([, d]) => d.optional)
      .map(([f]) => f);
    return fc.record(fields, { requiredKeys: Object.keys(fields).filter((f) => !optional.includes(f)) }).map((r) => ({ op: name, ...r }));
  });
}

const names = fc.constantFrom('a', 'vcpu', 'intro', 'kswapd', 'x_1', 'A.b-c');
/** Actors and operations: mostly few, sometimes as many as the bounds allow. */
const count = (max: number) => fc.oneof({ weight: 5, arbitrary: fc.integer({ min: 1, max: 3 }) }, { weight: 1, arbitrary: fc.integer({ min: 1, max }) }, { weight: 1, arbitrary: fc.constant(max) });

const header = fc.record(
  {
    name: names,
    description: fc.constantFrom('', 'generated'),
    pages: fc.integer({ min: 1, max: MAX_PAGES }),
    sourceKvm: fc.boolean(),
    introspectorKvm: fc.boolean(),
    memory: fc.constantFrom(...MEMORY_KINDS),
    variants: fc.uniqueArray(fc.constantFrom(...VARIANTS.map((v) => v.name)), { minLength: 1, maxLength: VARIANTS.length }),
  },
  { requiredKeys: ['name', 'description', 'pages'] },
);

const listOf = <T>(item: fc.Arbitrary<T>, max: number) => count(max).chain((n) => fc.array(item, { minLength: n, maxLength: n }));

/** Anything the schema accepts (within the bounds): the loader's checks may still refuse it. */
const schemaValid = header.chain((h) => listOf(fc.record({ name: names, ops: listOf(operation(), MAX_OPS) }), MAX_ACTORS).map((actors) => ({ ...h, actors })));

/** Also meeting the loader's checks: pages below `pages`, ranges ending by it, guest-access only to a KVM the scenario has, the memfd's operations only with `memory: memfd`, the child mm only with its one fork, unique actor names. */
const loadable = header.chain((h) => {
  const P = h.pages;
  const vms = (['source', 'introspector'] as const).filter((vm) => h[KVM_FLAGS[vm]]);
  return fc.boolean().chain((forks) => {
    const kinds = {
      page: fc.integer({ min: 0, max: P - 1 }),
      npages: fc.constant(1),
      ...(vms.length ? { vm: fc.constantFrom(...vms) } : {}),
      mm: fc.constantFrom('source', 'introspector', ...(forks ? ['child'] : [])),
      device: fc.constant(0), // one design: its device only (a device above 0 on another mm is refused)
    };
    const allowed = OPERATIONS.filter(
      (o) =>
        BUILT_IN_OPS.includes(o.name) && !o.createsChild && !('needsLayer' in o) && (vms.length > 0 || !Object.values(o.fields).some((d) => d.kind === 'vm')) && (h.memory === 'memfd' || !o.usesMemfd),
    ).map((o) => o.name as string);
    return fc.tuple(listOf(listOf(operation(kinds, allowed), MAX_OPS), MAX_ACTORS), fc.constantFrom('source', 'introspector'), fc.nat()).map(([lists, parent, where]) => {
      // Ranges [page, page + pages) end by the last page.
      const inRange = (op: Doc): Doc => ('pages' in op ? { ...op, pages: 1 + ((where + (op.page as number)) % (P - (op.page as number))) } : op);
      const actors = lists.map((list, i) => ({ name: `a${i}`, ops: list.map(inRange) }));
      if (forks) {
        const ops = actors[where % actors.length].ops;
        ops.splice(0, ops.length === MAX_OPS ? 1 : 0, { op: 'fork', mm: parent });
      }
      return { ...h, actors: withoutImpossibleExits(actors) };
    });
  });
});

/**
 * The loader's exit rule (load.ts exitIssues): an operation run by a thread of a process that some
 * actor exits is dropped when it follows the exit in that actor or runs in another actor.
 */
function withoutImpossibleExits(actors: { name: string; ops: Doc[] }[]): { name: string; ops: Doc[] }[] {
  const exitAt = (ops: Doc[], mm: string) => ops.findIndex((op) => operationNamed(op.op as string)?.endsMm && threadOf(op as unknown as Op) === mm);
  const kept = actors.map((a, i) => ({
    ...a,
    ops: a.ops.filter((op, k) => {
      const mm = threadOf(op as unknown as Op);
      if (mm === undefined) return true;
      const own = exitAt(a.ops, mm);
      return !(own >= 0 && k > own) && !actors.some((b, j) => j !== i && exitAt(b.ops, mm) >= 0);
    }),
  }));
  // Without its fork, nothing may name the child; an actor left with nothing is dropped (one is always left).
  const forked = kept.some((a) => a.ops.some((op) => op.op === 'fork'));
  const some = kept.map((a) => (forked ? a : { ...a, ops: a.ops.filter((op) => !Object.values(op).includes('child')) })).filter((a) => a.ops.length > 0);
  return some.length ? some : [{ ...actors[0], ops: [{ op: 'reclaim', page: 0 }] }];
}

const validate = new Ajv2020({ discriminator: true, strict: true, strictRequired: false }).compile(scenarioSchema());

const STEPS = 200;
const RUNS = Number(process.env.BUILD_FUZZ_RUNS ?? 250);
/** About 20 ms a document alone, but a loaded 2-core machine has taken over 30 s for the default runs: 2 min, more for longer ones. */
const TIMEOUT = Math.max(120_000, RUNS * 100);
const stats = { loaded: 0, refused: 0, worlds: 0, steps: 0, known: 0 };

/**
 * A crash of the model outside src/scenario, known and pinned by the last test below: raw-clear's
 * invalidate clears mirror vpns computed from the slot of the VMA the device created, but a munmap
 * or mprotect of part of the mirror moves the rest to other slots and can reuse that one
 * (src/mirror/device.ts: sourceRangeToMirror ignores vm_pgoff and the splits). Remove this when
 * that test fails.
 */
function knownModelBug(variant: string, e: unknown): boolean {
  return variant === 'raw-clear' && e instanceof Error && /^vpn \d+ outside the address space/.test(e.message);
}

/** Loads `doc` (as YAML or JSON); if it loads, builds it for each variant and runs a random schedule on each world. */
function loadBuildRun(doc: Doc, format: ScenarioFormat, seed = 1): 'loaded' | 'refused' {
  expect(validate(doc), JSON.stringify(validate.errors)).toBe(true);
  const file = `gen.${format}`;
  const text = format === 'json' ? JSON.stringify(doc, null, 1) : stringify(doc);
  let loaded: LoadedScenario;
  try {
    loaded = parseScenario(text, file, format);
  } catch (e) {
    if (!(e instanceof ScenarioError)) throw e;
    // One line a problem (at most 20 spelt out): where, the path inside the file, found; expected.
    for (const p of e.problems) expect(formatProblem(p)).toMatch(/^gen\.(yaml|json):\d+:\d+: \S+: .+; expected .+$/);
    expect(e.message.split('\n')[0]).toBe(formatProblem(e.problems[0]));
    stats.refused++;
    return 'refused';
  }
  // A design applies when it has every device the scenario names (designs side by side: src/mirror/combined.ts).
  for (const v of loaded.variants.filter((d) => appliesTo(loaded.spec, d))) {
    const { world } = buildScenario(loaded.spec, v);
    // Audited, as `check` runs: every step of every generated shape is held to its footprint and
    // to the lock discipline (shapes the catalogue lacks found steps that broke it).
    world.audit = true;
    stats.worlds++;
    let x = seed;
    try {
      for (let step = 0; step < STEPS; step++) {
        const enabled = loaded.spec.actors.map((_, a) => a).filter((a) => isEnabled(world, a));
        if (enabled.length === 0) break;
        x = (Math.imul(x, 1103515245) + 12345) >>> 0;
        execStep(world, enabled[(x >>> 8) % enabled.length]);
        stats.steps++;
        if (world.bugs.length > 0 || PROPERTIES.some((p) => p.check(world))) break;
      }
    } catch (e) {
      if (!knownModelBug(v.name, e)) throw e;
      stats.known++;
    }
  }
  stats.loaded++;
  return 'loaded';
}

const format = fc.constantFrom<ScenarioFormat>('json', 'json', 'yaml');

describe('schema-valid documents within the bounds', () => {
  afterAll(() =>
    console.log(
      `build fuzz: ${stats.loaded} documents loaded (${stats.worlds} worlds built, ${stats.steps} steps, ${stats.known} runs ended by the known raw-clear crash), ${stats.refused} refused with a ScenarioError`,
    ),
  );

  it(
    'those meeting the loader checks load, build a world for every variant and run',
    () => {
      fc.assert(
        fc.property(loadable, format, fc.nat(), (doc, fmt, seed) => {
          expect(loadBuildRun(doc, fmt, seed)).toBe('loaded');
        }),
        { numRuns: RUNS },
      );
    },
    TIMEOUT,
  );

  it(
    'any of them either loads, builds and runs, or is refused one problem a line — never a crash',
    () => {
      let loaded = 0;
      fc.assert(
        fc.property(schemaValid, format, fc.nat(), (doc, fmt, seed) => {
          if (loadBuildRun(doc, fmt, seed) === 'loaded') loaded++;
        }),
        { numRuns: RUNS },
      );
      expect(loaded).toBeGreaterThan(0);
    },
    TIMEOUT,
  );
});

describe('known crash of the model (not of the scenario layer)', () => {
  it("raw-clear: munmap of the mirror's first page, mprotect of its last, then an invalidation of the source clears vpns past the address space (when this fails, the model is fixed: drop knownModelBug)", () => {
    const loaded = parseScenario(
      JSON.stringify({
        name: 'mirror-split',
        description: '',
        pages: 3,
        variant: 'raw-clear',
        actors: [
          {
            name: 'a',
            ops: [
              { op: 'munmap', mm: 'introspector', page: 0 },
              { op: 'mprotect-readonly', mm: 'introspector', page: 2 },
              { op: 'oom-reap', mm: 'source' },
            ],
          },
        ],
      }),
      'split.json',
      'json',
    );
    const { world } = buildScenario(loaded.spec, loaded.variants[0]);
    const run = () => {
      for (let step = 0; step < 100 && isEnabled(world, 0); step++) execStep(world, 0);
    };
    expect(run).toThrow('vpn 3 outside the address space (0..2)');
    expect(knownModelBug('raw-clear', new Error('vpn 3 outside the address space (0..2)'))).toBe(true);
  });
});
