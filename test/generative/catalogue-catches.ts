/**
 * Where the catalogue catches the broken designs and the corrected design's mutants: the bases of
 * the generated supersets that must catch them too. Computed, never written down: a catalogue
 * verdict that moves moves these with it.
 */
import { CATALOGUE } from '../../src/scenario/catalogue.js';
import { VARIANTS } from '../../src/mirror/variants.js';
import type { MirrorVariant } from '../../src/mirror/device.js';
import type { ScenarioSpec } from '../../src/scenario/spec.js';
import { checkMutant, enumerateMutants, mutantVariant, type Mutant } from '../../src/check/mutate.js';
import { cellCost } from '../../src/check/costs.js';
import { check } from './oracles.js';

/** A design (a broken one, or a mutant of the corrected one) and a catalogue scenario it is caught on. */
export interface Catch {
  readonly design: MirrorVariant;
  readonly base: ScenarioSpec;
  /** The mutant's id, for a mutant. */
  readonly mutant?: string;
}

/** The cheap catalogue cells, by measured transitions (introspect-nested/interval alone is millions). */
export function cheapCatalogue(design: MirrorVariant, maxTransitions = 100_000): ScenarioSpec[] {
  return CATALOGUE.filter((s) => cellCost(`${s.name}/${design.name}`) <= maxTransitions);
}

/** Every broken built-in design with each cheap catalogue scenario it is caught on. */
export function brokenCatches(): Catch[] {
  return VARIANTS.slice(1).flatMap((design) => cheapCatalogue(design).flatMap((base) => (check(base, design, { maxStates: undefined }).verdict === 'violation' ? [{ design, base }] : [])));
}

/**
 * The corrected design's mutants (src/check/mutate.ts), each with the cheap catalogue scenario that
 * catches it. The sites are found on the cheapest scenarios (every one is reached there); `pick`
 * chooses which mutants to judge (judging one costs a search per scenario until one catches it).
 */
export function mutantCatches(pick: (mutants: readonly Mutant[]) => readonly Mutant[] = (m) => m): Catch[] {
  const corrected = VARIANTS[0];
  const judges = cheapCatalogue(corrected);
  const { mutants } = enumerateMutants(corrected, cheapCatalogue(corrected, 10_000));
  return pick(mutants).flatMap((m) => {
    const r = checkMutant(corrected, m, judges);
    return r.outcome === 'caught' ? [{ design: mutantVariant(corrected, m), base: judges.find((s) => s.name === r.caught!.scenario)!, mutant: m.id }] : [];
  });
}

/** A catch's name for messages: `design on base` (a mutant's design is named by its mutation). */
export function catchName(c: Catch): string {
  return `${c.design.name}${c.mutant ? ` mutant ${c.mutant}` : ''} on ${c.base.name}`;
}
