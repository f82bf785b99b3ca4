/**
 * The bounded "any operation" adversary (issue 11 item 6): an actor written `any: { ops: k,
 * pages: n, of: [...] }` runs any sequence of at most k core-mm operations over pages 0..n-1, as
 * one nondeterministic program whose every choice the search explores (src/scenario/workload.ts
 * any_workload). It finds what the catalogue's hand-picked adversaries find without being told
 * which operation, the corrected design holds against it, its counterexamples replay, and bad
 * bounds are refused one problem a line.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CATALOGUE } from '../../src/scenario/catalogue.js';
import { VARIANTS, variantByName } from '../../src/mirror/variants.js';
import { checkOne } from '../../src/check/run.js';
import { cellCost } from '../../src/check/costs.js';
import { ANY_OP_NAMES, anyOperations, operationNamed } from '../../src/scenario/operations.js';
import { parseScenario, ScenarioError } from '../../src/scenario/load.js';
import { buildScenario } from '../../src/scenario/build.js';
import { judgeSchedule } from '../../src/engine/replay.js';
import { decodeSchedule } from '../../src/engine/schedule.js';
import { propertiesOf } from '../../src/check/properties.js';
import type { ScenarioSpec } from '../../src/scenario/spec.js';
import { vmamirror } from '../helpers/cli.js';

/** A catalogue actor the `any` adversary can stand for: it runs only operations `any` chooses from. */
const standsFor = (ops: ScenarioSpec['actors'][number]['ops']) => ops.every((op) => ANY_OP_NAMES.includes(op.op));

/** `spec` with each such actor replaced by an `any` adversary of as many operations over every page. */
function withAny(spec: ScenarioSpec): ScenarioSpec {
  return { ...spec, name: `${spec.name}-any`, actors: spec.actors.map((a) => (standsFor(a.ops) ? { name: a.name, ops: [], any: { ops: a.ops.length, pages: spec.pages } } : a)) };
}

/** Catalogue cells whose adversary `any` can stand for, cheap enough to search here. */
const CELLS = CATALOGUE.filter((s) => s.actors.some((a) => standsFor(a.ops))).flatMap((s) => VARIANTS.filter((v) => cellCost(`${s.name}/${v.name}`) <= 10_000).map((v) => ({ s, v })));

const message = (text: string): string => {
  try {
    parseScenario(text, 'any.yaml', 'yaml');
  } catch (e) {
    expect(e).toBeInstanceOf(ScenarioError);
    return (e as Error).message;
  }
  throw new Error('expected a ScenarioError');
};

const FILE = (actor: string, pages = 1) => `name: any-bounds\ndescription: x\npages: ${pages}\nactors:\n  - name: intro\n    ops:\n      - { op: access, mm: introspector, page: 0 }\n${actor}`;

describe('the any adversary', () => {
  it('chooses among the core-mm operations of the table, every field filled in over its pages', () => {
    expect(ANY_OP_NAMES.length).toBeGreaterThan(0);
    for (const name of ANY_OP_NAMES) expect(operationNamed(name)!.accessesMemory).toBeFalsy();
    // munmap over 2 pages: 2 mms × ([0,1), [0,2), [1,2)); reclaim: one per page.
    expect(anyOperations({ ops: 1, pages: 2, of: ['munmap'] })).toEqual([
      { op: 'munmap', mm: 'source', page: 0 },
      { op: 'munmap', mm: 'source', page: 0, pages: 2 },
      { op: 'munmap', mm: 'source', page: 1 },
      { op: 'munmap', mm: 'introspector', page: 0 },
      { op: 'munmap', mm: 'introspector', page: 0, pages: 2 },
      { op: 'munmap', mm: 'introspector', page: 1 },
    ]);
    expect(anyOperations({ ops: 1, pages: 2, of: ['reclaim'] })).toEqual([
      { op: 'reclaim', page: 0 },
      { op: 'reclaim', page: 1 },
    ]);
  });

  it("catches every broken design the catalogue catches, without being told the adversary's operation", () => {
    const caught = CELLS.filter(({ s, v }) => checkOne(s, v).verdict === 'violation');
    expect(caught.length).toBeGreaterThan(0);
    for (const { s, v } of caught) {
      const r = checkOne(withAny(s), v);
      expect(r.verdict, `${s.name}/${v.name} with an any adversary`).toBe('violation');
      // Its counterexample replays to the same violation, the adversary's choices included.
      const w = buildScenario(withAny(s), v).world;
      w.audit = true;
      expect(judgeSchedule(w, decodeSchedule(r.schedule!).choices, { properties: propertiesOf(v) })?.property).toBe(r.violation!.property);
    }
  });

  it('the corrected design holds against any one core-mm operation on the page the introspector reads, and the search explores more than the hand-picked one', () => {
    const spec = CATALOGUE.find((s) => s.name === 'munmap')!;
    const interval = variantByName('interval')!;
    const picked = checkOne(spec, interval);
    const any = checkOne(withAny(spec), interval);
    expect(picked.verdict).toBe('holds');
    expect(any.verdict).toBe('holds');
    expect(any.states).toBeGreaterThan(picked.states);
    // …and stopping early, or a list narrowed to the catalogue's operation, explores no more than that.
    const narrowed = checkOne({ ...spec, actors: spec.actors.map((a) => (a.name === 'source' ? { name: a.name, ops: [], any: { ops: 1, pages: 1, of: ['munmap'] } } : a)) }, interval);
    expect(narrowed.verdict).toBe('holds');
    expect(narrowed.states).toBeLessThan(any.states);
  });

  it('an mm exits at most once, and nothing acts on it after: two exits are never chosen', () => {
    const spec: ScenarioSpec = { name: 'exits', description: '', pages: 1, actors: [{ name: 'adv', ops: [], any: { ops: 3, pages: 1, of: ['exit', 'oom-reap', 'munmap'] } }] };
    // Two exits of one mm (or a reap after its exit) would be a kernel BUG (mmput of an mm with no users).
    for (const v of [variantByName('interval')!]) expect(checkOne(spec, v).verdict).toBe('holds');
  });

  it("never exits a process another actor runs a thread of, nor acts on one another actor exits (the loader's exit rule)", () => {
    // Found by a helper: an adversary of two operations exited the introspector while the
    // introspector's own thread faulted on the mirror, and the corrected design "failed"
    // no-dangling-pfn in a state the kernel cannot reach (exit_mmap runs after the last thread).
    const spec: ScenarioSpec = {
      name: 'any-two',
      description: '',
      pages: 1,
      actors: [
        { name: 'intro', ops: [{ op: 'access', mm: 'introspector', page: 0 }] },
        { name: 'adv', ops: [], any: { ops: 2, pages: 1 } },
      ],
    };
    expect(checkOne(spec, variantByName('interval')!).verdict).toBe('holds');
    // The source (no thread of it here) may still exit, and its exit is still caught on a broken design.
    const exitsSource: ScenarioSpec = { ...spec, actors: [spec.actors[0], { name: 'adv', ops: [], any: { ops: 1, pages: 1, of: ['exit'] } }] };
    expect(checkOne(exitsSource, variantByName('start-only')!).violation?.property).toBe('refinement');
    // Beside an exit of the source in another actor, no operation of the source is chosen.
    const afterExit: ScenarioSpec = {
      ...spec,
      actors: [
        { name: 'ender', ops: [{ op: 'exit', mm: 'source' }] },
        { name: 'adv', ops: [], any: { ops: 1, pages: 1, of: ['munmap'] } },
      ],
    };
    const built = buildScenario(afterExit, variantByName('interval')!).world.layout.statics.any as ({ choices: { mm: number }[] } | undefined)[];
    expect(built[1]!.choices.map((c) => c.mm)).toEqual([1]);
  });

  it('bad bounds are refused, one problem a line, naming where', () => {
    expect(message(FILE('  - name: adv\n    any: { ops: 0, pages: 5, of: [access, munmap, munmap], what: 1 }\n'))).toBe(
      [
        'any.yaml:9:17: actors[1].any.ops: 0 is out of range; expected an integer 1..8',
        'any.yaml:9:27: actors[1].any.pages: 5 is out of range; expected an integer 1..4',
        `any.yaml:9:35: actors[1].any.of[0]: found "access"; expected one of ${ANY_OP_NAMES.join(', ')}`,
        'any.yaml:9:51: actors[1].any.of[2]: "munmap" is listed twice (also actors[1].any.of[1]); expected each item once',
        'any.yaml:9:60: actors[1].any.what: unknown field; expected one of ops, pages, of',
      ].join('\n'),
    );
    expect(message(FILE('  - name: adv\n    any: { pages: 1, of: [] }\n'))).toBe(
      ['any.yaml:9:10: actors[1].any: missing required field "ops"', 'any.yaml:9:26: actors[1].any.of: found an empty list; expected at least 1 item'].join('\n'),
    );
    expect(message(FILE('  - name: adv\n    any: { ops: 2, pages: 2 }\n'))).toBe("any.yaml:9:27: actors[1].any.pages: 2 is more than the scenario's pages; expected at most 1 (pages: 1)");
    expect(message(FILE('  - name: adv\n'))).toBe('any.yaml:8:5: actors[1]: missing required field "ops" (or "any": any sequence of operations, e.g. any: { ops: 2, pages: 1 })');
    expect(message(FILE('  - name: adv\n    ops:\n      - { op: reclaim, page: 0 }\n    any: { ops: 1, pages: 1 }\n'))).toBe(
      'any.yaml:11:5: actors[1].any: found both "ops" and "any"; expected one of them (a list of operations, or any sequence of them)',
    );
  });

  it('loads from a file and runs through the real binary: found, listed and replayed', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vmamirror-any-'));
    const file = join(dir, 'any-munmap.yaml');
    writeFileSync(file, FILE('  - name: adversary\n    any: { ops: 1, pages: 1 }\nvariants: [interval, seed-2019-literal]\n'));
    const r = vmamirror(['check', file, '--json']);
    expect(r.stderr).toBe('');
    const cells = JSON.parse(r.stdout) as { variant: string; verdict: string; schedule?: string; violation?: { property: string } }[];
    const expected = ['interval', 'seed-2019-literal'].map((name) => {
      const loaded = parseScenario(FILE('  - name: adversary\n    any: { ops: 1, pages: 1 }\n'), 'x.yaml', 'yaml');
      return [name, checkOne({ ...loaded.spec, name: 'any-bounds' }, variantByName(name)!).verdict];
    });
    expect(cells.map((c) => [c.variant, c.verdict])).toEqual(expected);
    const broken = cells.find((c) => c.verdict === 'violation');
    expect(broken?.schedule).toMatch(/^any-bounds\/seed-2019-literal:.*1c\d+/);
    const replay = vmamirror(['replay', broken!.schedule!, '--file', file]);
    expect(replay.stdout).toContain('adversary  any of at most 1 operation over pages 0..0');
    expect(replay.stdout).toMatch(/any_workload:next .*\[alternative \d+ of \d+\]/);
    expect(replay.stdout).toContain(broken!.violation!.property === 'kernel-bug' ? 'KERNEL BUG' : `VIOLATED ${broken!.violation!.property}`);
  });
});
