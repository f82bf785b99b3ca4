import type { CheckResult } from '../../src/check/run.js';

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
    ...(r.verdict === 'holds' && { assumed: r.assumed }),
  };
}
