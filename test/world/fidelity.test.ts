/**
 * The fidelity standard, checked: every step of the modelled kernel and KVM names the kernel code
 * it models as `path/file.c:function`. (This file imports only src/kernel and src/kvm, so the
 * routine registry holds only their routines; vitest isolates test files.)
 */
import { describe, expect, it } from 'vitest';
import { routines } from '../../src/world/routine.js';
import '../../src/kernel/ops/access.js';
import '../../src/kernel/ops/exit.js';
import '../../src/kernel/ops/fault.js';
import '../../src/kernel/ops/fork.js';
import '../../src/kernel/ops/gup.js';
import '../../src/kernel/ops/insert.js';
import '../../src/kernel/ops/madvise.js';
import '../../src/kernel/ops/migrate.js';
import '../../src/kernel/ops/mprotect.js';
import '../../src/kernel/ops/munmap.js';
import '../../src/kernel/ops/oom.js';
import '../../src/kernel/ops/reclaim.js';
import '../../src/kernel/ops/zap.js';
import '../../src/kernel/hmm/hmm.js';
import '../../src/kernel/hmm/hmm-v53.js';
import '../../src/kvm/fault.js';
import '../../src/kvm/guest.js';
import '../../src/kvm/notifier.js';

const KERNEL_CODE = /^(mm|kernel|arch|virt|include|lib)\/[\w/.-]+\.[ch]:\w/;
/** Steps that model hardware, not kernel code: the CPU's and the guest's own loads and stores. */
const HARDWARE = new Set(['cpu_access:access', 'guest_access:access']);

describe('every modelled kernel step names its kernel source', () => {
  it('as path/file.c:function', () => {
    const kernelRoutines = routines.filter((r) => !r.name.startsWith('test_'));
    expect(kernelRoutines.length).toBeGreaterThan(40);
    const missing: string[] = [];
    for (const r of kernelRoutines) {
      r.labels.forEach((label, i) => {
        const where = `${r.name}:${label}`;
        if (!HARDWARE.has(where) && !KERNEL_CODE.test(r.steps[i].at)) missing.push(`${where} -> "${r.steps[i].at}"`);
      });
    }
    expect(missing).toEqual([]);
  });

  it('uses the kernel C name for every routine (snake_case, unique)', () => {
    const names = routines.map((r) => r.name);
    expect(new Set(names).size).toBe(names.length);
    for (const n of names) expect(n).toMatch(/^[a-z_][a-z0-9_]*$/);
  });
});
