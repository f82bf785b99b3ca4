// The bench's parsing and formatting (bench/lib.ts): options, what the children print, the tables
// and the README section. The bench itself is not run here (it is not a timed test).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadScenarioFile } from '../../src/scenario/load.js';
import {
  markdownTable,
  parseArgs,
  parseBashCpu,
  parseCheckJson,
  parseSpinOutput,
  parseUsage,
  README_END,
  README_START,
  RUNGS,
  replaceSection,
  rowCells,
  timeRatio,
  USAGE_PROBE,
  verdictText,
} from '../../bench/lib.js';

describe('bench options', () => {
  it('defaults to every rung, SPIN on, and writes the results only then', () => {
    const o = parseArgs([]);
    expect(o.only).toEqual(RUNGS);
    expect([o.budget, o.spin, o.write, o.workers]).toEqual([120, true, true, 2]);
  });

  it('--spin-rungs: the ladder rungs SPIN runs, 2..4 by default, sorted; anything but 2..6 is refused by name', () => {
    expect(parseArgs([]).spinRungs).toEqual([2, 3, 4]);
    expect(parseArgs(['--spin-rungs', '4,2,3']).spinRungs).toEqual([2, 3, 4]);
    expect(() => parseArgs(['--spin-rungs', '1,2'])).toThrow('--spin-rungs: ladder rungs are 2..6 (actors), got "1,2"');
  });

  it('--only keeps the suite order, and a partial run writes nothing unless asked', () => {
    const o = parseArgs(['--only', 'spin,ladder', '--budget', '30']);
    expect(o.only).toEqual(['ladder', 'spin']);
    expect([o.budget, o.write]).toEqual([30, false]);
    expect(parseArgs(['--only', 'ladder', '--write']).write).toBe(true);
    expect(parseArgs(['--skip-spin']).write).toBe(false);
    expect(parseArgs(['--no-write']).write).toBe(false);
  });

  it('refuses a bad option with a message naming it', () => {
    expect(() => parseArgs(['--only', 'ladder,nope'])).toThrow('--only: unknown rung "nope"');
    expect(() => parseArgs(['--budget', '0'])).toThrow('--budget must be a positive integer, got "0"');
    expect(() => parseArgs(['--budget'])).toThrow('--budget needs a value');
    expect(() => parseArgs(['--workers', '1'])).toThrow('--workers must be at least 2');
    expect(() => parseArgs(['--frobnicate'])).toThrow('unknown option --frobnicate');
  });
});

describe('reading check --json', () => {
  const out = JSON.stringify([
    { verdict: 'holds', states: 20863, transitions: 56870, elapsedMs: 866.1, scenario: 'introspect', variant: 'interval' },
    { verdict: 'violation', states: 2374, transitions: 6334, elapsedMs: 279, scenario: 'introspect', variant: 'start-only', violation: { property: 'refinement' } },
    { verdict: 'incomplete', states: 252522, transitions: 724091, elapsedMs: 8010, scenario: 'ladder-4', variant: 'interval', stopReason: 'time', completeDepth: 57 },
  ]);

  it('keeps each cell with its verdict, counts and seconds', () => {
    const cells = parseCheckJson(out);
    expect(cells.map((c) => [c.scenario, c.variant, c.verdict, c.states, c.seconds])).toEqual([
      ['introspect', 'interval', 'holds', 20863, 0.8661],
      ['introspect', 'start-only', 'violation', 2374, 0.279],
      ['ladder-4', 'interval', 'incomplete', 252522, 8.01],
    ]);
    expect(cells.map(verdictText)).toEqual(['holds', 'violation(refinement)', 'incomplete at 252,522 states (time), every run of ≤ 57 transitions covered']);
  });

  it('says what it got when it is not an array of cells', () => {
    expect(() => parseCheckJson('vmamirror: oops')).toThrow('check --json printed no JSON: "vmamirror: oops"');
    expect(() => parseCheckJson('{}')).toThrow('no array of cells');
  });
});

describe('reading pan', () => {
  const holds = [
    'State-vector 1156 byte, depth reached 241, errors: 0',
    ' 36630972 states, stored',
    '1.3214406e+08 transitions (= stored+matched)',
    ' 2893.184\ttotal actual memory usage',
    'pan: elapsed time 227 seconds',
  ].join('\n');

  it('a complete run: states, transitions, time, vector', () => {
    expect(parseSpinOutput(holds, false, 100)).toEqual({ verdict: 'holds', states: 36630972, transitions: 132144060, seconds: 227, vector: 1156, memoryBytes: 2893.184 * 2 ** 20, detail: '' });
  });

  it("bash's time line gives the CPU time, NaN without one", () => {
    expect(parseBashCpu('pan: elapsed time 1.5 seconds\nBENCH_CPU 1.25 0.50\n')).toBe(1.75);
    expect(parseBashCpu('pan: elapsed time 1.5 seconds')).toBeNaN();
  });

  it('an assertion names the property it stands for', () => {
    const out =
      'pan:1: assertion violated ( !(pte[1].present)||((pte[0].present&&(pte[0].pfn==pte[1].pfn))&& !((pte[1].wr&& !(pte[0].wr))))) (at depth 83)\nState-vector 1156 byte, depth reached 83, errors: 1\n528465 states, stored\npan: elapsed time 14.1 seconds';
    const r = parseSpinOutput(out, false, 100);
    expect([r.verdict, r.states, r.seconds, r.detail]).toEqual(['violation(refinement)', 528465, 14.1, 'assertion at depth 83']);
  });

  it('interrupted at the budget: its summary, never a verdict', () => {
    const out =
      'Warning: Search not completed\nState-vector 1156 byte, depth reached 136, errors: 0\n   116930 states, stored\n   362613 transitions (= stored+matched)\n  138.224\ttotal actual memory usage\npan: elapsed time 4.51 seconds';
    expect(parseSpinOutput(out, true, 5)).toMatchObject({ verdict: 'incomplete', states: 116930, transitions: 362613, seconds: 4.51, memoryBytes: 138.224 * 2 ** 20 });
  });

  it('killed at the budget without a summary: the last progress line, never a verdict', () => {
    const out =
      'Depth=     200 States=    1e+06 Transitions= 3.6e+06 Memory=  300.1\tt=     8.7 R=   1e+05\nDepth=     241 States=  2.2e+07 Transitions= 7.93e+07 Memory=  2893.184\tt=      547 R=   4e+04\n';
    expect(parseSpinOutput(out, true, 600)).toMatchObject({ verdict: 'incomplete', states: 22_000_000, transitions: 79_300_000, seconds: 547, detail: 'stopped at the budget of 600 s' });
  });
});

describe('formatting', () => {
  it('a row: figures rounded, the missing ones as -', () => {
    const cells = rowCells({ name: 'ladder-2', verdict: 'holds', states: 596, transitions: 1054, seconds: 0.128, wall: 12.34, maxRssBytes: 91 * 2 ** 20, cpuSeconds: Number.NaN, detail: '' });
    expect(cells).toEqual(['ladder-2', 'holds', '596', '1,054', '0.13 s', '4,656', '12.3 s', '-', '91 MiB']);
  });

  it('a time ratio is a bound when one side stopped at the budget, and none when both did', () => {
    const holds = (seconds: number) => ({ verdict: 'holds', seconds });
    const stopped = (seconds: number) => ({ verdict: 'incomplete at 5 states (time)', seconds });
    expect(timeRatio(holds(1), holds(4))).toBe('0.25');
    expect(timeRatio(holds(1), stopped(4))).toBe('< 0.25');
    expect(timeRatio(stopped(8), holds(4))).toBe('> 2.00');
    expect(timeRatio(stopped(1), stopped(4))).toBe('- (neither finished)');
  });

  it('a Markdown table escapes |', () => {
    expect(markdownTable(['a', 'b'], [['x|y', '1']])).toBe('| a | b |\n| --- | --- |\n| x\\|y | 1 |');
  });

  it('replaces the README section between the markers, and only that', () => {
    const text = `before\n${README_START}\nold\n${README_END}\nafter\n`;
    expect(replaceSection(text, 'new table\n')).toBe(`before\n${README_START}\nnew table\n${README_END}\nafter\n`);
    expect(() => replaceSection('no markers', 'x')).toThrow('section to replace');
  });
});

describe('the usage probe', () => {
  it('writes the whole process peak RSS and CPU time at exit', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'bench-probe-')), 'usage.json');
    const r = spawnSync(process.execPath, ['--import', USAGE_PROBE, '-e', 'globalThis.x = Buffer.alloc(64 << 20, 1)'], { env: { ...process.env, BENCH_USAGE_FILE: file } });
    expect(r.status).toBe(0);
    expect(existsSync(file)).toBe(true);
    const u = parseUsage(readFileSync(file, 'utf8'));
    // The 64 MiB buffer was touched, so the peak counts it.
    expect(u.maxRssBytes).toBeGreaterThan(64 * 2 ** 20);
    expect(u.cpuSeconds).toBeGreaterThan(0);
  });
});

describe('the ladders the bench checks', () => {
  const load = (name: string) => loadScenarioFile(join(import.meta.dirname, '../../bench/scenarios', `${name}.yaml`));

  it('ladder-N: N actors on one page, each rung the previous one plus an actor, the corrected design only', () => {
    for (let n = 2; n <= 6; n++) {
      const l = load(`ladder-${n}`);
      expect([l.spec.pages, l.spec.actors.length, l.variants.map((v) => v.name)]).toEqual([1, n, ['interval']]);
      if (n > 2) expect(l.spec.actors.slice(0, n - 1)).toEqual(load(`ladder-${n - 1}`).spec.actors);
    }
  });

  it('pages-N: the same three actors over N pages', () => {
    for (let n = 1; n <= 3; n++) {
      const l = load(`pages-${n}`);
      expect([l.spec.pages, l.spec.actors.map((a) => a.name), l.variants.map((v) => v.name)]).toEqual([n, ['intro', 'kswapd', 'source'], ['interval']]);
    }
  });
});
