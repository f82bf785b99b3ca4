/**
 * Ctrl-C and SIGTERM on the real process: an exhaustive run, the catalogue and a simulation stop
 * within a second of the signal, print what they covered (naming `interrupted`) and exit 3; a
 * second signal ends the process at once.
 */
import { describe, expect, it } from 'vitest';
import { tidy, vmamirrorUntil } from '../helpers/cli.js';

/** CPU time the command has used when the signal comes: long enough for it to be searching (startup is a few hundred ms), well before any of these ends. */
const AFTER_MS = 1500;
const LATENCY_MS = 1000;

describe('a signal stops the run with what it covered', () => {
  const runs: [string, string[], NodeJS.Signals, RegExp][] = [
    ['an exhaustive run, SIGINT', ['check', 'introspect-nested', '--variant', 'interval'], 'SIGINT', /^introspect-nested\/interval: incomplete \(interrupted\) — \d+ states/m],
    ['an exhaustive run, SIGTERM', ['check', 'introspect-nested', '--variant', 'interval'], 'SIGTERM', /^introspect-nested\/interval: incomplete \(interrupted\)/m],
    ['the catalogue, SIGINT', ['check'], 'SIGINT', /incomplete \(interrupted\)[\s\S]*\nincomplete: \d+ of 54 checks did not finish \(\d+ interrupted\)/],
    [
      'a simulation, SIGINT',
      ['check', 'introspect-nested', '--variant', 'interval', '--simulate', '--runs', '100000000'],
      'SIGINT',
      /^introspect-nested\/interval: incomplete \(interrupted\) — \d+ of 100000000 random runs/m,
    ],
    [
      'a simulation, SIGTERM',
      ['check', 'introspect-nested', '--variant', 'interval', '--simulate', 'pct', '--runs', '100000000'],
      'SIGTERM',
      /: incomplete \(interrupted\) — \d+ of 100000000 pct runs/,
    ],
  ];
  for (const [what, args, signal, printed] of runs) {
    it(`${what}: exit 3 within a second`, async () => {
      const r = await vmamirrorUntil(args, signal, AFTER_MS);
      expect(r.code, r.stderr).toBe(3);
      expect(r.stdout).toMatch(printed);
      expect(r.stdout).toMatch(/interrupted/);
      expect(tidy(r)).toBe(true);
      expect(r.latencyMs).toBeLessThan(LATENCY_MS);
    });
  }

  it('--json: the partial results stay one JSON document, the sentence goes to stderr', async () => {
    const r = await vmamirrorUntil(['check', 'introspect-nested', '--json'], 'SIGINT', AFTER_MS);
    expect(r.code).toBe(3);
    const results = JSON.parse(r.stdout) as { verdict: string; stopReason?: string; states: number }[];
    expect(results).toHaveLength(6);
    expect(results.every((x) => x.verdict === 'incomplete' && x.stopReason === 'interrupted')).toBe(true);
    expect(results[0].states).toBeGreaterThan(1);
    expect(r.stderr).toMatch(/^vmamirror: incomplete: 6 of 6 checks did not finish \(6 interrupted\)/);
  });

  it('a second signal ends the process at once by that signal, without results (the shell sees 130)', async () => {
    // The catalogue takes a hundred milliseconds or more to stop (it names every cell): the second signal comes first.
    const r = await vmamirrorUntil(['check'], 'SIGINT', AFTER_MS, 20);
    expect(r.signal).toBe('SIGINT');
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('vmamirror: SIGINT again: stopped without results\n');
  });
});
