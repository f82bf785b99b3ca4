/**
 * The zero-page rules proven by the broken kernels they catch (src/kernel/zero-page.ts mocked):
 * cow.c's "R/O longterm GUP pin" on the shared zero page (fidelity/M05-ro-pin-zero-page) fails its
 * outcome when a read fault does not map the zero page, or when the kernel does not recognise the
 * zero pfn (do_wp_page cannot copy it, GUP refuses it) — and holds with both rules on.
 */
import { describe, expect, it, vi } from 'vitest';
import { loadScenarioFile } from '../../src/scenario/load.js';
import { checkOne } from '../../src/check/run.js';
import { variantByName } from '../../src/mirror/variants.js';

const broken = vi.hoisted(() => ({ rule: '' }));

vi.mock('../../src/kernel/zero-page.js', async (importOriginal) => {
  const zero = await importOriginal<typeof import('../../src/kernel/zero-page.js')>();
  return {
    ...zero,
    useZeroPage: (...a: Parameters<typeof zero.useZeroPage>) => broken.rule !== 'no-zero-read' && zero.useZeroPage(...a),
    isZeroPfn: (...a: Parameters<typeof zero.isZeroPfn>) => broken.rule !== 'no-is-zero-pfn' && zero.isZeroPfn(...a),
  };
});

function verdict(rule: string): string {
  broken.rule = rule;
  try {
    return checkOne(loadScenarioFile('fidelity/M05-ro-pin-zero-page.yaml').spec, variantByName('interval')!).verdict;
  } finally {
    broken.rule = '';
  }
}

describe('each zero-page rule is caught when broken', () => {
  it('holds with every rule', () => {
    expect(verdict('')).toBe('holds');
  });
  it.each(['no-zero-read', 'no-is-zero-pfn'])('fails its outcome without %s', (rule) => {
    expect(verdict(rule)).toBe('violation');
  });
});
