/**
 * The labels a complete search never ran, per routine that ran (SPIN's "unreached in proctype"):
 * paths a scenario does not exercise, or dead code of the model.
 */
import { describe, expect, it } from 'vitest';
import { checkOne } from '../../src/check/run.js';
import { interval } from '../../src/mirror/interval.js';
import { resultLine } from '../../src/report/text.js';
import { freshInstallWithoutLock, readVsReclaim } from '../helpers/mutants.js';

describe('unreached labels (SPIN\'s "unreached in proctype")', () => {
  it('a proof lists the labels of the routines it ran that no step executed; a violation lists none', () => {
    const r = checkOne(readVsReclaim, interval);
    expect(r.verdict).toBe('holds');
    // No invalidation here is non-blockable, so the undo of succeeded starts never runs.
    expect(r.unreached).toContain('mmu_notifier_invalidate_range_start:undo');
    // Every label listed belongs to a routine that ran; none is a label the search did run.
    expect(r.unreached).not.toContain('mirror_fault:mmget');
    expect(resultLine(r)).toMatch(/\n {2}unreached: \d+ labels of the routines that ran, never executed here \(/);
    const bad = checkOne(readVsReclaim, freshInstallWithoutLock);
    expect(bad.verdict).toBe('violation');
    expect(bad.unreached).toBeUndefined();
  });
});
