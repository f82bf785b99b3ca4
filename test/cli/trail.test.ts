/**
 * Diagnostics after the first violation: `--all-violations` / `--max-violations` keep searching
 * and list each distinct violation (text and JSON), `--trail` writes them as a file that
 * `replay --trail` replays; a trail file is input like any other. The real binary for the first
 * run and one refusal, the rest in-process (`main`: the same program, measured by coverage).
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { vmamirror } from '../helpers/cli.js';
import { violationShape } from '../../src/engine/exhaustive.js';
import { main } from '../../src/cli/main.js';
import { captureOutput } from '../helpers/capture.js';

const io = captureOutput();
/** `vmamirror ARGS` in-process: exit code, stdout, stderr (as the binary would give them). */
function run(args: string[]): { code: number; stdout: string; stderr: string } {
  const code = main(args, { progress: false });
  return { code, stdout: io.out.map((l) => `${l}\n`).join(''), stderr: io.err.join('') };
}

const dir = mkdtempSync(join(tmpdir(), 'vmamirror-trail-'));
const CELL = ['introspect', '--variant', 'seed-2019-literal'];
const ONE_LINE = /^vmamirror: [^\n]*\n$/;

interface Entry {
  scenario: string;
  variant: string;
  actors: string[];
  property: string;
  message: string;
  schedule: string;
  shrunk?: string;
}

const trailFile = join(dir, 'all.trail.json');
const all = vmamirror(['check', ...CELL, '--all-violations', '--trail', trailFile]);
const trail = JSON.parse(readFileSync(trailFile, 'utf8')) as { kind: string; scheduleSyntax: string; violations: Entry[] };

describe('every distinct violation', () => {
  it('is searched for past the first, listed, and written to the trail', () => {
    expect(all.code).toBe(1);
    const n = trail.violations.length;
    expect(n).toBeGreaterThan(1);
    expect(all.stdout).toContain(`distinct violations: ${n} — the search went on to its end`);
    // Distinct: no two share a check and a message up to its numbers.
    const shapes = trail.violations.map(violationShape);
    expect(new Set(shapes).size).toBe(n);
    for (const v of trail.violations) {
      expect(all.stdout).toContain(v.schedule);
      expect([v.scenario, v.variant, v.actors]).toEqual(['introspect', 'seed-2019-literal', ['vcpu', 'intro', 'kcompactd']]);
    }
    // The first is the one the search stops at without the option, shrunk as usual.
    const first = run(['check', ...CELL, '--json']);
    const [one] = JSON.parse(first.stdout) as { schedule: string; violations?: unknown; shrunk: { schedule: string } }[];
    expect(one.violations).toBeUndefined();
    expect([trail.violations[0].schedule, trail.violations[0].shrunk]).toEqual([one.schedule, one.shrunk.schedule]);
    expect(trail.scheduleSyntax).toMatch(/actors numbered from 0/);
  });

  it('stops at --max-violations, saying there may be more; JSON lists them', () => {
    const r = run(['check', ...CELL, '--max-violations', '2', '--json']);
    expect(r.code).toBe(1);
    const [out] = JSON.parse(r.stdout) as { stopReason: string; violations: { property: string; message: string; schedule: string }[] }[];
    expect(out.stopReason).toBe('max-violations');
    expect(out.violations.map((v) => v.schedule)).toEqual(trail.violations.slice(0, 2).map((v) => v.schedule));
  });

  it('replays from the trail, each as recorded', () => {
    const r = run(['replay', '--trail', trailFile]);
    expect(r.code).toBe(1);
    expect(r.stdout.match(/^Reproduced: /gm)).toHaveLength(trail.violations.length);
    expect(r.stdout).toContain(`=== violation ${trail.violations.length} of ${trail.violations.length}: introspect/seed-2019-literal`);
    const last = trail.violations.length - 1;
    io.out = [];
    const one = run(['replay', '--trail', trailFile, '--violation', String(last), '--dump', '0']);
    expect(one.code).toBe(1);
    expect(one.stdout).toContain(trail.violations[last].message);
    expect(one.stdout).toContain('The whole state after step 0:');
  });

  it('says when a recorded violation no longer happens', () => {
    const v = trail.violations[1];
    const f = join(dir, 'other.json');
    writeFileSync(f, JSON.stringify({ ...trail, violations: [{ ...v, property: 'deadlock' }] }));
    const r = run(['replay', '--trail', f]);
    expect(r.stdout).toMatch(/NOT reproduced: the trail recorded deadlock .*; this build gives kernel-bug\./);
  });
});

describe('a hostile trail file', () => {
  const save = (name: string, content: string) => {
    const f = join(dir, name);
    writeFileSync(f, content);
    return f;
  };
  const v = () => ({ ...trail.violations[0] });
  const doc = (violations: unknown) => JSON.stringify({ ...trail, violations });
  const cases: [string, () => string[], RegExp][] = [
    ['a shard result', () => ['--trail', save('kind.json', JSON.stringify({ kind: 'catalogue' }))], /kind: expected "vmamirror-trail" \(a file written by `check --trail`\), got "catalogue"/],
    ['a truncated file', () => ['--trail', save('cut.json', readFileSync(trailFile, 'utf8').slice(0, 200))], /cut\.json: not a trail file \(/],
    ['a folder', () => ['--trail', dir], /: not a regular file$/m],
    ['a missing file', () => ['--trail', join(dir, 'nope.json')], /nope\.json: no such file$/m],
    ['no violation', () => ['--trail', save('empty.json', doc([]))], /violations: is empty: the run found no violation/],
    [
      'an unknown scenario',
      () => ['--trail', save('scn.json', doc([{ ...v(), scenario: 'nosuch', schedule: 'nosuch/seed-2019-literal:1*15', shrunk: undefined }]))],
      /violations\[0\]\.scenario: unknown scenario nosuch/,
    ],
    [
      'an unknown variant',
      () => ['--trail', save('var.json', doc([{ ...v(), variant: 'nosuch', schedule: 'introspect/nosuch:1*15', shrunk: undefined }]))],
      /violations\[0\]\.variant: unknown variant nosuch/,
    ],
    [
      "a driver's design",
      () => ['--trail', save('drv.json', doc([{ ...v(), variant: 'mine', driver: '/x/my.ts', schedule: 'introspect/mine:1', shrunk: undefined }]))],
      /is a driver's design: pass --driver \/x\/my\.ts/,
    ],
    [
      'a schedule of another cell',
      () => ['--trail', save('cell.json', doc([{ ...v(), schedule: 'exit/interval:1' }]))],
      /violations\[0\]\.schedule: names exit\/interval, not the entry's introspect\/seed-2019-literal/,
    ],
    [
      'a broken schedule',
      () => ['--trail', save('syn.json', doc([{ ...v(), shrunk: 'introspect/seed-2019-literal:1*x' }]))],
      /violations\[0\]\.shrunk: schedule "introspect\/seed-2019-literal:1\*x": expected SCENARIO\/VARIANT:CHOICES/,
    ],
    ['a field of the wrong type', () => ['--trail', save('type.json', doc([{ ...v(), actors: 'vcpu' }]))], /violations\[0\]\.actors: expected the list of actor names/],
    ['a violation beyond the file', () => ['--trail', trailFile, '--violation', '99'], /--violation 99: .* holds \d+ violations, numbered 0 to \d+/],
    ['a schedule and a trail', () => ['introspect/interval:1', '--trail', trailFile], /give a schedule or --trail FILE, not both/],
  ];
  for (const [what, args, message] of cases) {
    it(`refuses ${what} with exit 2 and one line`, () => {
      const r = run(['replay', ...args()]);
      expect(r.stderr).toMatch(ONE_LINE);
      expect(r.stderr).toMatch(message);
      expect([r.code, r.stdout]).toEqual([2, '']);
    });
  }

  it('refuses the options together or a trail path it cannot write', () => {
    const both = run(['check', ...CELL, '--all-violations', '--max-violations', '2']);
    expect([both.code, both.stderr]).toEqual([2, 'vmamirror: --max-violations and --all-violations exclude each other\n']);
    io.err = [];
    const nowhere = vmamirror(['check', ...CELL, '--trail', join(dir, 'no/such/t.json')]);
    expect(nowhere.code).toBe(2);
    expect(nowhere.stderr).toMatch(/^vmamirror: --trail .*: the folder .* does not exist\n$/);
  });

  it('replays a trail of a scenario file from the file it names, or from --file, and refuses a driver without --driver', () => {
    const f = join(dir, 'file.trail.json');
    expect(run(['check', 'examples/dontneed-two-pages.yaml', '--variant', 'seed-2019-fixed', '--trail', f]).code).toBe(1);
    const entry = (JSON.parse(readFileSync(f, 'utf8')) as typeof trail).violations[0] as Entry & { scenarioFile: string };
    expect(entry.scenarioFile).toBe(join(process.cwd(), 'examples/dontneed-two-pages.yaml'));
    io.out = [];
    expect(run(['replay', '--trail', f]).stdout).toMatch(/^Reproduced: /m);
    const moved = save('moved.json', doc([{ ...entry, scenarioFile: undefined }]));
    io.out = [];
    io.err = [];
    expect(run(['replay', '--trail', moved]).stderr).toMatch(/violations\[0\]\.scenario: unknown scenario dontneed-two-pages \(for a scenario file, pass --file FILE\)/);
    io.out = [];
    io.err = [];
    expect(run(['replay', '--trail', moved, '--file', 'examples/dontneed-two-pages.yaml']).code).toBe(1);
    io.err = [];
    expect(run(['replay', '--trail', moved, '--file', 'examples/introspect.yaml']).stderr).toMatch(/scenario: is dontneed-two-pages, but --file holds introspect/);
    io.err = [];
    expect(run(['replay', '--trail', save('two.json', doc([v(), v()])), '--dump', '1']).stderr).toMatch(/--dump needs one violation: .* holds 2; pick one with --violation N/);
    io.err = [];
    expect(run(['replay', '--violation', '0', 'exit/interval:1']).stderr).toBe('vmamirror: --violation picks a violation of a --trail file\n');
    io.err = [];
    expect(run(['replay']).stderr).toBe('vmamirror: give a schedule (SCENARIO/VARIANT:CHOICES) or --trail FILE\n');
  });

  it('is written by a simulation too', () => {
    const f = join(dir, 'sim.trail.json');
    expect(run(['check', ...CELL, '--simulate', '--runs', '50', '--trail', f]).code).toBe(1);
    const sim = JSON.parse(readFileSync(f, 'utf8')) as typeof trail;
    expect(sim.violations).toHaveLength(1);
    expect(sim.violations[0].shrunk).toBeUndefined();
    io.out = [];
    expect(run(['replay', '--trail', f]).stdout).toMatch(/^Reproduced: /m);
  });
});
