/** The command's contract: exit codes, JSON and JUnit output, clear errors for bad input. */
import { describe, expect, it } from 'vitest';
import { captureOutput } from '../helpers/capture.js';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main, EXIT_HOLDS, EXIT_INCOMPLETE, EXIT_USAGE, EXIT_VIOLATION } from '../../src/cli/main.js';

const io = captureOutput();

const dir = mkdtempSync(join(tmpdir(), 'vmamirror-cli-'));

describe('vmamirror', () => {
  it('exits 0 when the corrected design holds', () => {
    expect(main(['check', 'munmap', '--variant', 'interval'])).toBe(EXIT_HOLDS);
    expect(io.out.join('\n')).toMatch(/^munmap\/interval: holds — \d+ states/);
  });

  it('exits 1 on a violation and prints a schedule that replays to it', () => {
    expect(main(['check', 'exit', '--variant', 'start-only'])).toBe(EXIT_VIOLATION);
    const schedule = /schedule: (\S+)/.exec(io.out.join('\n'))![1];
    io.out = [];
    expect(main(['replay', schedule])).toBe(EXIT_VIOLATION);
    expect(io.out.join('\n')).toMatch(/VIOLATED refinement: mirror pte introspector@0 maps pfn \d+ but source@0 maps nothing/);
  });

  it('exits 3 when a limit stops the run', () => {
    expect(main(['check', 'introspect', '--variant', 'interval', '--max-states', '100'])).toBe(EXIT_INCOMPLETE);
  });

  it('exits 2 with one clear line for unknown names and bad files, never a stack trace', () => {
    expect(main(['check', 'nosuch'])).toBe(EXIT_USAGE);
    expect(io.err.join('')).toMatch(/unknown scenario "nosuch"; known: introspect, /);
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'name: x\npages: [1\n');
    io.err = [];
    expect(main(['check', bad])).toBe(EXIT_USAGE);
    expect(io.err.join('')).toMatch(/^vmamirror: .*bad\.yaml:\d+:\d+: malformed YAML/);
    expect(io.err.join('')).not.toMatch(/\n\s+at /);
    io.err = [];
    expect(main(['replay', 'not a schedule'])).toBe(EXIT_USAGE);
    expect(io.err.join('')).toMatch(/expected SCENARIO\/VARIANT:CHOICES/);
    expect(main(['check', '--max-states', 'many'])).toBe(EXIT_USAGE);
  });

  it('writes JSON and JUnit', () => {
    const junit = join(dir, 'j.xml');
    expect(main(['check', 'mprotect', '--variant', 'interval', 'anon-vma', '--json', '--junit', junit])).toBe(EXIT_VIOLATION);
    const json = JSON.parse(io.out.join('\n')) as { variant: string; verdict: string }[];
    expect(json.map((r) => `${r.variant}:${r.verdict}`)).toEqual(['interval:holds', 'anon-vma:violation']);
    const xml = readFileSync(junit, 'utf8');
    expect(xml).toMatch(/<testsuite name="vmamirror" tests="2" failures="1"/);
    expect(xml).toMatch(/<failure type="frame-accounting"/);
  });

  it('check --json gives each violation the trace of its shrunk counterexample, and --html renders the same trace', () => {
    const html = join(dir, 'r.html');
    expect(main(['check', 'exit', '--variant', 'start-only', 'interval', '--json', '--html', html])).toBe(EXIT_VIOLATION);
    interface Step {
      where: string;
      snapshot?: unknown;
    }
    const results = JSON.parse(io.out.join('\n')) as {
      verdict: string;
      schedule?: string;
      shrunk?: { schedule: string; steps: number };
      violation?: { property: string; message: string };
      trace?: { schedule: string; shrunkFrom?: string; actors: string[]; steps: Step[]; violated: { property: string; message: string } | null };
    }[];
    const [holds, broken] = results; // in the variants' order
    expect(holds.verdict).toBe('holds');
    expect(holds.trace).toBeUndefined();
    const t = broken.trace!;
    expect(t.schedule).toBe(broken.shrunk!.schedule);
    expect(t.shrunkFrom).toBe(broken.schedule);
    expect(t.actors).toEqual(['source', 'intro']);
    expect(t.steps).toHaveLength(broken.shrunk!.steps);
    expect(t.steps.every((st) => st.snapshot === undefined)).toBe(true); // no snapshots in JSON
    expect(t.violated!.property).toBe(broken.violation!.property);
    const data = JSON.parse(/<script type="application\/json" id="report-data">([\s\S]*?)<\/script>/.exec(readFileSync(html, 'utf8'))![1]) as { steps: Step[] };
    expect(data.steps.map((st) => st.where)).toEqual(t.steps.map((st) => st.where));
  });

  it('replay --shrink replays the shrunk schedule and names the original', () => {
    expect(main(['replay', 'exit/start-only:0*10.1*8.0.1', '--shrink'])).toBe(EXIT_VIOLATION);
    const text = io.out.join('\n');
    expect(text).toMatch(/\nSchedule: exit\/start-only:(\S+)\n.*\n {2}shrunk from exit\/start-only:0\*10\.1\*8\.0\.1, the schedule the search found/);
    expect(text).toMatch(/\nVIOLATED refinement: /);
    io.out = [];
    expect(main(['replay', 'exit/start-only:0*3', '--shrink'])).toBe(EXIT_HOLDS); // nothing to shrink
    expect(io.out.join('\n')).toMatch(/\n {2}0 source .*\n\nNo property is violated at the end of this schedule\.$/s);
  });

  it('replay exits 2 where the schedule cannot go on, after the steps that ran', () => {
    expect(main(['replay', 'exit/start-only:1*40'])).toBe(EXIT_USAGE);
    expect(io.out.join('\n')).toMatch(/\n {2}0 intro .*\n\nReplay stopped: step \d+: actor intro has finished$/s);
    expect(io.err.join('')).toMatch(/^vmamirror: step \d+: actor intro has finished\n$/);
    io.out = [];
    io.err = [];
    expect(main(['replay', 'exit/start-only:0.7'])).toBe(EXIT_USAGE);
    expect(io.out).toEqual([]);
    expect(io.err.join('')).toBe('vmamirror: actor index 7 out of range (actors: 0=source, 1=intro)\n');
  });

  it('answers --help with exit 0', () => {
    expect(main(['check', '--help'])).toBe(EXIT_HOLDS);
  });
});
