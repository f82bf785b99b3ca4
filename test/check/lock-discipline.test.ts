/**
 * A step's size must not stand in for a lock. Two layers catch a driver that forgets one:
 *   - the runner (audit, on by default in `check`): an access to a field without the lock that
 *     protects it is a data race in the driver, a BUG at the step that makes it — whatever the
 *     scenario; and a step of more than one unprotected access is a model error (discipline.ts);
 *   - the search itself: with the install split at the C's boundary (read_retry, then the insert
 *     that takes the ptl), the race the missing lock opens is found even without the audit.
 */
import { describe, expect, it } from 'vitest';
import { CATALOGUE } from '../../src/scenario/catalogue.js';
import { checkOne } from '../../src/check/run.js';
import { KERNEL_BUG } from '../../src/engine/verdict.js';
import { forgetsUpdateLock, freshInstallWithoutLock, readVsReclaim } from '../helpers/mutants.js';
import { interval } from '../../src/mirror/interval.js';

const small = CATALOGUE.filter((s) => s.name !== 'introspect-nested');

describe('a callback that forgets the update lock', () => {
  it('is a data race the runner reports on every scenario whose invalidation reaches the callback, with a shrunk trace', { timeout: 300_000 }, () => {
    const caught: string[] = [];
    for (const spec of small) {
      const r = checkOne(spec, forgetsUpdateLock, { shrink: true });
      if (r.verdict !== 'violation') continue;
      caught.push(spec.name);
      expect(r.violation!.property).toBe(KERNEL_BUG);
      expect(r.violation!.message).toMatch(/test_mirror_invalidate_without_lock:zap writes intervalNotifier\[\w+\]\.seq \(protected by driver\) without holding driver: a data race/);
      expect(r.shrunk!.preemptions).toBeLessThanOrEqual(1);
    }
    // Every scenario but introspect-nested (left out: slow), exit's teardown included — no race needed.
    expect(caught).toEqual(['introspect', 'cow', 'munmap', 'exit', 'fork-introspector', 'swap-cycle', 'mirror-write', 'mprotect']);
  });

  it('without the audit, the search still finds the race it opens (the install is two steps, as in the C)', { timeout: 300_000 }, () => {
    const caught: string[] = [];
    for (const spec of small) {
      const r = checkOne(spec, forgetsUpdateLock, { shrink: true, audit: false });
      if (r.verdict !== 'violation') continue;
      caught.push(spec.name);
      expect(['refinement', 'no-dangling-pfn']).toContain(r.violation!.property);
      expect(r.shrunk!.preemptions).toBeLessThanOrEqual(1);
    }
    // Every scenario whose invalidation can race with a fault (exit's teardown cannot: the fault
    // holds an mm_users reference). With read_retry and the insert in one step, none did.
    expect(caught).toEqual(['introspect', 'cow', 'munmap', 'fork-introspector', 'swap-cycle', 'mirror-write', 'mprotect']);
  });
});

describe('the same mistake written freshly', () => {
  it('an install that re-checks the sequence and inserts in ONE step without the update lock is caught by the runner', () => {
    const r = checkOne(readVsReclaim, freshInstallWithoutLock, { shrink: true });
    expect(r.verdict).toBe('violation');
    expect(r.violation!.property).toBe(KERNEL_BUG);
    expect(r.violation!.message).toMatch(/test_fresh_install:lock reads intervalNotifier\[\w+\]\.seq \(protected by driver\) without holding driver: a data race/);
  });

  it('the corrected design makes no unprotected access the runner objects to, and says what its proof assumed', () => {
    const r = checkOne(readVsReclaim, interval);
    expect(r.verdict).toBe('holds');
    expect(r.assumed!.accesses.length).toBeGreaterThan(0);
    expect(r.assumed!.accesses).toContain('mmu_interval_read_begin:read: intervalNotifier.seq (lock:driver)');
    expect(r.assumed!.accesses.every((a) => /^[\w]+:\w+: /.test(a))).toBe(true);
  });
});
