/**
 * The `outcome` check: a scenario's expected outcomes (src/scenario/outcome.ts) judged in every
 * state where every actor has finished — a final state that matches none of the allowed outcomes
 * is a violation like any property's, with the schedule that reaches it (a model that fails every
 * access leaves a final state the kernel's test forbids). Over a whole search that holds, two more
 * questions (`coverageGaps`): was each allowed outcome reached by some interleaving (a racing
 * case's outcomes are all possible in the kernel, so a model that never reaches one is wrong too),
 * and did the search run every label of the routines the scenario says it exercises.
 */
import type { Property } from '../engine/verdict.js';
import type { World } from '../world/world.js';
import { outcomeMismatch, outcomeNames } from '../scenario/probes.js';
import type { ScenarioSpec } from '../scenario/spec.js';
import { quiescent } from './balance.js';

export const OUTCOME = 'outcome';

/** The check for a world whose scenario states outcomes, and which of them it saw matched (not state: an observer of the search). */
export interface OutcomeCheck {
  readonly property: Property;
  /** Indices of the allowed outcomes some final state matched. */
  readonly reached: Set<number>;
}

/** A fresh `outcome` check (one per search: it records what the search reached). */
export function outcomeCheck(): OutcomeCheck {
  const reached = new Set<number>();
  return {
    reached,
    property: {
      name: OUTCOME,
      description:
        "once every actor has finished, the state is one of the outcomes the scenario allows (the kernel's test assertions: ptes, EPT and device-table entries, page contents and counts, operations' return values, driver counters)",
      check(w: World) {
        if (!quiescent(w)) return undefined;
        const r = outcomeMismatch(w);
        if ('message' in r) return r.message;
        if (r.matched >= 0) reached.add(r.matched);
        return undefined;
      },
      // A worker thread's copy learns the outcomes its states matched; the search's gathers them all.
      learned: {
        take: () => [...reached],
        absorb: (values) => {
          for (const i of values) reached.add(i);
        },
      },
    },
  };
}

/**
 * After a complete search that holds: the allowed outcomes no final state matched, and the labels
 * of the exercised routines no step ran (`unreached`: world.unreachedLabels()), as sentences.
 */
export function coverageGaps(w: World, spec: Pick<ScenarioSpec, 'exercises'>, check: OutcomeCheck | undefined, unreached: readonly string[]): string[] {
  const out: string[] = [];
  if (check) {
    const missed = outcomeNames(w.layout).filter((_, i) => !check.reached.has(i));
    if (missed.length) out.push(`${missed.join(', ')} ${missed.length === 1 ? 'is' : 'are'} reached by no interleaving`);
  }
  for (const routine of spec.exercises ?? []) {
    const labels = unreached.filter((u) => u.startsWith(`${routine}:`));
    const ran = w.reached?.[w.model.routines.findIndex((r) => r.name === routine)]?.includes(1) ?? false;
    if (!ran) out.push(`routine ${routine} never ran`);
    else if (labels.length) out.push(`routine ${routine} has labels no interleaving ran: ${labels.map((l) => l.slice(routine.length + 1)).join(', ')}`);
  }
  return out;
}
