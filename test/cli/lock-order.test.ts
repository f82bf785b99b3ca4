/**
 * `check --lock-order` on the real process: the cycle edge by edge with where each edge was first
 * seen (text), the graph's cycles in JSON with the counterexample's trace, exit 1; refused with
 * --simulate; off by default.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tidy, vmamirror } from '../helpers/cli.js';

describe('check --lock-order', () => {
  it('prints the lock-order cycle of the corrected design at exit, edge by edge, and exits 1', () => {
    const r = vmamirror(['check', 'exit', '--variant', 'interval', '--lock-order']);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toMatch(/^exit\/interval: violation — lock-order: potential deadlock \(lock order\): mirror\.update → mmu_notifier_invalidate_range_start → mirror\.update \(/);
    expect(r.stdout).toMatch(
      /\n {2}lock order: mirror\.update → mmu_notifier_invalidate_range_start → mirror\.update\n {4}mirror\.update → mmu_notifier_invalidate_range_start: actor source at mmu_notifier_invalidate_range_start:itree holding \[mirror\.update\]\n {6}first seen: exit\/interval:\S+\n {4}mmu_notifier_invalidate_range_start → mirror\.update: actor source at mirror_invalidate:lock holding \[mm\.mmap_lock, mmu_notifier_invalidate_range_start\]\n {6}first seen: exit\/interval:\S+/,
    );
    expect(tidy(r)).toBe(true);
  });

  it('gives the graph in JSON, with the trace of the step that closed the cycle', () => {
    const r = vmamirror(['check', 'exit', '--variant', 'interval', '--lock-order', '--json']);
    expect(r.code, r.stderr).toBe(1);
    const [cell] = JSON.parse(r.stdout) as {
      violation: { property: string };
      lockOrder: { classes: number; edges: number; cycles: { classes: string[]; edges: { witness: { schedule: string } }[] }[]; recursions: unknown[] };
      trace: { violated: { property: string } };
    }[];
    expect(cell.violation.property).toBe('lock-order');
    expect(cell.lockOrder.cycles.map((c) => c.classes)).toEqual([['mirror.update', 'mmu_notifier_invalidate_range_start']]);
    expect(cell.lockOrder.cycles[0].edges.every((e) => e.witness.schedule.startsWith('exit/interval:'))).toBe(true);
    expect(cell.trace.violated.property).toBe('lock-order');
  });

  it('a shard with a lock-order violation merges: its schedule replays, to the step that closed the cycle', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vmamirror-lock-order-'));
    const shard = vmamirror(['check', 'exit', 'munmap', '--variant', 'interval', '--lock-order', '--shard', '0/1', '--json']);
    expect(shard.code, shard.stderr).toBe(1);
    writeFileSync(join(dir, 's.json'), shard.stdout);
    const merged = vmamirror(['merge', join(dir, 's.json')]);
    expect(merged.code, merged.stderr).toBe(1);
    expect(merged.stdout).toMatch(/^exit +✗ lock-order\nmunmap +holds$/m);
    expect(merged.stdout).toMatch(/^ {2}exit\/interval: potential deadlock \(lock order\): mirror\.update → mmu_notifier_invalidate_range_start → mirror\.update \(/m);
  });

  it('is off by default, and refused with --simulate', () => {
    const off = vmamirror(['check', 'exit', '--variant', 'interval']);
    expect(off.code).toBe(0);
    expect(off.stdout).not.toMatch(/lock/);
    const sim = vmamirror(['check', 'exit', '--variant', 'interval', '--simulate', '--lock-order']);
    expect(sim.code).toBe(2);
    expect(sim.stderr).toMatch(/--lock-order applies to exhaustive checks, not to --simulate/);
  });
});
