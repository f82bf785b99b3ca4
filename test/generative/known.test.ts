/**
 * What the generator found (issue 11 item 5), each pinned as the smallest scenario that shows it:
 * fixed findings with the fix they prove, open ones as the generator classifies them
 * (knownFinding), so that when the model changes and one of these tests fails, its
 * classification goes too.
 */
import { describe, expect, it } from 'vitest';
import type { ScenarioSpec } from '../../src/scenario/spec.js';
import { variantByName } from '../../src/mirror/variants.js';
import type { MirrorVariant } from '../../src/mirror/device.js';
import { check, knownFinding } from './oracles.js';

const interval = variantByName('interval')!;
const spec = (pages: number, actors: ScenarioSpec['actors'], extra: Partial<ScenarioSpec> = {}): ScenarioSpec => ({ name: 'known', description: '', pages, actors, ...extra });

describe('fixed findings of the generator', () => {
  it("a migration's unmap that drops a page's last reference frees it inside its step: a verdict, not a footprint ModelError", () => {
    // Long run seed 2: the free path (free_unref_folios) of try_to_migrate's and try_to_unmap's
    // unmap was undeclared, so a design that installs a normal pte without its reference (anon-vma)
    // crashed the model's audit instead of being caught (src/kernel/footprints.ts).
    const s = spec(1, [
      {
        name: 'a0',
        ops: [
          { op: 'access', mm: 'introspector', page: 0 },
          { op: 'migrate', page: 0 },
        ],
      },
    ]);
    const anonVma = variantByName('anon-vma')!;
    expect(check(s, anonVma, { maxStates: undefined }).verdict).toBe('violation');
    expect(check(s, interval, { maxStates: undefined }).verdict).toBe('holds');
  });
  it('a split of the mirror VMA broke the corrected design with one actor: its vm_ops->may_split now refuses (-EINVAL), and a driver without one is still caught', () => {
    // The callback's zap_vma_ptes is given the device's one VMA; after mprotect of part of it the
    // upper part is another VMA, which zap_vma_ptes refuses silently, so reclaim freed a page the
    // mirror still mapped. The corrected design refuses splits (maySplit: false, VM_NO_SPLIT).
    const s = spec(2, [
      {
        name: 'a0',
        ops: [
          { op: 'mprotect-readonly', mm: 'introspector', page: 0 },
          { op: 'access', mm: 'introspector', page: 1 },
          { op: 'reclaim', page: 1 },
        ],
      },
    ]);
    expect(interval.maySplit).toBe(false);
    expect(check(s, interval, { maxStates: undefined }).verdict).toBe('holds');
    const splits: MirrorVariant = { ...interval, name: 'interval-splits', maySplit: undefined };
    expect(check(s, splits, { maxStates: undefined }).violation?.property).toBe('refinement');
  });

  it("a KVM notifier waiting to take mmu_lock for write is not starved by a vCPU's retrying fault: lock waiters are strongly fair, as x86's queued rwlock is", () => {
    // Found by the generator as a termination violation: the vCPU re-took mmu_lock for read each
    // time round its retry while the notifier waited to take it for write, and the check's weak
    // fairness let the reader win for ever. kernel/locking/qrwlock.c holds new readers back while
    // a writer waits; the check now holds a blocking acquire to strong fairness (termination.ts).
    const s = spec(
      1,
      [
        { name: 'a0', ops: [{ op: 'guest-access', vm: 'source', page: 0, write: true, value: 0x200 }] },
        {
          name: 'a1',
          ops: [
            { op: 'guest-access', vm: 'source', page: 0, write: true, value: 0x201 },
            { op: 'madvise-dontneed', mm: 'source', page: 0 },
          ],
        },
      ],
      { sourceKvm: true },
    );
    const r = check(s, interval, { maxStates: undefined });
    expect(r.verdict).toBe('holds');
  });
});

describe('known findings of the generator', () => {
  it('a reader and a writer of one mirror page can livelock under weak fairness (pfn_mkwrite zaps what the read fault installs)', () => {
    const s = spec(1, [
      { name: 'a0', ops: [{ op: 'access', mm: 'introspector', page: 0 }] },
      { name: 'a1', ops: [{ op: 'access', mm: 'introspector', page: 0, write: true, value: 0x200 }] },
    ]);
    const r = check(s, interval, { maxStates: undefined });
    expect(r.violation?.property).toBe('termination');
    expect(knownFinding(s, r)).toBe('mirror-mkwrite-livelock');
  });
});
