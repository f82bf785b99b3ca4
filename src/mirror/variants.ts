/**
 * Every mirroring-device design variant, by name: the built-in designs — drivers made with
 * `defineDriver` like any other, the corrected design first, then the broken ones — then the
 * designs loaded for this run (`--driver`, src/driver/load.ts), which only the CLI adds.
 */
import type { MirrorVariant } from './device.js';
import { interval } from './interval.js';
import { seed2019Literal } from './seed-2019-literal.js';
import { seed2019Fixed } from './seed-2019-fixed.js';
import { startOnly } from './start-only.js';
import { rawClear } from './raw-clear.js';
import { anonVma } from './anon-vma.js';
import { combineDesigns, MAX_DEVICES } from './combined.js';
import { registerBuiltInDesigns } from '../driver/define.js';

export const VARIANTS: readonly MirrorVariant[] = [interval, seed2019Literal, seed2019Fixed, startOnly, rawClear, anonVma];
// From now on no driver may take their names or their libraries' (defineDriver checks).
registerBuiltInDesigns(VARIANTS);

/** Designs loaded from outside the package for this run (the command runs in its own worker thread). */
const loaded: MirrorVariant[] = [];

/** Adds a loaded design (its name already checked against the others by the loader). */
export function addLoadedVariant(v: MirrorVariant): void {
  loaded.push(v);
}

/** Forgets the loaded designs (each command starts without any). */
export function clearLoadedVariants(): void {
  loaded.length = 0;
}

/** The designs loaded for this run, in load order. */
export function loadedVariants(): readonly MirrorVariant[] {
  return loaded;
}

/** The built-in designs, then the loaded ones. */
export function allVariants(): readonly MirrorVariant[] {
  return loaded.length ? [...VARIANTS, ...loaded] : VARIANTS;
}

/**
 * A design by name: a built-in or loaded one, or designs side by side (`A+B`, combined.ts), made
 * and remembered for the run on first use so schedules naming it replay.
 */
export function variantByName(name: string): MirrorVariant | undefined {
  const known = VARIANTS.find((v) => v.name === name) ?? loaded.find((v) => v.name === name);
  if (known || !name.includes('+') || name.includes('@')) return known;
  const parts = name.split('+').map((n) => VARIANTS.find((v) => v.name === n) ?? loaded.find((v) => v.name === n));
  if (parts.some((p) => !p) || parts.length > MAX_DEVICES) return undefined;
  const combined = combineDesigns(parts as MirrorVariant[]);
  loaded.push(combined);
  return combined;
}
