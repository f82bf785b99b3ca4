/** Every mirroring-device design variant, by name: the corrected design first, then the broken ones. */
import type { MirrorVariant } from './device.js';
import { interval } from './interval.js';
import { seed2019Literal } from './seed-2019-literal.js';
import { seed2019Fixed } from './seed-2019-fixed.js';
import { startOnly } from './start-only.js';
import { rawClear } from './raw-clear.js';
import { anonVma } from './anon-vma.js';

export const VARIANTS: readonly MirrorVariant[] = [interval, seed2019Literal, seed2019Fixed, startOnly, rawClear, anonVma];

export function variantByName(name: string): MirrorVariant | undefined {
  return VARIANTS.find((v) => v.name === name);
}
