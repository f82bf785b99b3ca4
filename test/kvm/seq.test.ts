/**
 * kvm->mmu_invalidate_seq as an unsigned long in two words (src/kvm/seq.ts): a scenario's start
 * value splits into them, an ended invalidation carries into the high word, and a fault's
 * staleness check compares both.
 */
import { describe, expect, it } from 'vitest';
import { KVM } from '../../src/kvm/structs.js';
import { seqWords } from '../../src/kvm/seq.js';
import { interval } from '../../src/mirror/interval.js';
import { buildScenario } from '../../src/scenario/build.js';
import type { ScenarioSpec } from '../../src/scenario/spec.js';
import { spte } from '../../src/kvm/topology.js';
import { runAllToEnd, runPhases } from '../helpers/phases.js';

/** One munmap of page 1, then a guest access to page 0, on a KVM whose sequence starts at `start`. */
const spec = (start: number): ScenarioSpec => ({
  name: 'seq',
  description: 'one invalidation, then a fault',
  pages: 2,
  sourceKvm: true,
  kvm: { invalidateSeqStart: start },
  actors: [
    { name: 'unmapper', ops: [{ op: 'munmap', mm: 'source', page: 1 }] },
    { name: 'vcpu', ops: [{ op: 'guest-access', vm: 'source', page: 0 }] },
  ],
});

describe('mmu_invalidate_seq, 64 bits in two words', () => {
  it('splits a start value into its low word (as an int32) and its high word', () => {
    expect(seqWords(0x7fffffff)).toEqual({ lo: 0x7fffffff, hi: 0 });
    expect(seqWords(0x80000000)).toEqual({ lo: -0x80000000, hi: 0 });
    expect(seqWords(0x1_0000_0002)).toEqual({ lo: 2, hi: 1 });
    expect(seqWords(Number.MAX_SAFE_INTEGER)).toEqual({ lo: -1, hi: 0x1fffff });
  });

  it('an ended invalidation carries into the high word, and a fault after it installs (both words agree)', () => {
    const { world: w } = buildScenario(spec(0xffffffff), interval);
    expect([w.obj(KVM, 0).invalidateSeq, w.obj(KVM, 0).invalidateSeqHi]).toEqual([-1, 0]);
    expect(runPhases(w, [{ actor: 'unmapper', until: 'end' }]).violation).toBeUndefined();
    expect([w.obj(KVM, 0).invalidateSeq, w.obj(KVM, 0).invalidateSeqHi]).toEqual([0, 1]);
    expect(runAllToEnd(w).violation).toBeUndefined();
    expect(spte(w, 0, 0).pfn).not.toBe(0);
  });

  it('a fault whose snapshot was taken before the carry retries, then installs', () => {
    const { world: w } = buildScenario(spec(0xffffffff), interval);
    // The vCPU snapshots 0x0_ffffffff, then the invalidation ends: 0x1_00000000.
    expect(
      runPhases(w, [
        { actor: 'vcpu', until: 'kvm_tdp_page_fault:lock' },
        { actor: 'unmapper', until: 'end' },
        { actor: 'vcpu', after: 'kvm_tdp_page_fault:map' },
      ]).violation,
    ).toBeUndefined();
    expect(spte(w, 0, 0).pfn).toBe(0);
    expect(runAllToEnd(w).violation).toBeUndefined();
    expect(spte(w, 0, 0).pfn).not.toBe(0);
  });

  it('a start value a scenario written in code gets wrong is an error naming the KVM', () => {
    expect(() => buildScenario(spec(-1), interval)).toThrow(/kvm kvm-source: invalidateSeqStart -1; expected an integer 0\.\.2\^53-1/);
    expect(() => buildScenario(spec(2 ** 53), interval)).toThrow(/invalidateSeqStart 9007199254740992/);
  });
});
