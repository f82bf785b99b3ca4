/**
 * The schema's bounds are the model's: the largest value of each bound loads, builds a world for
 * every variant and runs; the smallest value past it is refused by the loader with its one-line
 * message. (src/scenario/bounds.ts says where each bound comes from.)
 */
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { buildScenario } from '../../src/scenario/build.js';
import { MAX_ACTORS, MAX_OPS, MAX_PAGES, pageFrames } from '../../src/scenario/bounds.js';
import { parseScenario, ScenarioError, type LoadedScenario } from '../../src/scenario/load.js';
import type { Op, ScenarioSpec } from '../../src/scenario/spec.js';
import { GATHER_MAX_PFN } from '../../src/kernel/ops/zap.js';
import { PAGE } from '../../src/kernel/structs.js';
import { pte } from '../../src/kernel/pgtable.js';
import { interval } from '../../src/mirror/interval.js';
import { execStep, isEnabled, runToEnd, runUntil, whereIs } from '../../src/world/runner.js';

type Doc = Record<string, unknown>;

const base = (over: Doc = {}): Doc => ({ name: 'bound', description: 'largest or smallest of a bound', pages: 1, actors: [{ name: 'a', ops: [{ op: 'access', mm: 'source', page: 0 }] }], ...over });

function load(doc: Doc): LoadedScenario {
  return parseScenario(stringify(doc), 'bound.yaml', 'yaml');
}

function errorOf(doc: Doc): string {
  try {
    load(doc);
  } catch (e) {
    expect(e).toBeInstanceOf(ScenarioError);
    return (e as Error).message;
  }
  throw new Error('expected a ScenarioError');
}

/** Loads `doc`, builds it for every variant it applies to, and lets every actor take its first steps. */
function buildsAndRuns(doc: Doc): void {
  const loaded = load(doc);
  for (const v of loaded.variants) {
    const { world } = buildScenario(loaded.spec, v);
    let steps = 0;
    for (let round = 0; round < 3; round++) {
      for (let a = 0; a < loaded.spec.actors.length; a++) {
        if (!isEnabled(world, a)) continue;
        execStep(world, a);
        steps++;
      }
    }
    expect(steps, `${loaded.spec.name}/${v.name}`).toBeGreaterThan(0);
  }
}

const rangeOps = (mm: 'source' | 'introspector', pages: number): Op[] => [
  { op: 'madvise-dontneed', mm, page: 0, pages },
  { op: 'mprotect-readonly', mm, page: 0, pages },
  { op: 'munmap', mm, page: 0, pages },
];

describe('pages', () => {
  it(`MAX_PAGES (${MAX_PAGES}) is the most pages whose page frames all fit the model's mmu_gather (pfns 1..${GATHER_MAX_PFN})`, () => {
    expect(pageFrames(MAX_PAGES)).toBeLessThanOrEqual(GATHER_MAX_PFN);
    expect(pageFrames(MAX_PAGES + 1)).toBeGreaterThan(GATHER_MAX_PFN);
  });

  it(`pages: ${MAX_PAGES} with every operation on the last page and on the whole range builds and runs`, () => {
    const last = MAX_PAGES - 1;
    buildsAndRuns(
      base({
        pages: MAX_PAGES,
        sourceKvm: true,
        introspectorKvm: true,
        actors: [
          { name: 'src', ops: [{ op: 'access', mm: 'source', page: last, write: true, value: 1 }, { op: 'fork', mm: 'source' }, ...rangeOps('source', MAX_PAGES), { op: 'exit', mm: 'source' }] },
          { name: 'intro', ops: [{ op: 'access', mm: 'introspector', page: last }, ...rangeOps('introspector', MAX_PAGES), { op: 'oom-reap', mm: 'introspector' }] },
          {
            name: 'child',
            ops: [
              { op: 'access', mm: 'child', page: last, write: true },
              { op: 'munmap', mm: 'child', page: 0, pages: MAX_PAGES },
              { op: 'exit', mm: 'child' },
            ],
          },
          { name: 'vcpu', ops: [{ op: 'guest-access', vm: 'source', page: last, write: true, value: 2 }] },
          { name: 'nested', ops: [{ op: 'guest-access', vm: 'introspector', page: last }] },
          {
            name: 'kswapd',
            ops: [
              { op: 'reclaim', page: last },
              { op: 'migrate', page: last },
            ],
          },
        ],
      }),
    );
  });

  it(`pages: ${MAX_PAGES + 1} and pages: 0 are refused`, () => {
    expect(errorOf(base({ pages: MAX_PAGES + 1 }))).toBe(`bound.yaml:3:8: pages: ${MAX_PAGES + 1} is out of range; expected an integer 1..${MAX_PAGES}`);
    expect(errorOf(base({ pages: 0 }))).toBe(`bound.yaml:3:8: pages: 0 is out of range; expected an integer 1..${MAX_PAGES}`);
  });

  it('a spec written in code past the bound is refused by the builder, before any step', () => {
    const spec = { ...(base() as unknown as ScenarioSpec), pages: MAX_PAGES + 1 };
    expect(() => buildScenario(spec, interval)).toThrow(new RangeError(`scenario bound: pages ${MAX_PAGES + 1}; the model builds 1..${MAX_PAGES} pages (src/scenario/bounds.ts)`));
  });

  it(`at pages: ${MAX_PAGES} the world's every page frame can be in use at once and zapped: the last allocation fails (OOM), nothing crashes`, () => {
    // kswapd reclaims page 0; then more faults than there are free frames read it back from swap
    // concurrently, each allocating its own page before taking the pte lock; then the source exits.
    const free = pageFrames(MAX_PAGES) - MAX_PAGES + 1; // after the reclaim
    const readers = free + 1;
    const spec: ScenarioSpec = {
      name: 'all-frames',
      description: '',
      pages: MAX_PAGES,
      actors: [
        { name: 'kswapd', ops: [{ op: 'reclaim', page: 0 }] },
        { name: 'exit', ops: [{ op: 'exit', mm: 'source' }] },
        ...Array.from({ length: readers }, (_, i) => ({ name: `r${i}`, ops: [{ op: 'access' as const, mm: 'source' as const, page: 0 }] })),
      ],
    };
    expect(spec.actors.length).toBeLessThanOrEqual(MAX_ACTORS);
    const { world } = buildScenario(spec, interval);
    runToEnd(world, 'kswapd');
    for (let i = 0; i < readers - 1; i++) runUntil(world, `r${i}`, 'do_swap_page:ptLock');
    // Every frame is allocated: the last reader finds none (VM_FAULT_OOM: its access fails).
    for (let pfn = 1; pfn <= pageFrames(MAX_PAGES); pfn++) expect(world.obj(PAGE, pfn).free, `pfn ${pfn}`).toBe(0);
    const oom = runToEnd(world, `r${readers - 1}`);
    expect(oom.find((s) => s.where === 'cpu_access:faulted')?.outcome).toBe('return'); // -EFAULT, no retry
    for (let i = readers - 2; i >= 0; i--) runToEnd(world, `r${i}`);
    runToEnd(world, 'exit'); // zaps every frame still mapped: all within the mmu_gather's pfns
    expect(pte(world, 0, 0).present).toBe(0);
  });
});

describe('page and pages of an operation', () => {
  it(`page: ${MAX_PAGES - 1} and a range of ${MAX_PAGES} pages build and run`, () => {
    buildsAndRuns(base({ pages: MAX_PAGES, actors: [{ name: 'a', ops: [{ op: 'migrate', page: MAX_PAGES - 1 }, ...rangeOps('source', MAX_PAGES)] }] }));
  });

  it(`page: ${MAX_PAGES}, pages: ${MAX_PAGES + 1} and pages: 0 are refused`, () => {
    const one = (op: Doc) => base({ pages: MAX_PAGES, actors: [{ name: 'a', ops: [op] }] });
    expect(errorOf(one({ op: 'reclaim', page: MAX_PAGES }))).toBe(
      `bound.yaml:8:15: actors[0].ops[0].page: ${MAX_PAGES} is out of range; expected a page index 0..${MAX_PAGES - 1} (pages: ${MAX_PAGES})`,
    );
    expect(errorOf(one({ op: 'munmap', mm: 'source', page: 0, pages: MAX_PAGES + 1 }))).toBe(
      `bound.yaml:10:16: actors[0].ops[0].pages: ${MAX_PAGES + 1} is out of range; expected an integer 1..${MAX_PAGES}`,
    );
    expect(errorOf(one({ op: 'munmap', mm: 'source', page: 1, pages: MAX_PAGES }))).toBe(
      `bound.yaml:10:16: actors[0].ops[0].pages: ${MAX_PAGES} pages from page 1 run past the last page; expected at most ${MAX_PAGES - 1} (pages: ${MAX_PAGES})`,
    );
    expect(errorOf(one({ op: 'munmap', mm: 'source', page: 0, pages: 0 }))).toBe(`bound.yaml:10:16: actors[0].ops[0].pages: 0 is out of range; expected an integer 1..${MAX_PAGES}`);
  });
});

describe('actors and operations per actor', () => {
  const actor = (i: number, ops: number) => ({
    name: `a${i}`,
    ops: Array.from(
      { length: ops },
      (_, k) =>
        [
          { op: 'access', mm: 'introspector', page: 0 },
          { op: 'reclaim', page: 0 },
          { op: 'access', mm: 'source', page: 0, write: true },
        ][k % 3],
    ),
  });

  it(`${MAX_ACTORS} actors of ${MAX_OPS} operations build and run`, () => {
    buildsAndRuns(base({ actors: Array.from({ length: MAX_ACTORS }, (_, i) => actor(i, MAX_OPS)) }));
  });

  it(`${MAX_ACTORS + 1} actors, and an actor of ${MAX_OPS + 1} operations, are refused`, () => {
    expect(errorOf(base({ actors: Array.from({ length: MAX_ACTORS + 1 }, (_, i) => actor(i, 1)) }))).toBe(`bound.yaml:5:3: actors: found ${MAX_ACTORS + 1} actors; expected at most ${MAX_ACTORS}`);
    expect(errorOf(base({ actors: [actor(0, MAX_OPS + 1)] }))).toBe(`bound.yaml:7:7: actors[0].ops: found ${MAX_OPS + 1} operations; expected at most ${MAX_OPS}`);
  });
});

describe('values written', () => {
  it('the int32 extremes build and run', () => {
    buildsAndRuns(
      base({
        sourceKvm: true,
        actors: [
          { name: 'a', ops: [{ op: 'access', mm: 'source', page: 0, write: true, value: 2147483647 }] },
          { name: 'b', ops: [{ op: 'guest-access', vm: 'source', page: 0, write: true, value: -2147483648 }] },
        ],
      }),
    );
  });

  it('one past them is refused', () => {
    const one = (value: number) => base({ actors: [{ name: 'a', ops: [{ op: 'access', mm: 'source', page: 0, write: true, value }] }] });
    expect(errorOf(one(2147483648))).toBe('bound.yaml:11:16: actors[0].ops[0].value: 2147483648 is out of range; expected an integer -2147483648..2147483647');
    expect(errorOf(one(-2147483649))).toBe('bound.yaml:11:16: actors[0].ops[0].value: -2147483649 is out of range; expected an integer -2147483648..2147483647');
  });
});

describe('call depth', () => {
  const nested: ScenarioSpec = {
    name: 'deepest',
    description: '',
    pages: 1,
    introspectorKvm: true,
    actors: [
      { name: 'nested', ops: [{ op: 'guest-access', vm: 'introspector', page: 0, write: true, value: 3 }] },
      { name: 'source', ops: [{ op: 'exit', mm: 'source' }] },
    ],
  };

  it("a scenario with a guest of the introspector's KVM gets 4 more frames per actor; the others keep 18", () => {
    expect(buildScenario(nested, interval).world.layout.stackDepth).toBe(22);
    expect(buildScenario({ ...nested, actors: [{ name: 'intro', ops: [{ op: 'access', mm: 'introspector', page: 0 }] }, nested.actors[1]] }, interval).world.layout.stackDepth).toBe(18);
  });

  it("the deepest path (18 frames since the fault path has one routine per C function: the nested guest's mirror fault drops the exited source's last user and runs exit_mmap, whose invalidation comes back to the introspector's KVM) runs to the end", () => {
    const { world } = buildScenario(nested, interval);
    runUntil(world, 'nested', 'mirror_fault:begin'); // mmget_not_zero(source) done
    runToEnd(world, 'source'); // exits, but the mirror's reference keeps the mm
    let deepest = 0;
    const where: string[] = [];
    while (whereIs(world, 0) !== 'done') {
      execStep(world, 0);
      if (world.actorSp(0) > deepest) {
        deepest = world.actorSp(0);
        where.push(whereIs(world, 0));
      }
    }
    expect(deepest).toBe(18);
    expect(deepest).toBeLessThanOrEqual(world.layout.stackDepth - 2); // spare frames: the fuzz test's random paths may go deeper
    expect(where.at(-1)).toMatch(/^kvm_mmu_notifier_invalidate_range_start:/);
  });
});
