/**
 * might_sleep (src/kernel/might-sleep.ts): a sleeping primitive called while holding a spinlock
 * or inside a non-blockable invalidation is a kernel BUG on every run, whether or not it had to
 * wait; the fixed drivers hold.
 */
import { describe, expect, it } from 'vitest';
import { checkOne } from '../../src/check/run.js';
import { scenarioByName } from '../../src/scenario/catalogue.js';
import type { ScenarioSpec } from '../../src/scenario/spec.js';
import { nonblockMutex, spinThenFault } from './sleepers.js';

/** The OOM reaper reaps the source alone: no other actor, so no lock is ever contended. */
const reapAlone: ScenarioSpec = { name: 'oom-reap-alone', description: 'the OOM reaper reaps the source', pages: 1, actors: [{ name: 'reaper', ops: [{ op: 'oom-reap', mm: 'source' }] }] };

describe('might_sleep', () => {
  it('reports mutex_lock in a non-blockable invalidation, uncontended', () => {
    const r = checkOne(reapAlone, nonblockMutex(false));
    expect(r.violation?.property).toBe('kernel-bug');
    expect(r.violation?.message).toBe(
      'sleeping function called from invalid context: mutex_lock(mirror.update) at test_invalidate_mutex_lock:lock, in a non-blockable mmu notifier invalidation (mmu_notifier_range_blockable() is false)',
    );
  });

  it('holds on the callback that trylocks when it may not sleep', () => {
    expect(checkOne(reapAlone, nonblockMutex(true)).verdict).toBe('holds');
  });

  it('reports a sleeping lock taken under a spinlock, on the first fault', () => {
    const r = checkOne(scenarioByName('munmap')!, spinThenFault(false));
    expect(r.violation?.property).toBe('kernel-bug');
    expect(r.violation?.message).toMatch(
      /^sleeping function called from invalid context: mutex_lock\(mirror\.update\) at mirror_fault:lock, in atomic context: holding spinlock test_devlock\[0\]\.lock$/,
    );
  });

  it('holds once the spinlock is dropped before the fault path', () => {
    for (const s of ['munmap', 'exit']) expect(checkOne(scenarioByName(s)!, spinThenFault(true)).verdict, s).toBe('holds');
  });
});
