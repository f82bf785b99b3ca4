/**
 * Several violations on worker threads (`maxViolations` > 1: --max-violations, --all-violations):
 * the threads go on after a violation and report every one; this thread takes each level's in the
 * one-thread order (parent, successor), one per shape, until there are enough. A state that
 * violates a property joins the tree but is not expanded, as one thread keeps it. The result is
 * the one-thread search's: the violations (messages, schedules), the counts when the last was
 * met, why it stopped. The workers run the compiled model (dist/).
 */
import { describe, expect, it } from 'vitest';
import { oneAndTwoThreads, parallelOutcome } from '../helpers/parallel-outcome.js';
import { vmamirror } from '../helpers/cli.js';

describe('several violations on worker threads', () => {
  for (const [scenario, variant, max] of [
    ['introspect', 'seed-2019-literal', Number.POSITIVE_INFINITY],
    ['introspect', 'seed-2019-literal', 2],
    ['introspect', 'seed-2019-fixed', Number.POSITIVE_INFINITY],
    ['swap-cycle', 'seed-2019-literal', 3],
    ['swap-cycle', 'start-only', Number.POSITIVE_INFINITY],
    ['introspect', 'raw-clear', Number.POSITIVE_INFINITY],
  ] as const) {
    it(`${scenario}/${variant}, ${max === Number.POSITIVE_INFINITY ? 'all' : `at most ${max}`}: the one-thread violations and counts`, { timeout: 120_000 }, () => {
      const { one, two } = oneAndTwoThreads(scenario, variant, { maxViolations: max, shrink: false });
      expect(parallelOutcome(two)).toEqual(parallelOutcome(one));
    });
  }

  it('states that violate a property are not expanded, and the search goes on past them: several of one property, the count the one-thread one', { timeout: 120_000 }, () => {
    const { one, two } = oneAndTwoThreads('swap-cycle', 'seed-2019-fixed', { maxViolations: Number.POSITIVE_INFINITY, shrink: false });
    expect(one.violations!.filter((v) => v.property === 'refinement').length).toBeGreaterThan(1);
    expect(parallelOutcome(two)).toEqual(parallelOutcome(one));
  });

  it('a search stopped at the bound says so, with what it found', { timeout: 120_000 }, () => {
    const { one, two } = oneAndTwoThreads('introspect', 'seed-2019-literal', { maxViolations: 2, shrink: false });
    expect(one).toMatchObject({ verdict: 'violation', stopReason: 'max-violations' });
    expect(one.violations).toHaveLength(2);
    expect(parallelOutcome(two)).toEqual(parallelOutcome(one));
  });

  it('--all-violations --workers 2 through the binary: the one-thread violations', { timeout: 120_000 }, () => {
    const args = ['check', 'swap-cycle', '--variant', 'seed-2019-literal', '--all-violations', '--no-shrink', '--json'];
    const pick = (out: string) => {
      const [r] = JSON.parse(out);
      return { verdict: r.verdict, states: r.states, transitions: r.transitions, violations: r.violations };
    };
    const one = vmamirror(args);
    const two = vmamirror([...args, '--workers', '2']);
    expect(one.code).toBe(1);
    expect(two.code).toBe(1);
    expect(pick(one.stdout).violations.length).toBeGreaterThan(1);
    expect(pick(two.stdout)).toEqual(pick(one.stdout));
  });
});
