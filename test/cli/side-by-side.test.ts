/**
 * Two drivers subscribed to one process (`--variant A+B`, src/mirror/combined.ts) through the real
 * binary: B-25's gntdev + i915 userptr deadlock is caught with the buggy gntdev and holds with the
 * fixed one; the userptr driver holds on its own.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
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

describe('two drivers side by side', () => {
  it('B-25: gntdev waiting for its pages inside the invalidation deadlocks with the userptr revalidation; the asynchronous unmap holds', () => {
    const r = vmamirror(['check', SCENARIO, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const [buggy, fixed] = JSON.parse(r.stdout) as Cell[];
    expect(buggy).toMatchObject({ variant: 'i915-userptr+gntdev-sync-unmap', verdict: 'violation', violation: { property: 'deadlock' } });
    expect(buggy.violation!.message).toBe('no actor can step; 2 not done (unmap at gntdev_invalidate:wait, gpu at mmu_interval_read_begin:wait)');
    expect(fixed).toMatchObject({ variant: 'i915-userptr+gntdev-async-unmap', verdict: 'holds' });
    // The same from the command line: two --driver modules side by side with --variant A+B (the file's own drivers set aside).
    const copy = join(tmpdir(), `b25-${process.pid}.yaml`);
    writeFileSync(copy, readFileSync(SCENARIO, 'utf8').replace(/\nexpect:[\s\S]*$/, '\n'));
    const cli = vmamirror(['check', copy, '--driver', join(DIR, 'gntdev-sync-unmap.ts'), join(DIR, 'i915-userptr.ts'), '--variant', 'i915-userptr+gntdev-sync-unmap', '--json']);
    expect(cli.stderr).toBe('');
    expect((JSON.parse(cli.stdout) as Cell[]).map((c) => [c.variant, c.violation?.property])).toEqual([['i915-userptr+gntdev-sync-unmap', 'deadlock']]);
    const replay = vmamirror(['replay', buggy.schedule!, '--file', SCENARIO]);
    expect(replay.stdout).toMatch(/i915_userptr_revalidate:pinOld/);
    expect(replay.stdout).toMatch(/gntdev_invalidate:find/);
  }, 60_000);

  it('the userptr driver alone is a correct design', () => {
    const r = vmamirror(['check', 'introspect', 'munmap', 'exit', '--driver', join(DIR, 'i915-userptr.ts'), '--json']);
    expect(r.stderr).toBe('');
    expect((JSON.parse(r.stdout) as Cell[]).map((c) => c.verdict)).toEqual(['holds', 'holds', 'holds']);
    expect(r.code).toBe(0);
  }, 60_000);
});
