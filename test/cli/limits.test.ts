/**
 * Limits that hold, on the real process: --max-memory bounds the process's resident memory (read
 * from /proc while it runs), every limit is checked from the first state, and a limit of zero is
 * refused. Nothing stopped by a limit passes.
 */
import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { tidy, vmamirror, vmamirrorUntil } from '../helpers/cli.js';

const MiB = 2 ** 20;

describe('limits', () => {
  it('--max-memory bounds the process: it stops before its RSS reaches the limit (within 5 %)', { timeout: 60_000 }, async () => {
    const limit = 160 * MiB;
    const r = await vmamirrorUntil(['check', 'introspect-nested', '--variant', 'interval', '--max-memory', '160M', '--json']);
    expect(r.code, r.stderr).toBe(3);
    const [cell] = JSON.parse(r.stdout) as { verdict: string; stopReason: string; states: number; peakRss: number; rssGrowth: number; peakBytes: number }[];
    expect(cell).toMatchObject({ verdict: 'incomplete', stopReason: 'memory' });
    expect(cell.states).toBeGreaterThan(100_000);
    expect(cell.peakRss).toBeLessThan(limit * 1.05);
    if (existsSync('/proc/self/status')) {
      expect(r.peakRss).toBeGreaterThan(limit * 0.8);
      expect(r.peakRss).toBeLessThan(limit * 1.05);
    }
    expect(r.stderr).toMatch(/^vmamirror: incomplete: 1 of 1 checks did not finish \(1 stopped at --max-memory\)/);
  });

  it('a limit below what the process already holds stops at the first state', () => {
    const r = vmamirror(['check', 'exit', '--variant', 'interval', '--max-memory', '1M']);
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/^exit\/interval: incomplete \(memory\) — 1 states/m);
  });

  it('every limit is checked from the first state: --time-limit 1e-9 is incomplete, not holds', () => {
    for (const args of [
      ['--time-limit', '1e-9'],
      ['--max-states', '1'],
    ]) {
      const r = vmamirror(['check', 'exit', '--variant', 'interval', ...args]);
      expect(r.code, args.join(' ')).toBe(3);
      expect(r.stdout).toMatch(/incomplete: 1 of 1 checks did not finish/);
    }
    const sim = vmamirror(['check', 'exit', '--variant', 'interval', '--simulate', '--time-limit', '1e-9']);
    expect(sim.code).toBe(3);
    expect(sim.stdout).toMatch(/^incomplete: 1 of 1 checks did not finish \(1 out of --time-limit\): exit\/interval; nothing is proved for them \(1 of them not started\)$/m);
  });

  it('the time limit is one deadline for the whole command', () => {
    const r = vmamirror(['check', 'introspect-nested', '--time-limit', '1']);
    expect(r.code).toBe(3);
    const line = /^introspect-nested\/interval: incomplete \(time\) — \d+ states, \d+ transitions, depth \d+, ([\d.]+) s/m.exec(r.stdout);
    expect(Number(line![1])).toBeLessThan(1.5);
    expect(r.stdout).toMatch(/\(6 out of --time-limit\)/);
  });

  it('a limit of zero, or not a number, is refused with one line', () => {
    for (const args of [
      ['--max-memory', '0'],
      ['--max-states', '0'],
      ['--time-limit', '0'],
      ['--max-memory', '-1G'],
      ['--time-limit', 'NaN'],
      ['--max-states', '1e400'],
      ['--max-memory', '0.0001'],
    ]) {
      const r = vmamirror(['check', 'exit', ...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/^vmamirror: .*\n$/);
      expect(tidy(r)).toBe(true);
    }
  });

  it('reports bytes per state all-in: the visited set, all tables, the process', () => {
    const r = vmamirror(['check', 'introspect', '--variant', 'interval']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/B\/state: [\d.]+ visited set, [\d.]+ all tables, [\d.]+ process\)/);
  });

  it('a simulation whose every run was cut off is incomplete, not a pass', () => {
    const r = vmamirror(['check', 'exit', '--variant', 'interval', '--simulate', '--runs', '20', '--max-steps', '3']);
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/^exit\/interval: incomplete \(max-steps\) — 20 random runs \(20 cut off at 3 steps\)/m);
    expect(r.stdout).toMatch(/1 every run cut off at --max-steps/);
  });
});
