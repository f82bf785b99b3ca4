/**
 * The real races shipped as examples (examples/races/<ID>-<name>/), through the real binary: every
 * scenario file there is checked as a user would (`vmamirror check FILE`), and what its `expect`
 * section states is asserted here again from the file itself — each buggy driver gives the stated
 * violation with its trace following the pattern (matched here independently of the checker's
 * matcher), each fixed driver holds. Then the mechanism must be able to fail: a wrong expectation
 * is UNEXPECTED with exit 1, an unfinished one undecided with exit 3; and the new keys are
 * validated hostilely (exit 2, one line a problem naming file, line and key path).
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { parse } from 'yaml';
import { ROOT, tidy, vmamirror } from '../helpers/cli.js';

const RACES = join(ROOT, 'examples/races');
const FILES = readdirSync(RACES, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .flatMap((d) =>
    readdirSync(join(RACES, d.name))
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => relative(ROOT, join(RACES, d.name, f))),
  );

interface Entry {
  driver?: string | string[];
  variant?: string;
  era?: string;
  verdict: string;
  message?: string;
  pattern?: string[];
}

interface Step {
  actor: string;
  where: string;
  outcome: string;
}

interface Cell {
  variant: string;
  verdict: string;
  violation?: { property: string; message: string };
  trace?: { steps: Step[] };
  expected?: { status: string; source: string; note: string };
}

function check(args: string[]): { code: number | null; cells: Cell[]; stderr: string } {
  const r = vmamirror(['check', ...args, '--json'], { timeoutMs: 120_000 });
  expect(tidy(r), r.stderr).toBe(true);
  return { code: r.code, cells: r.code === 2 ? [] : (JSON.parse(r.stdout) as Cell[]), stderr: r.stderr };
}

/** Whether the steps that ran contain the pattern in order (`actor:routine:label`, `actor:routine`, `routine:label`, `routine`). */
function follows(steps: readonly Step[], pattern: readonly string[], actors: ReadonlySet<string>): boolean {
  let at = 0;
  for (const p of pattern) {
    const parts = p.split(':');
    const actor = parts.length === 3 || (parts.length === 2 && actors.has(parts[0])) ? parts[0] : undefined;
    const rest = actor === undefined ? parts : parts.slice(1);
    const hit = (s: Step) =>
      s.outcome !== 'sleep' && s.outcome !== 'spin' && (actor === undefined || s.actor === actor) && (rest.length === 2 ? s.where === rest.join(':') : s.where.startsWith(`${rest[0]}:`));
    const k = steps.findIndex((s, i) => i >= at && hit(s));
    if (k < 0) return false;
    at = k + 1;
  }
  return true;
}

describe('examples/races: every scenario gives what it expects', () => {
  it('ships the races the driver API, kernel eras and designs side by side can express', () => {
    expect(FILES.map((f) => f.split('/')[2]).sort()).toEqual(
      expect.arrayContaining([
        'B-03-nonblock-start-unpaired',
        'B-06-hmm-range-valid-aba',
        'B-07-hmm-start-error-flows',
        'B-12-amdgpu-userptr-no-notifier',
        'B-13-amdgpu-userptr-retry',
        'B-25-gntdev-waits-for-refs',
      ]),
    );
  });

  for (const file of FILES) {
    it(file, () => {
      const doc = parse(readFileSync(join(ROOT, file), 'utf8')) as { expect: Entry[]; actors: { name: string }[] };
      const actors = new Set(doc.actors.map((a) => a.name));
      const { code, cells } = check([file]);
      expect(code).toBe(0);
      expect(cells.map((c) => c.expected?.status)).toEqual(doc.expect.map(() => 'as expected'));
      for (const c of cells) {
        const entry = doc.expect[Number(/expect\[(\d+)\]$/.exec(c.expected!.source)![1])];
        if (entry.verdict === 'holds') expect(c.verdict, c.variant).toBe('holds');
        else {
          expect(c.violation?.property, c.variant).toBe(entry.verdict);
          if (entry.message) expect(c.violation!.message).toContain(entry.message);
          if (entry.pattern) expect(follows(c.trace!.steps, entry.pattern, actors), `${c.variant} follows ${entry.pattern.join(' → ')}`).toBe(true);
        }
      }
      // Every buggy driver shipped is caught, and something holds beside it.
      expect(cells.some((c) => c.verdict === 'holds')).toBe(true);
    });
  }
});

// ---------------------------------------------------------------------------------------------
// The mechanism can fail

const B13 = join(ROOT, 'examples/races/B-13-amdgpu-userptr-retry');
const dir = mkdtempSync(join(tmpdir(), 'vmamirror-races-'));

/** B-13's scenario with edits, saved outside the repository with its driver paths made absolute. */
function b13(name: string, edits: [string | RegExp, string][]): string {
  let text = readFileSync(join(B13, 'scenario.yaml'), 'utf8').replaceAll('driver: ./', `driver: ${B13}/`);
  for (const [a, b] of edits) {
    expect(typeof a === 'string' ? text.includes(a) : a.test(text), `${name}: the scenario still has ${a}`).toBe(true);
    text = text.replace(a, b);
  }
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
}

describe('a wrong expectation is reported, and fails the run', () => {
  it('a buggy driver expected to hold is UNEXPECTED, exit 1 (and the others still as expected)', () => {
    const f = b13('holds.yaml', [[/ {4}verdict: refinement\n {4}message: maps nothing\n {4}pattern:\n( {6}- .*\n)+/, '    verdict: holds\n']]);
    const junit = join(dirname(f), 'holds.xml');
    const r = vmamirror(['check', f, '--junit', junit]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^UNEXPECTED: b13-userptr-vs-munmap\/b13-retry-outside-lock \(.*holds\.yaml:\d+: expect\[0\]\): expected holds, found refinement: mirror pte/m);
    expect(r.stdout.match(/^as expected: /gm)).toHaveLength(2);
    // JUnit agrees with the judgement, not the bare verdicts: the other buggy driver, caught as its
    // expectation says, passes; the one expected to hold fails as unexpected.
    const xml = readFileSync(junit, 'utf8');
    expect(xml).toMatch(/tests="3" failures="1" skipped="0"/);
    expect(xml).toMatch(/name="b13-retry-outside-lock"[^>]*>\n {4}<failure type="unexpected" message="[^"]*holds\.yaml:\d+: expect\[0\]: expected holds, found refinement/);
    expect(xml.match(/<system-out>as expected: /g)).toHaveLength(2);
  });

  it('a fixed driver expected to fail is UNEXPECTED, exit 1', () => {
    const f = b13('fixed-fails.yaml', [[`  - driver: ${B13}/fixed.ts\n    verdict: holds`, `  - driver: ${B13}/fixed.ts\n    verdict: no-dangling-pfn`]]);
    const { code, cells } = check([f]);
    expect(code).toBe(1);
    expect(cells.find((c) => c.variant === 'b13-fixed')!.expected).toEqual({ status: 'UNEXPECTED', source: expect.stringMatching(/expect\[2\]$/), note: 'expected no-dangling-pfn, found holds' });
  });

  it('the right violation with another message is UNEXPECTED', () => {
    const f = b13('message.yaml', [['message: maps nothing', 'message: is read-only']]);
    const r = vmamirror(['check', f]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/UNEXPECTED: .*b13-retry-outside-lock .*: refinement as expected, but its message does not contain "is read-only"/);
  });

  it('a pattern out of order names the first element not found after the previous one', () => {
    // The invalidation's unlock before its set_seq: after the unlock, no evict follows.
    const f = b13('order.yaml', [['      - cpu:userptr_invalidate:evict\n      - cpu:userptr_invalidate:unlock\n', '      - cpu:userptr_invalidate:unlock\n      - cpu:userptr_invalidate:evict\n']]);
    const r = vmamirror(['check', f]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      /UNEXPECTED: .*b13-retry-outside-lock .*: refinement as expected, but the trace \(b13-userptr-vs-munmap\/b13-retry-outside-lock:[0-9*.]+\) does not follow the pattern: pattern\[5\] "cpu:userptr_invalidate:evict" is not in the trace after step \d+ \(cpu userptr_invalidate:unlock\)/,
    );
  });

  it('a check that does not finish leaves its expectation undecided: exit 3', () => {
    const r = vmamirror(['check', join(B13, 'scenario.yaml'), '--max-states', '20']);
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/^undecided: b13-userptr-vs-munmap\/b13-fixed \(.*expect\[2\]\): expected holds; the check did not finish \(max-states\)$/m);
  });

  it('--variant picks among the designs the file names, with their expectations', () => {
    const r = vmamirror(['check', join(B13, 'scenario.yaml'), '--variant', 'b13-fixed']);
    expect(r.code).toBe(0);
    expect(r.stdout.match(/^as expected: /gm)).toHaveLength(1);
  });

  it('replay --file loads the drivers the file names', () => {
    const { cells } = check([join(B13, 'scenario.yaml'), '--variant', 'b13-ignores-retry']);
    const schedule = (cells[0] as Cell & { schedule: string }).schedule;
    const r = vmamirror(['replay', schedule, '--file', join(B13, 'scenario.yaml')]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/userptr_install:insert[\s\S]*VIOLATED refinement/);
  });
});

// ---------------------------------------------------------------------------------------------
// Hostile scenario files: the new keys

const BASE = [
  'name: hostile',
  'description: d',
  'pages: 1',
  'actors:',
  '  - name: gpu',
  '    ops: [{ op: access, mm: introspector, page: 0 }]',
  '  - name: cpu',
  '    ops: [{ op: munmap, mm: source, page: 0 }]',
];

/** The scenario BASE plus `lines`, checked with `args`; its file name reads FILE in stderr, the test folder DIR. */
function hostile(name: string, lines: string[], args: string[] = []): { code: number | null; stderr: string } {
  const f = join(dir, `${name.replace(/\W+/g, '-')}.yaml`);
  writeFileSync(f, [...BASE, ...lines].join('\n'));
  const r = vmamirror(['check', f, ...args]);
  expect(tidy(r), r.stderr).toBe(true);
  expect(r.stdout).toBe('');
  return { code: r.code, stderr: r.stderr.replaceAll(f, 'FILE').replaceAll(dir, 'DIR') };
}

// The keys' other hostile cases need no driver loaded: test/scenario/expect.test.ts, in-process.
describe('scenario files naming driver modules they cannot use: exit 2, naming the file, line and key path', () => {
  const fixed = `${B13}/fixed.ts`;
  const cases: [string, string[], string[], RegExp][] = [
    ['missing driver', ['driver: ./nosuch.ts'], [], /^vmamirror: FILE:9:9: driver: DIR\/nosuch\.ts: no such file\n$/],
    [
      'not a driver',
      ['expect:', `  - { driver: ${join(B13, 'scenario.yaml')}, verdict: holds }`],
      [],
      /^vmamirror: FILE:10:15: expect\[0\]\.driver: .*scenario\.yaml: expected a \.ts, \.mts, \.js or \.mjs module, got "\.yaml"\n$/,
    ],
    [
      '--driver too',
      [`driver: ${fixed}`],
      ['--driver', 'examples/drivers/interval.ts'],
      /^vmamirror: FILE names its own driver \(.*fixed\.ts\); --driver would replace them: give one or the other\n$/,
    ],
  ];
  for (const [name, lines, args, message] of cases) {
    it(name, () => {
      const r = hostile(name, lines, args);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
    });
  }
});

describe('a scenario file that names no design', () => {
  it('runs with --driver (it no longer pins the built-in designs)', () => {
    const f = join(dir, 'plain.yaml');
    writeFileSync(f, BASE.join('\n'));
    const r = vmamirror(['check', f, '--driver', join(dirname(B13), '../drivers/interval.ts')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^hostile\/byo-interval: holds/);
  });
});
