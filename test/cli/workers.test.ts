/**
 * `check --workers N` through the real binary: the same results as one thread, and every value it
 * cannot use refused with one line naming it (exit 2, no stack trace).
 */
import { describe, expect, it } from 'vitest';
import { availableParallelism } from 'node:os';
import { tidy, vmamirror } from '../helpers/cli.js';

describe('check --workers', () => {
  it('two workers print what one thread prints (timing aside)', { timeout: 120_000 }, () => {
    const args = ['check', 'introspect', '--variant', 'interval', 'seed-2019-literal', '--no-shrink'];
    const strip = (s: string) => s.replace(/[\d.]+ s \(.*\)$/gm, '');
    const one = vmamirror(args);
    const two = vmamirror([...args, '--workers', '2']);
    expect(two.code, two.stderr).toBe(one.code);
    expect(strip(two.stdout)).toBe(strip(one.stdout));
    expect(two.stdout).toMatch(/introspect\/interval: holds — 20863 states, 56870 transitions/);
  });

  it('runs a --driver module in every worker', { timeout: 120_000 }, () => {
    const r = vmamirror(['check', 'introspect', '--driver', 'examples/drivers/forgets-update-lock.ts', '--workers', '2', '--json', '--no-shrink']);
    const one = vmamirror(['check', 'introspect', '--driver', 'examples/drivers/forgets-update-lock.ts', '--json', '--no-shrink']);
    const pick = (s: string) =>
      (JSON.parse(s) as { verdict: string; states: number; transitions: number; schedule?: string }[]).map(({ verdict, states, transitions, schedule }) => ({
        verdict,
        states,
        transitions,
        schedule,
      }));
    expect(r.code, r.stderr).toBe(one.code);
    expect(pick(r.stdout)).toEqual(pick(one.stdout));
  });

  it('its threads, started before it parsed the command line, serve every cell: four cells with a --driver give the one-thread results', { timeout: 120_000 }, () => {
    const args = ['check', 'exit', 'introspect', '--driver', 'examples/drivers/forgets-update-lock.ts', '--variant', 'interval', 'forgets-update-lock', '--json', '--no-shrink'];
    const pick = (s: string) =>
      (JSON.parse(s) as { scenario: string; variant: string; verdict: string; states: number; transitions: number }[]).map(({ scenario, variant, verdict, states, transitions }) => ({
        scenario,
        variant,
        verdict,
        states,
        transitions,
      }));
    const two = vmamirror([...args, '--workers=2']);
    const one = vmamirror(args);
    expect(two.code, two.stderr).toBe(one.code);
    expect(pick(two.stdout)).toHaveLength(4);
    expect(pick(two.stdout)).toEqual(pick(one.stdout));
  });

  const cores = availableParallelism();
  it('--workers auto: a thread per core, the one-thread result', { timeout: 60_000 }, () => {
    const args = ['check', 'introspect', '--variant', 'interval', '--json'];
    const pick = (out: string) => JSON.parse(out).map(({ verdict, states, transitions }: { verdict: string; states: number; transitions: number }) => ({ verdict, states, transitions }));
    const auto = vmamirror([...args, '--workers', 'auto']);
    const one = vmamirror(args);
    expect(auto.code, auto.stderr).toBe(0);
    expect(pick(auto.stdout)).toEqual(pick(one.stdout));
  });

  for (const [value, message] of [
    ['0', /--workers.*expected a positive integer or auto, got "0"/],
    ['-1', /--workers.*expected a positive integer or auto, got "-1"/],
    ['abc', /--workers.*expected a positive integer or auto, got "abc"/],
    ['AUTO', /--workers.*expected a positive integer or auto, got "AUTO"/],
    ['1.5', /--workers.*expected a positive integer or auto, got "1.5"/],
    [String(cores + 1), new RegExp(`--workers.*${cores + 1} workers on ${cores} cores?: use at most ${cores}`)],
  ] as const) {
    it(`refuses --workers ${value}`, () => {
      const r = vmamirror(['check', 'exit', '--variant', 'interval', '--workers', value]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(tidy(r)).toBe(true);
    });
  }

  for (const [flag, what] of [
    [['--dfs'], /strategy dfs/],
    [['--exact'], /exact state storage/],
  ] as const) {
    it(`refuses --workers 2 with ${flag[0]}, naming it`, () => {
      if (cores < 2) return;
      const r = vmamirror(['check', 'exit', '--variant', 'interval', '--workers', '2', ...flag]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(what);
      expect(r.stderr).toMatch(/runs on one thread only/);
      expect(tidy(r)).toBe(true);
    });
  }

  it('a scenario file stating outcomes, with its driver (H01): every design the one-thread verdict and counts, each outcome reached', { timeout: 120_000 }, () => {
    if (cores < 2) return;
    const lines = (out: string) => out.match(/^\S+: (holds|violation) — \d+ states, \d+ transitions, depth \d+/gm);
    const one = vmamirror(['check', 'fidelity/H01-anon-read.yaml']);
    const two = vmamirror(['check', 'fidelity/H01-anon-read.yaml', '--workers', '2']);
    expect(one.code).toBe(0);
    expect(lines(one.stdout)?.length).toBeGreaterThan(0);
    expect(two.code).toBe(0);
    expect(lines(two.stdout)).toEqual(lines(one.stdout));
  });

  it('--lock-order: the one-thread verdict, counts, schedule and cycle (a driver that allocates under its update lock)', { timeout: 120_000 }, () => {
    if (cores < 2) return;
    const args = ['check', 'introspect', 'exit', '--driver', 'examples/drivers/allocates-under-lock.ts', '--lock-order'];
    const one = vmamirror(args);
    const two = vmamirror([...args, '--workers', '2']);
    expect(one.code).toBe(1);
    expect(one.stdout).toMatch(/^introspect\/allocates-under-lock: violation — lock-order: potential deadlock \(lock order\): mirror\.update → fs_reclaim/m);
    expect(two.code).toBe(1);
    // All but the timing and memory figures.
    const stable = (out: string) => out.replace(/, [\d.]+ s \(.*\)$/gm, '');
    expect(stable(two.stdout)).toBe(stable(one.stdout));
  });

  it('a command refused after its threads were started (they start before it is parsed) still ends at once, with one line', () => {
    if (cores < 2) return;
    for (const argv of [
      ['check', 'exit', '--variant', 'interval', '--simulate', '--workers', '2'],
      ['no-such-command', '--workers', '2'],
      ['check', 'no-such-scenario', '--workers=2'],
    ]) {
      const r = vmamirror(argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(tidy(r)).toBe(true);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
  });

  it('is an exhaustive option: refused with --simulate', () => {
    const r = vmamirror(['check', 'exit', '--variant', 'interval', '--simulate', '--workers', '1']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--workers applies to exhaustive checks/);
  });
});

describe('check --iterate-preemptions', () => {
  it('after a limit, says up to which preemption bound the search is complete (text and JSON)', { timeout: 120_000 }, () => {
    const args = ['check', 'introspect', '--variant', 'interval', '--max-states', '5000', '--iterate-preemptions'];
    const text = vmamirror(args);
    expect(text.code, text.stderr).toBe(3);
    expect(text.stdout).toMatch(/^ {2}bounded: complete for every schedule with at most (\d+) preemptions? \(\d+ states, \d+ transitions\); with \d+: stopped at --max-states/m);
    const json = vmamirror([...args, '--json']);
    const [cell] = JSON.parse(json.stdout) as { verdict: string; bounded: { preemptions: number; stopReason: string } }[];
    expect(cell.verdict).toBe('incomplete');
    expect(cell.bounded.stopReason).toBe('max-states');
    expect(text.stdout).toContain(`at most ${cell.bounded.preemptions} preemption`);
  });

  it('is not asked for with --preemptions, which fixes the bound', () => {
    const r = vmamirror(['check', 'exit', '--variant', 'interval', '--iterate-preemptions', '--preemptions', '1']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--iterate-preemptions and --preemptions exclude each other/);
  });
});
