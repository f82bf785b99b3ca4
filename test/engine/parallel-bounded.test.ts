/**
 * Preemption-bounded searches on worker threads (src/engine/parallel.ts with `preemptions`): each
 * thread keys a state by (state, preemptions used, last actor) as one thread does, and asks whether
 * the actor that ran last can still step (switching away from it then costs one); the level carries
 * each state's preemptions and last actor. The result is the one-thread bounded search's: verdict,
 * states, transitions, the transitions the bound cut off, the counterexample — and so is what
 * `--iterate-preemptions` says it covered. The workers run the compiled model (dist/).
 */
import { describe, expect, it } from 'vitest';
import { oneAndTwoThreads, parallelOutcome } from '../helpers/parallel-outcome.js';
import { vmamirror } from '../helpers/cli.js';

describe('preemption-bounded searches on worker threads', () => {
  for (const [scenario, variant, k] of [
    ['introspect', 'interval', 0],
    ['introspect', 'interval', 1],
    ['introspect', 'interval', 2],
    ['swap-cycle', 'interval', 1],
    ['introspect', 'seed-2019-literal', 1],
    ['mprotect', 'start-only', 1],
  ] as const) {
    it(`${scenario}/${variant} with at most ${k} preemption${k === 1 ? '' : 's'}: the one-thread bounded result`, { timeout: 120_000 }, () => {
      const { one, two } = oneAndTwoThreads(scenario, variant, { preemptions: k, shrink: false });
      expect(one.verdict === 'violation' || one.stopReason === 'preemption-bound').toBe(true);
      expect(parallelOutcome(two)).toEqual(parallelOutcome(one));
      expect(two.beyondBound).toBe(one.beyondBound);
    });
  }

  it('a bound that cuts something off: the threads count the same transitions beyond it', { timeout: 120_000 }, () => {
    const { one, two } = oneAndTwoThreads('introspect', 'interval', { preemptions: 0, shrink: false });
    expect(one.beyondBound).toBeGreaterThan(0);
    expect(two.beyondBound).toBe(one.beyondBound);
  });

  it('--iterate-preemptions --workers 2 through the binary: the one-thread coverage line', { timeout: 120_000 }, () => {
    const args = ['check', 'introspect-nested', '--variant', 'interval', '--max-states', '20000', '--iterate-preemptions'];
    // The bounded line, without its time.
    const coverage = (out: string) =>
      out
        .split('\n')
        .filter((l) => /^ {2}bounded:/.test(l))
        .map((l) => l.replace(/ \(\d+\.\d+ s\)/, ''));
    const one = vmamirror(args);
    const two = vmamirror([...args, '--workers', '2']);
    expect(one.code).toBe(two.code);
    expect(coverage(one.stdout).length).toBeGreaterThan(0);
    expect(coverage(two.stdout)).toEqual(coverage(one.stdout));
  });
});
