/**
 * The parallel search's shared fingerprint table (parallel-shared.ts): a state offered in one
 * level by several parents belongs to the smallest parent id, and every offer that takes a state
 * from a larger parent id lists its entry, so that after the level a thread reads the owner only
 * of the states listed (the others are its own) — unless the list ran out of room.
 */
import { describe, expect, it } from 'vitest';
import { controlBlock, CTL, SharedFingerprints } from '../../src/engine/parallel-shared.js';

describe('the shared fingerprint table', () => {
  it('gives a state to the smallest parent and lists each entry taken from a larger one', () => {
    const ctl = controlBlock();
    const list = new Int32Array(new SharedArrayBuffer(4 * 8));
    const table = new SharedFingerprints(SharedFingerprints.create(1024).buffer, { ctl, list });
    const a = table.offer(11, 12, 50);
    expect(a).toBeGreaterThanOrEqual(0);
    expect(Atomics.load(ctl, CTL.LOST)).toBe(0);
    expect(table.offer(11, 12, 10)).toBe(a); // taken from parent 50
    expect(table.offer(11, 12, 30)).toBe(-1); // parent 10 comes first
    expect(table.offer(11, 12, 10)).toBe(-1); // its own already
    const b = table.offer(21, 22, 20);
    expect(Atomics.load(ctl, CTL.LOST)).toBe(1);
    expect(list[0]).toBe(a);
    const lost = new Set(list.subarray(0, 1));
    expect(table.owns(a, 10, lost)).toBe(true);
    expect(table.owns(a, 50, lost)).toBe(false);
    expect(table.owns(b, 20, lost)).toBe(true);
    expect(table.added).toBe(2);
  });

  it('reads every owner when more entries were taken than the list has room for', () => {
    const ctl = controlBlock();
    const list = new Int32Array(new SharedArrayBuffer(4 * 2));
    const table = new SharedFingerprints(SharedFingerprints.create(1024).buffer, { ctl, list });
    const k = [1, 2, 3].map((x) => table.offer(x, x, 60 + x));
    for (const x of [1, 2, 3]) expect(table.offer(x, x, x)).toBe(k[x - 1]);
    expect(Atomics.load(ctl, CTL.LOST)).toBe(3);
    // The third entry did not fit: only a read of the owners tells (`owns` with no list).
    expect(list.includes(k[2])).toBe(false);
    expect(table.owns(k[2], 63, null)).toBe(false);
    expect(table.owns(k[2], 3, null)).toBe(true);
  });
});
