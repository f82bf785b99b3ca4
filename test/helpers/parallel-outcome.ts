import { catalogueCells, checkOne, type CheckOptions, type CheckResult } from '../../src/check/run.js';
import { cellSource, parallelCell } from '../../src/cli/parallel-cell.js';
import { scenarioByName } from '../../src/scenario/catalogue.js';
import { variantByName } from '../../src/mirror/variants.js';

/** The catalogue's cell of `scenario` under design `variant`. */
export function catalogueCell(scenario: string, variant: string) {
  return catalogueCells([scenarioByName(scenario)!], [variantByName(variant)!])[0];
}

/**
 * A catalogue cell checked on one thread and on two, every level on both (`together`), however
 * small the search; `extra`: more parallel options.
 */
export function oneAndTwoThreads(scenario: string, variant: string, opts: CheckOptions = {}, extra: object = {}): { one: CheckResult; two: CheckResult } {
  const c = catalogueCell(scenario, variant);
  const one = checkOne(c.scenario, c.variant, opts);
  const two = checkOne(c.scenario, c.variant, { ...opts, parallel: { ...parallelCell(2, cellSource(c, new Map())), together: true, ...extra } });
  return { one, two };
}

/**
 * What must not depend on the number of threads a search runs on. The accesses a search assumed
 * are what its steps ran: after a violation the workers may have run steps of the level past it,
 * so they are compared on complete searches only.
 */
export function parallelOutcome(r: CheckResult) {
  return {
    verdict: r.verdict,
    states: r.states,
    transitions: r.transitions,
    depth: r.depth,
    violation: r.violation,
    schedule: r.schedule,
    stopReason: r.stopReason,
    unreached: r.unreached,
    counters: r.counters,
    symmetry: r.symmetry,
    actorSymmetry: r.actorSymmetry,
    violations: r.violations,
    beyondBound: r.beyondBound,
    ...(r.verdict === 'holds' && { assumed: r.assumed }),
    // The graph a search stopped by a limit had recorded is what each thread had run by then.
    ...(r.verdict !== 'incomplete' && { lockOrder: r.lockOrder }),
  };
}
