/**
 * The fidelity standard, checked: every step of the modelled kernel and KVM names the kernel code
 * it models as `path/file.c:function`; every routine of the product (kernel, KVM, the mirror
 * designs) has a unique snake_case C name. Routines are enumerated from the libraries, not from a
 * hand-kept import list.
 */
import { describe, expect, it } from 'vitest';
import '../../src/index.js';
import { KERNEL } from '../../src/kernel/library.js';
import { KVM_LIB } from '../../src/kvm/library.js';
import { WORKLOAD_LIB } from '../../src/scenario/workload.js';
import { VARIANTS } from '../../src/mirror/variants.js';
import { Model } from '../../src/world/registry.js';

/** Every routine the product defines: the model of every library it ships (the package entry imports them all). */
const routines = new Model([KERNEL, KVM_LIB, WORKLOAD_LIB]).routines;
const driverRoutines = VARIANTS.flatMap((v) => new Model([v.library]).routines.filter((r) => r.library === v.library));

const KERNEL_CODE = /^(mm|kernel|arch|virt|include|lib)\/[\w/.-]+\.[ch]:\w/;
/** Steps that model hardware, not kernel code: the CPU's and the guest's own loads and stores. */
const HARDWARE = new Set(['cpu_access:access', 'guest_access:access']);

describe('every modelled kernel step names its kernel source', () => {
  it('as path/file.c:function', () => {
    const kernelRoutines = routines.filter((r) => r.library !== WORKLOAD_LIB);
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
    const names = [...routines, ...driverRoutines].map((r) => r.name);
    expect(new Set(names).size).toBe(names.length);
    for (const n of names) expect(n).toMatch(/^[a-z_][a-z0-9_]*$/);
  });
});
