/**
 * Expected outcomes in scenario files (`outcome`, `outcomes`, `exercises`; src/scenario/outcome.ts,
 * src/check/outcome.ts), in-process: a final state that is not an allowed outcome is an `outcome`
 * violation whose schedule replays to it, every allowed outcome of a racing case must be reached,
 * the exercised routines must run every label, observations at a named point see that point and
 * not the end, and the new keys are validated hostilely (file, line, key path). The real binary
 * runs the fidelity suite itself: test/fidelity/fidelity.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { parseScenario, ScenarioError } from '../../src/scenario/load.js';
import { checkOne } from '../../src/check/run.js';
import { interval } from '../../src/mirror/interval.js';
import { judgeSchedule } from '../../src/engine/replay.js';
import { decodeSchedule } from '../../src/engine/schedule.js';
import { buildScenario } from '../../src/scenario/build.js';
import { PROPERTIES } from '../../src/check/properties.js';
import { outcomeCheck } from '../../src/check/outcome.js';
import type { ScenarioSpec } from '../../src/scenario/spec.js';
import { judgeCell } from '../../src/check/expect.js';
import { resolveDesigns } from '../../src/scenario/expect.js';

/** One vCPU writes its page twice while the host write-protects it: three places for the mprotect (K01). */
const RACE = [
  'name: ro-race',
  'description: d',
  'pages: 1',
  'sourceKvm: true',
  'actors:',
  '  - name: vcpu',
  '    ops:',
  '      - { op: guest-access, vm: source, page: 0, write: true, value: 1 }',
  '      - { op: guest-access, vm: source, page: 0, write: true, value: 2 }',
  '  - name: host',
  '    ops: [{ op: mprotect-readonly, mm: source, page: 0 }]',
  'variants: [interval]',
];
const alt = (name: string, first: number, second: number, value: number) => [
  `  - name: ${name}`,
  '    observe:',
  `      - { result: { actor: vcpu, op: 0 }, value: ${first} }`,
  `      - { result: { actor: vcpu, op: 1 }, value: ${second} }`,
  `      - { pte: { mm: source, page: 0 }, writable: false, value: ${value} }`,
];
const BEFORE = alt('before', -14, -14, 0x100);
const BETWEEN = alt('between', 1, -14, 1);
const AFTER = alt('after', 1, 2, 2);

function spec(lines: readonly string[]): ScenarioSpec {
  return parseScenario(lines.join('\n'), 'case.yaml', 'yaml').spec;
}

function problems(lines: readonly string[]): string[] {
  try {
    parseScenario(lines.join('\n'), 'case.yaml', 'yaml');
  } catch (e) {
    if (e instanceof ScenarioError) return e.message.split('\n');
    throw e;
  }
  return [];
}

describe('outcomes over every interleaving', () => {
  it('holds when every final state is an allowed outcome and each is reached', () => {
    const r = checkOne(spec([...RACE, 'outcomes:', ...BEFORE, ...BETWEEN, ...AFTER]), interval);
    expect(r.verdict).toBe('holds');
  });

  it('a final state no outcome allows is an outcome violation whose schedule replays to it', () => {
    const s = spec([...RACE, 'outcomes:', ...BEFORE, ...AFTER]);
    const r = checkOne(s, interval, { shrink: true });
    expect(r.verdict).toBe('violation');
    expect(r.violation!.property).toBe('outcome');
    expect(r.violation!.message).toBe('matches none of the 2 allowed outcomes (before: result of vcpu ops[0]: is 1, expected -14 (-0xe); after: result of vcpu ops[1]: is -14 (-0xe), expected 2)');
    // The reported schedule reaches that state: replayed with the same check, it ends in the same violation.
    const w = buildScenario(s, interval).world;
    const found = judgeSchedule(w, decodeSchedule(r.schedule!).choices, { properties: [...PROPERTIES, outcomeCheck().property] });
    expect(found).toEqual({ property: 'outcome', message: r.violation!.message });
  });

  it('an allowed outcome no interleaving reaches fails the check, though every final state is allowed', () => {
    const r = checkOne(spec([...RACE, 'outcomes:', ...BEFORE, ...BETWEEN, ...AFTER, ...alt('never', 2, 1, 1)]), interval);
    expect(r.verdict).toBe('violation');
    expect(r.violation).toMatchObject({ property: 'outcome', message: 'never is reached by no interleaving', schedule: [] });
  });

  it('a model that fails every access does not pass: the outcomes where the writes succeed are unreached', () => {
    // No memslot: every guest access fails with -EFAULT, a final state that "before" allows.
    const failing = [...RACE.slice(0, 4), 'kvm: { memslotPages: 0 }', ...RACE.slice(4)];
    const r = checkOne(spec([...failing, 'outcomes:', ...BEFORE, ...BETWEEN, ...AFTER]), interval);
    expect(r.violation).toMatchObject({ property: 'outcome', message: 'between, after are reached by no interleaving' });
  });

  it('an exercised routine must run every label', () => {
    const held = checkOne(spec([...RACE, 'outcomes:', ...BEFORE, ...BETWEEN, ...AFTER, 'exercises: [do_mprotect_pkey]']), interval);
    expect(held.verdict).toBe('holds');
    const r = checkOne(spec([...RACE, 'outcomes:', ...BEFORE, ...BETWEEN, ...AFTER, 'exercises: [mmu_notifier_invalidate_range_start, oom_reap_task_mm]']), interval);
    expect(r.violation?.property).toBe('outcome');
    expect(r.violation?.message).toMatch(/^routine mmu_notifier_invalidate_range_start has labels no interleaving ran: .*undo.*; routine oom_reap_task_mm never ran$/);
  });

  it('an observation after an operation sees that point, not the end', () => {
    const lines = [
      'name: seq',
      'description: d',
      'pages: 1',
      'actors:',
      '  - name: cpu',
      '    ops:',
      '      - { op: access, mm: source, page: 0, write: true, value: 7 }',
      '      - { op: madvise-dontneed, mm: source, page: 0 }',
      'variants: [interval]',
    ];
    const at = (present: boolean, after = '') => [...lines, 'outcome:', `  - { pte: { mm: source, page: 0 }, ${after}present: ${present}, value: 7 }`];
    expect(checkOne(spec(at(true, 'after: { actor: cpu, op: 0 }, ')), interval).verdict).toBe('holds');
    const end = checkOne(spec(at(true)), interval);
    expect(end.violation?.message).toBe('not the expected outcome: pte source@0: maps nothing, expected a page');
    const r = checkOne(spec([...lines, 'outcome:', '  - { pte: { mm: source, page: 0 }, after: { actor: cpu, op: 0 }, value: 8, refcount: 1 }']), interval);
    expect(r.violation?.message).toBe('not the expected outcome: pte source@0 after cpu ops[0]: value is 7, expected 8');
    const gone = checkOne(spec([...lines, 'outcome:', '  - { pte: { mm: source, page: 0 }, after: { actor: cpu, op: 1 }, value: 7 }']), interval);
    expect(gone.violation?.message).toBe('not the expected outcome: pte source@0 after cpu ops[1]: maps nothing, expected value 7');
  });

  it('an expect entry may name outcome as the verdict a design gives', () => {
    const r = checkOne(spec([...RACE, 'outcomes:', ...BEFORE, ...AFTER]), interval);
    const e = { scenario: 'ro-race', variant: 'interval', source: 'case.yaml:1: expect[0]' };
    expect(judgeCell({ ...e, verdict: 'outcome', message: 'matches none of the 2 allowed outcomes' }, r, undefined).status).toBe('met');
    expect(judgeCell({ ...e, verdict: 'holds' }, r, undefined)).toMatchObject({ status: 'failed', note: expect.stringMatching(/^expected holds, found outcome: matches none/) });
  });

  it('a device table left unnamed is the design table, and a design without one says so', () => {
    const r = checkOne(spec([...RACE, 'outcome:', '  - { table: { page: 0 }, present: false }']), interval);
    expect(r.violation?.message).toBe('not the expected outcome: table[0]: design interval has no device table (its tables: none)');
  });

  it('a subject the design lacks is named in the violation', () => {
    const r = checkOne(spec([...RACE, 'outcome:', '  - { counter: { struct: dmirror, field: cpages }, value: 1 }']), interval);
    expect(r.violation?.message).toBe('not the expected outcome: counter dmirror.cpages[0]: design interval has no driver struct "dmirror"');
  });

  it('leaves the states of a scenario without observations at points as they were', () => {
    const plain = checkOne(spec(RACE), interval);
    const end = checkOne(spec([...RACE, 'outcome:', '  - { pte: { mm: source, page: 0 }, writable: false }']), interval);
    expect(end.states).toBe(plain.states);
  });
});

describe('outcome keys are validated', () => {
  const base = ['name: bad', 'description: x', 'pages: 1', 'actors:', '  - name: a', '    ops: [{ op: access, mm: source, page: 0 }]'];
  it('names file, line, column and key path, one problem a line', () => {
    expect(
      problems([
        ...base,
        'outcome:',
        '  - { result: { actor: b, op: 0 }, value: 1 }',
        '  - { result: { actor: a, op: 3 }, value: 1, present: true }',
        '  - { pte: { mm: source, page: 2 } }',
        '  - { pte: { mm: source, page: 0 }, present: true, ept: { vm: source, page: 0 } }',
        '  - { ept: { vm: source, page: 0 }, present: true, samePage: { mm: source, vm: source, page: 0 } }',
        '  - { result: { actor: a, op: 0 }, after: { actor: a, op: 0 }, value: 1 }',
        '  - { counter: { struct: dmirror, field: cpages } }',
      ]),
    ).toEqual([
      'case.yaml:8:24: outcome[0].result.actor: "b" is not an actor of this scenario; expected one of a',
      'case.yaml:9:31: outcome[1].result.op: 3 is out of range; actor a has operations 0..0',
      'case.yaml:9:46: outcome[1].present: not asserted of a return value; expected value',
      'case.yaml:10:5: outcome[2]: nothing asserted of the pte; expected some of present, writable, samePage, otherPage, value, refcount, mapcount, dirty, young',
      'case.yaml:10:32: outcome[2].pte.page: 2 is out of range; expected a page index 0..0 (pages: 1)',
      'case.yaml:11:5: outcome[3]: found pte and ept; expected exactly one of pte, ept, table, result, counter',
      'case.yaml:12:18: outcome[4].ept.vm: the source KVM, which the scenario does not have; expected sourceKvm: true',
      'case.yaml:12:62: outcome[4].samePage: expected exactly one of mm, vm and table (the entry to compare with), found mm and vm',
      'case.yaml:13:36: outcome[5].after: a result is taken when its operation returns; expected no after',
      'case.yaml:14:5: outcome[6]: a counter with nothing asserted; expected value',
    ]);
  });

  it('refuses both outcome and outcomes, a repeated outcome name and an unknown key', () => {
    const obs = '  - { pte: { mm: source, page: 0 }, present: true }';
    expect(problems([...base, 'outcome:', obs, 'outcomes:', '  - { name: x, observe: [{ pte: { mm: source, page: 0 }, present: true }] }'])).toEqual([
      'case.yaml:9:1: outcomes: found both "outcome" and "outcomes"; expected one of them',
    ]);
    expect(problems([...base, 'outcomes:', '  - { name: x, observe: [{ result: { actor: a, op: 0 }, value: 1 }] }', '  - { name: x, observe: [{ result: { actor: a, op: 0 }, value: 2 }] }'])).toEqual([
      'case.yaml:9:13: outcomes[1].name: "x" is already the name of outcomes[0]; expected a unique name',
    ]);
    expect(problems([...base, 'outcome:', '  - { pte: { mm: source, page: 0 }, presnt: true }'])).toEqual([
      'case.yaml:8:37: outcome[0].presnt: unknown field; expected one of pte, ept, table, result, counter, after, present, writable, samePage, otherPage, value, refcount, mapcount, dirty, young',
    ]);
  });

  it('an exercised routine must be one of the model the scenario runs', () => {
    const loaded = parseScenario([...base, 'variants: [interval]', 'exercises: [cpu_access, no_such_routine]'].join('\n'), 'case.yaml', 'yaml');
    expect(() => resolveDesigns(loaded, () => interval)).toThrow(
      'case.yaml:8:25: exercises[1]: no routine "no_such_routine" in the model of the designs this scenario runs (the kernel, KVM, the workload and the designs\' own routines)',
    );
  });
});

describe('what a failed observation says (one observation a case, the first that fails is the message)', () => {
  const base = ['name: obs', 'description: d', 'pages: 1', 'actors:', '  - name: cpu', '    ops: [{ op: access, mm: source, page: 0 }]', 'variants: [interval]', 'outcome:'];
  for (const [observation, message] of [
    ['{ pte: { mm: introspector, page: 0 }, present: true }', 'pte introspector@0: maps nothing, expected a page'],
    ['{ pte: { mm: introspector, page: 0 }, writable: true }', 'pte introspector@0: maps nothing, expected a page'],
    ['{ pte: { mm: introspector, page: 0 }, value: 5 }', 'pte introspector@0: maps nothing, expected value 5'],
    ['{ pte: { mm: introspector, page: 0 }, samePage: { mm: source, page: 0 } }', 'pte introspector@0: maps nothing, expected the page pte source@0 maps'],
    ['{ pte: { mm: source, page: 0 }, present: false }', 'pte source@0: maps pfn 1, expected nothing'],
    ['{ pte: { mm: source, page: 0 }, writable: false }', 'pte source@0: is writable, expected read-only'],
    ['{ pte: { mm: source, page: 0 }, otherPage: { mm: source, page: 0 } }', 'pte source@0: maps pfn 1, the page pte source@0 maps too; expected another'],
    ['{ pte: { mm: source, page: 0 }, samePage: { mm: introspector, page: 0 } }', 'pte source@0: maps pfn 1, but pte introspector@0 maps nothing'],
    ['{ pte: { mm: source, page: 0 }, value: 999 }', 'pte source@0: value is 256 (0x100), expected 999 (0x3e7)'],
    ['{ pte: { mm: source, page: 0 }, samePage: { table: nope, page: 0 } }', 'pte source@0: design interval has no device table "nope" (its tables: none)'],
    ['{ table: { page: 0 }, present: true }', 'table[0]: design interval has no device table (its tables: none)'],
    ['{ result: { actor: cpu, op: 0 }, value: 7 }', 'result of cpu ops[0]: is 256 (0x100), expected 7'],
  ] as const) {
    it(`${observation} → ${message}`, () => {
      const r = checkOne(spec([...base, `  - ${observation}`]), interval);
      expect([r.verdict, r.violation?.property, r.violation?.message]).toEqual(['violation', 'outcome', `not the expected outcome: ${message}`]);
    });
  }
});

describe('a named point on an any adversary', () => {
  it('is a loader error at its actor: the operations of any have no fixed index', () => {
    const lines = [
      'name: p',
      'description: d',
      'pages: 1',
      'actors:',
      '  - name: cpu',
      '    ops: [{ op: access, mm: source, page: 0 }]',
      '  - name: adv',
      '    any: { ops: 1, pages: 1 }',
      'outcome:',
      '  - { pte: { mm: source, page: 0 }, present: true, after: { actor: adv, op: 0 } }',
    ];
    expect(problems(lines)).toEqual(['case.yaml:10:68: outcome[0].after.actor: actor adv is an "any" adversary, whose operations have no fixed index; expected an actor with "ops"']);
  });
});
