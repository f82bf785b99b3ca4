/**
 * Two drivers subscribed to one process (`--variant A+B`, src/mirror/combined.ts) through the real
 * binary: B-25's gntdev + i915 userptr deadlock is caught with the buggy gntdev and holds with the
 * fixed one; the userptr driver holds on its own.
 */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { ROOT, vmamirror } from '../helpers/cli.js';

const DIR = join(ROOT, 'examples/races/B-25-gntdev-waits-for-refs');
const SCENARIO = join(DIR, 'scenario.yaml');

interface Cell {
  variant: string;
  verdict: string;
  violation?: { property: string; message: string };
  schedule?: string;
}

function check(gntdev: string): { code: number | null; cell: Cell; stderr: string } {
  const r = vmamirror(['check', SCENARIO, '--driver', join(DIR, `${gntdev}.ts`), join(DIR, 'i915-userptr.ts'), '--variant', `i915-userptr+${gntdev}`, '--json']);
  return { code: r.code, cell: (JSON.parse(r.stdout || '[{}]') as Cell[])[0], stderr: r.stderr };
}

describe('two drivers side by side', () => {
  it('B-25: gntdev waiting for its pages inside the invalidation deadlocks with the userptr revalidation; the asynchronous unmap holds', () => {
    const buggy = check('gntdev-sync-unmap');
    expect(buggy.stderr).toBe('');
    expect(buggy.cell).toMatchObject({ variant: 'i915-userptr+gntdev-sync-unmap', verdict: 'violation', violation: { property: 'deadlock' } });
    expect(buggy.code).toBe(1);
    // The cycle: gntdev's callback sleeps on the page the userptr pinned, the userptr sleeps in read_begin.
    const replay = vmamirror(['replay', buggy.cell.schedule!, '--file', SCENARIO, '--driver', join(DIR, 'gntdev-sync-unmap.ts'), join(DIR, 'i915-userptr.ts')]);
    expect(replay.stdout).toMatch(/i915_userptr_revalidate:pinOld/);
    expect(buggy.cell.violation!.message).toBe('no actor can step; 2 not done (unmap at gntdev_invalidate:wait, gpu at mmu_interval_read_begin:wait)');
    expect(replay.stdout).toMatch(/mmu_interval_read_begin/);
    const fixed = check('gntdev-async-unmap');
    expect(fixed.cell).toMatchObject({ variant: 'i915-userptr+gntdev-async-unmap', verdict: 'holds' });
    expect(fixed.code).toBe(0);
  }, 60_000);

  it('the userptr driver alone is a correct design', () => {
    const r = vmamirror(['check', 'introspect', 'munmap', 'exit', '--driver', join(DIR, 'i915-userptr.ts'), '--json']);
    expect(r.stderr).toBe('');
    expect((JSON.parse(r.stdout) as Cell[]).map((c) => c.verdict)).toEqual(['holds', 'holds', 'holds']);
    expect(r.code).toBe(0);
  }, 60_000);
});
