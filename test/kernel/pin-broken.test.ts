/**
 * The pin rules proven by the broken kernels they catch: each rule of src/kernel/pin.ts switched
 * off in turn (the module mocked), the cow.c cases of fidelity/M05-* and a reclaim scenario must
 * fail their outcome — and hold with every rule on.
 */
import { describe, expect, it, vi } from 'vitest';
import { loadScenarioFile } from '../../src/scenario/load.js';
import { checkOne } from '../../src/check/run.js';
import { VARIANTS } from '../../src/mirror/variants.js';
import { checkYaml, pinScenario } from '../helpers/pin-scenario.js';

/** Which rule the mocked module breaks ('' = none). */
const broken = vi.hoisted(() => ({ rule: '' }));

vi.mock('../../src/kernel/pin.js', async (importOriginal) => {
  const pin = await importOriginal<typeof import('../../src/kernel/pin.js')>();
  return {
    ...pin,
    // GUP pins a shared read-only page without unsharing it.
    gupMustUnshare: (...a: Parameters<typeof pin.gupMustUnshare>) => broken.rule !== 'no-unshare' && pin.gupMustUnshare(...a),
    // A write fault decides reuse by the refcount alone (the pre-5.19 rule that broke pins).
    pageAnonExclusive: (...a: Parameters<typeof pin.pageAnonExclusive>) => broken.rule !== 'no-exclusive-reuse' && pin.pageAnonExclusive(...a),
    // Fork shares a pinned page COW instead of copying it.
    folioNeedsCowForDma: (...a: Parameters<typeof pin.folioNeedsCowForDma>) => broken.rule !== 'no-copy-at-fork' && pin.folioNeedsCowForDma(...a),
    // Reclaim swaps a pinned page out (no folio_maybe_dma_pinned check, try_to_unmap shares it).
    folioMaybeDmaPinned: (...a: Parameters<typeof pin.folioMaybeDmaPinned>) => broken.rule !== 'unmap-pinned' && pin.folioMaybeDmaPinned(...a),
    folioTryShareAnonRmap: (...a: Parameters<typeof pin.folioTryShareAnonRmap>) => broken.rule !== 'unmap-pinned' && pin.folioTryShareAnonRmap(...a),
  };
});

const interval = VARIANTS.find((v) => v.name === 'interval')!;
function verdict(file: string, rule: string): string {
  broken.rule = rule;
  try {
    return checkOne(loadScenarioFile(`fidelity/${file}.yaml`).spec, interval).verdict;
  } finally {
    broken.rule = '';
  }
}

const RECLAIM_PINNED = pinScenario(
  ['{ op: pin, mm: source, page: 0, write: true }', '{ op: reclaim, page: 0 }', '{ op: unpin, mm: source, page: 0 }'],
  ['{ pte: { mm: source, page: 0 }, present: true, after: { actor: parent, op: 1 } }'],
);

describe('each pin rule is caught when broken', () => {
  it.each([
    ['M05-ro-pin-shared', 'no-unshare'],
    ['M05-ro-pin-shared', 'no-exclusive-reuse'],
    ['M05-rw-pin-fork', 'no-copy-at-fork'],
  ])('%s fails its outcome without the rule (%s), holds with it', (file, rule) => {
    expect(verdict(file, '')).toBe('holds');
    expect(verdict(file, rule)).toBe('violation');
  });

  it('a reclaimed pinned page stays mapped; swapping it out is caught', () => {
    expect(checkYaml(RECLAIM_PINNED).verdict).toBe('holds');
    broken.rule = 'unmap-pinned';
    try {
      expect(checkYaml(RECLAIM_PINNED).verdict).toBe('violation');
    } finally {
      broken.rule = '';
    }
  });
});
