/**
 * Diagnostics after the first violation, through the real binary: `--all-violations` /
 * `--max-violations` keep searching and list each distinct violation (text and JSON), `--trail`
 * writes them as a file that `replay --trail` replays; a trail file is input like any other.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { vmamirror } from '../helpers/cli.js';
import { violationShape } from '../../src/engine/exhaustive.js';

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
    const first = vmamirror(['check', ...CELL, '--json']);
    const [one] = JSON.parse(first.stdout) as { schedule: string; violations?: unknown; shrunk: { schedule: string } }[];
    expect(one.violations).toBeUndefined();
    expect([trail.violations[0].schedule, trail.violations[0].shrunk]).toEqual([one.schedule, one.shrunk.schedule]);
    expect(trail.scheduleSyntax).toMatch(/actors numbered from 0/);
  });

  it('stops at --max-violations, saying there may be more; JSON lists them', () => {
    const r = vmamirror(['check', ...CELL, '--max-violations', '2', '--json']);
    expect(r.code).toBe(1);
    const [out] = JSON.parse(r.stdout) as { stopReason: string; violations: { property: string; message: string; schedule: string }[] }[];
    expect(out.stopReason).toBe('max-violations');
    expect(out.violations.map((v) => v.schedule)).toEqual(trail.violations.slice(0, 2).map((v) => v.schedule));
  });

  it('replays from the trail, each as recorded', () => {
    const r = vmamirror(['replay', '--trail', trailFile]);
    expect(r.code).toBe(1);
    expect(r.stdout.match(/^Reproduced: /gm)).toHaveLength(trail.violations.length);
    expect(r.stdout).toContain(`=== violation ${trail.violations.length} of ${trail.violations.length}: introspect/seed-2019-literal`);
    const last = trail.violations.length - 1;
    const one = vmamirror(['replay', '--trail', trailFile, '--violation', String(last), '--dump', '0']);
    expect(one.code).toBe(1);
    expect(one.stdout).toContain(trail.violations[last].message);
    expect(one.stdout).toContain('The whole state after step 0:');
  });

  it('says when a recorded violation no longer happens', () => {
    const v = trail.violations[1];
    const f = join(dir, 'other.json');
    writeFileSync(f, JSON.stringify({ ...trail, violations: [{ ...v, property: 'deadlock' }] }));
    const r = vmamirror(['replay', '--trail', f]);
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
      const r = vmamirror(['replay', ...args()]);
      expect(r.stderr).toMatch(ONE_LINE);
      expect(r.stderr).toMatch(message);
      expect([r.code, r.stdout]).toEqual([2, '']);
    });
  }

  it('refuses the options together or a trail path it cannot write', () => {
    const both = vmamirror(['check', ...CELL, '--all-violations', '--max-violations', '2']);
    expect([both.code, both.stderr]).toEqual([2, 'vmamirror: --max-violations and --all-violations exclude each other\n']);
    const nowhere = vmamirror(['check', ...CELL, '--trail', join(dir, 'no/such/t.json')]);
    expect(nowhere.code).toBe(2);
    expect(nowhere.stderr).toMatch(/^vmamirror: --trail .*: the folder .* does not exist\n$/);
  });
});
