/**
 * Scenario files that state what the check must find (`expect`), in-process with the built-in
 * designs (the drivers that files name are loaded only by the binary: test/examples/races.test.ts):
 * each checked cell is judged as expected / UNEXPECTED / undecided with the exit code of the
 * table's expectations, a pattern is matched in order against the reported trace, and the new keys
 * are validated hostilely — exit 2, one line a problem naming file, line and key path.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { captureOutput } from '../helpers/capture.js';
import { patternMismatch, type PatternStep } from '../../src/check/expect.js';
import type { Trace } from '../../src/report/trace.js';
import { clearScenarioFiles, preloadScenarioFiles, scenarioFile } from '../../src/cli/scenario-files.js';
import { DriverError } from '../../src/driver/define.js';
import { interval } from '../../src/mirror/interval.js';
import type { MirrorVariant } from '../../src/mirror/device.js';

const io = captureOutput();
const dir = mkdtempSync(join(tmpdir(), 'vmamirror-expect-'));

/** Read vs reclaim: R2, the ABA of the seed-2019-fixed design, and the corrected design holding. */
const BASE = [
  'name: aba',
  'description: d',
  'pages: 1',
  'actors:',
  '  - name: intro',
  '    ops: [{ op: access, mm: introspector, page: 0 }]',
  '  - name: kswapd',
  '    ops: [{ op: reclaim, page: 0 }]',
];
const ABA = ['intro:hmm_range_fault_v53:walk', 'kswapd:hmm_invalidate_range_start:mark', 'kswapd:try_to_unmap:unmap', 'hmm_invalidate_range_end', 'intro:kvm_mirror_page_fault_fixed:insert'];
const expectations = (pattern = ABA, holds = 'holds') => [
  'expect:',
  `  - { variant: seed-2019-fixed, verdict: refinement, message: maps nothing, pattern: [${pattern.join(', ')}] }`,
  `  - { variant: interval, verdict: ${holds} }`,
];

/** Writes BASE + `lines` to a file of the test folder; runs `check FILE args` in-process. */
function check(name: string, lines: string[], args: string[] = []): { code: number; out: string; err: string } {
  const f = join(dir, `${name.replace(/\W+/g, '-')}.yaml`);
  writeFileSync(f, [...BASE, ...lines].join('\n'));
  const code = main(['check', f, ...args]);
  const clean = (s: string) => s.replaceAll(f, 'FILE');
  return { code, out: clean(io.out.join('\n')), err: clean(io.err.join('')) };
}

describe('expectations judged', () => {
  it('met: each cell says so after the results, exit 0', () => {
    const r = check('met', expectations());
    expect(r.code).toBe(0);
    expect(r.out).toMatch(
      /\nas expected: aba\/interval \(FILE:11: expect\[1\]\): holds\nas expected: aba\/seed-2019-fixed \(FILE:10: expect\[0\]\): refinement, the trace follows the pattern \(5 steps\)$/,
    );
  });

  it('a violation expected is not a failure of the run, one expected to hold is: exit 1', () => {
    const r = check('unmet', expectations(ABA, 'no-dangling-pfn'));
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^UNEXPECTED: aba\/interval \(FILE:11: expect\[1\]\): expected no-dangling-pfn, found holds$/m);
  });

  it('a pattern the trace does not follow names its first element missing', () => {
    const r = check('pattern', expectations([ABA[0], ABA[2], ABA[1]]));
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/does not follow the pattern: pattern\[2\] "kswapd:hmm_invalidate_range_start:mark" is not in the trace after step \d+ \(kswapd try_to_unmap:unmap\)$/m);
  });

  it('a cell that did not finish is undecided: exit 3', () => {
    const r = check('undecided', expectations(), ['--max-states', '10']);
    expect(r.code).toBe(3);
    expect(r.out).toMatch(/^undecided: aba\/interval \(FILE:11: expect\[1\]\): expected holds; the check did not finish \(max-states\)$/m);
  });

  it('--json carries the judgement in each judged cell', () => {
    const r = check('json', expectations(), ['--json']);
    expect(r.code).toBe(0);
    const cells = JSON.parse(r.out) as { variant: string; expected: { status: string; source: string; note: string } }[];
    expect(cells.map((c) => [c.variant, c.expected.status, c.expected.source])).toEqual([
      ['interval', 'as expected', 'FILE:11: expect[1]'],
      ['seed-2019-fixed', 'as expected', 'FILE:10: expect[0]'],
    ]);
  });

  it('the designs it names are the ones it runs; a file naming none runs every built-in one', () => {
    expect(check('named', expectations(), ['--variant', 'interval']).out.match(/^aba\//gm)).toHaveLength(1);
    const all = check('none', [], ['--max-states', '1']);
    expect(all.out.match(/^aba\/\S+: incomplete/gm)).toHaveLength(6);
  });

  it('--simulate judges a violation it finds, and calls "no violation found" undecided: exit 3', () => {
    const r = check('simulate', expectations(), ['--simulate', 'pct', '--runs', '3000']);
    expect(r.out).toMatch(/^as expected: aba\/seed-2019-fixed \(FILE:10: expect\[0\]\): refinement, the trace follows the pattern \(5 steps\)$/m);
    expect(r.out).toMatch(/^undecided: aba\/interval \(FILE:11: expect\[1\]\): expected holds; no violation found in 3000 runs, which proves nothing \(an exhaustive check decides\)$/m);
    expect(r.code).toBe(3);
    // A violation found that is not the one expected fails the run.
    const wrong = check('simulate-wrong', expectations([ABA[0], ABA[2], ABA[1]]), ['--simulate', 'pct', '--runs', '3000']);
    expect(wrong.out).toMatch(/^UNEXPECTED: aba\/seed-2019-fixed .*does not follow the pattern/m);
    expect(wrong.code).toBe(1);
  });
});

describe('patternMismatch', () => {
  const step = (actor: string, where: string, outcome = 'goto') => ({ actor, where, outcome }) as Trace['steps'][number];
  const trace = { steps: [step('a', 'f:x'), step('b', 'g:y', 'sleep'), step('b', 'g:y'), step('a', 'f:z')] } as unknown as Trace;
  const p = (text: string, actor?: string, label?: string): PatternStep => ({ text, routine: text.split(':').at(actor ? 1 : 0)!, ...(actor && { actor }), ...(label && { label }) });

  it('matches in order, skipping steps between, and never a blocked attempt', () => {
    expect(patternMismatch([p('f'), p('b:g', 'b'), p('f')], trace)).toBeUndefined();
    expect(patternMismatch([p('a:f:x', 'a', 'x'), p('a:f:z', 'a', 'z')], trace)).toBeUndefined();
  });

  it('names the first element not found after the previous match', () => {
    expect(patternMismatch([p('a:f:z', 'a', 'z'), p('g')], trace)).toBe('pattern[1] "g" is not in the trace after step 3 (a f:z)');
    expect(patternMismatch([p('h')], trace)).toBe('pattern[0] "h" is not in the trace');
  });
});

describe('hostile expect keys: exit 2, one line a problem, file:line:column: key path', () => {
  const cases: [string, string[], RegExp][] = [
    [
      'unknown key',
      ['expect:', '  - { variant: interval, verdict: holds, colour: red }'],
      /^vmamirror: FILE:10:42: expect\[0\]\.colour: unknown field; expected one of driver, era, variant, verdict, message, pattern\n$/,
    ],
    [
      'bad verdict',
      ['expect:', '  - { variant: interval, verdict: livelock }'],
      /^vmamirror: FILE:10:35: expect\[0\]\.verdict: "livelock" is not a verdict \(holds, or the check that must fail\); expected one of holds, kernel-bug, deadlock, termination, lock-order, refinement, no-dangling-pfn, frame-accounting, notifier-balance, page-cache-coherence, /,
    ],
    ['bad variant', ['expect:', '  - { variant: nosuch, verdict: holds }'], /^vmamirror: FILE:10:16: expect\[0\]\.variant: "nosuch" is not a mirror variant; expected one of interval, /],
    ['empty message', ['expect:', '  - { variant: interval, verdict: refinement, message: "" }'], /^vmamirror: FILE:10:56: expect\[0\]\.message: found ""; expected a non-empty string\n$/],
    ['no design', ['expect:', '  - { verdict: holds }'], /^vmamirror: FILE:10:5: expect\[0\]: neither "driver" nor "variant"; expected one of them: the design this expectation is for\n$/],
    ['two designs', ['expect:', '  - { variant: interval, driver: ./x.ts, verdict: holds }'], /^vmamirror: FILE:10:5: expect\[0\]: both "driver" and "variant"; expected one of them/],
    ['holds with a message', ['expect:', '  - { variant: interval, verdict: holds, message: x }'], /^vmamirror: FILE:10:42: expect\[0\]\.message: a design that holds has no violation to word; /],
    [
      'holds with a pattern',
      ['expect:', '  - { variant: interval, verdict: holds, pattern: [mirror_fault] }'],
      /^vmamirror: FILE:10:42: expect\[0\]\.pattern: a design that holds has no violation to trace; /,
    ],
    [
      'no routine',
      ['expect:', '  - { variant: interval, verdict: refinement, pattern: [intro:mirror_fault:lock, nosuch_routine] }'],
      /^vmamirror: FILE:10:82: expect\[0\]\.pattern\[1\]: no routine "nosuch_routine" in the model of interval \(/,
    ],
    [
      'no label',
      ['expect:', '  - { variant: interval, verdict: refinement, pattern: ["mirror_fault:nolabel"] }'],
      /^vmamirror: FILE:10:57: expect\[0\]\.pattern\[0\]: routine mirror_fault has no label "nolabel"; its labels: mmget, /,
    ],
    [
      "another design's routine",
      ['expect:', '  - { variant: interval, verdict: refinement, pattern: [kvm_mirror_page_fault_fixed] }'],
      /pattern\[0\]: no routine "kvm_mirror_page_fault_fixed" in the model of interval/,
    ],
    [
      'no actor',
      ['expect:', '  - { variant: interval, verdict: refinement, pattern: ["ghost:mirror_fault:lock"] }'],
      /^vmamirror: FILE:10:57: expect\[0\]\.pattern\[0\]: "ghost" is not an actor of this scenario; expected one of intro, kswapd\n$/,
    ],
    [
      'neither routine nor actor',
      ['expect:', '  - { variant: interval, verdict: refinement, pattern: ["ghost:mirror_fault"] }'],
      /^vmamirror: FILE:10:57: expect\[0\]\.pattern\[0\]: "ghost" is neither a routine of the model of interval nor an actor of this scenario\n$/,
    ],
    [
      'too many colons',
      ['expect:', '  - { variant: interval, verdict: refinement, pattern: ["a:b:c:d"] }'],
      /pattern\[0\]: found "a:b:c:d"; expected actor:routine:label, actor:routine, routine:label or routine \(at most two colons\)\n$/,
    ],
    [
      'not a name',
      ['expect:', '  - { variant: interval, verdict: refinement, pattern: ["mirror_fault: lock"] }'],
      /pattern\[0\]: found "mirror_fault: lock"; expected actor:routine:label, actor:routine, routine:label or routine, each a name\n$/,
    ],
    [
      'twice',
      ['expect:', '  - { variant: interval, verdict: holds }', '  - { variant: interval, verdict: refinement }'],
      /^vmamirror: FILE:11:16: expect\[1\]\.variant: a second expectation for interval \(the first is expect\[0\]\); expected one per design\n$/,
    ],
    ['empty expect', ['expect: []'], /^vmamirror: FILE:9:9: expect: found an empty list; expected at least 1 item\n$/],
    ['driver and drivers', ['driver: ./a.ts', 'drivers: [./b.ts]'], /^vmamirror: FILE:10:1: drivers: found both "driver" and "drivers"; expected one of them\n$/],
    ['a driver, in-process', ['driver: ./a.ts'], /^vmamirror: FILE names driver or era modules \(\.\/a\.ts\), which only the vmamirror command loads \(for check, replay and mutate\)\n$/],
    ['one driver side by side', ['expect:', '  - { driver: [./a.ts], verdict: holds }'], /^vmamirror: FILE:10:15: expect\[0\]\.driver: /],
    ['five drivers side by side', ['expect:', '  - { driver: [./a.ts, ./b.ts, ./c.ts, ./d.ts, ./e.ts], verdict: holds }'], /^vmamirror: FILE:10:15: expect\[0\]\.driver: /],
    [
      'an era, in-process',
      ['expect:', '  - { variant: interval, era: ./old.ts, verdict: holds }'],
      /^vmamirror: FILE names driver or era modules \(\.\/old\.ts\), which only the vmamirror command loads/,
    ],
  ];
  for (const [name, lines, message] of cases) {
    it(name, () => {
      const r = check(name, lines);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(message);
      expect(r.out).toBe('');
    });
  }
});

describe('the drivers a file names, loaded before the command (src/cli/scenario-files.ts, with a stand-in loader)', () => {
  /** The corrected design under another name, as if loaded from `path`. */
  const stand = (path: string): MirrorVariant => ({ ...interval, name: `drv-${path.replace(/\W+/g, '-').slice(-12)}` });
  const file = (name: string, lines: string[]) => {
    const f = join(dir, name);
    writeFileSync(f, [...BASE, ...lines].join('\n'));
    return f;
  };

  it('loads each module once, resolved against the file, and adds its design to the scenario', async () => {
    const f = file('drivers.yaml', ['driver: ./a.ts', 'expect:', '  - { driver: ./a.ts, verdict: holds }', '  - { driver: sub/../b.ts, verdict: refinement, pattern: [intro:mirror_fault:lock] }']);
    const loads: string[] = [];
    clearScenarioFiles();
    await preloadScenarioFiles(
      [f, 'exit'],
      async (p) => {
        loads.push(p);
        return stand(p);
      },
      [],
    );
    expect(loads).toEqual([join(dir, 'a.ts'), join(dir, 'b.ts')]);
    const { spec, expectations } = scenarioFile(f);
    expect(spec.variants).toEqual([stand(loads[0]).name, stand(loads[1]).name]);
    expect(expectations.map((e) => [e.variant, e.verdict, e.pattern?.map((p) => [p.actor, p.routine, p.label])])).toEqual([
      [stand(loads[0]).name, 'holds', undefined],
      [stand(loads[1]).name, 'refinement', [['intro', 'mirror_fault', 'lock']]],
    ]);
  });

  it('a module that does not load is reported at the key naming it; --driver beside such a file is refused', async () => {
    const f = file('broken.yaml', ['expect:', '  - { driver: ./gone.ts, verdict: holds }']);
    clearScenarioFiles();
    const refuse = async (p: string): Promise<MirrorVariant> => {
      throw new DriverError(`--driver ${p}: no such file`);
    };
    await expect(preloadScenarioFiles([f], refuse, [])).rejects.toThrow(new RegExp(`^${f}:10:15: expect\\[0\\]\\.driver: ${join(dir, 'gone.ts')}: no such file$`));
    await expect(preloadScenarioFiles([f], async (p) => stand(p), ['x.ts'])).rejects.toThrow(/broken\.yaml names its own driver \(\.\/gone\.ts\); --driver would replace them: give one or the other$/);
  });
});
