/**
 * The fidelity standard, checked over every routine of the product (enumerated from the libraries,
 * not a hand-kept import list): every step of the kernel and KVM cites the kernel code it models
 * (`path/file.c:function`) or the hardware (`hw: …`); every driver step cites kernel code or one of
 * its library's declared sources; every routine has a unique snake_case C name.
 */
import { describe, expect, it } from 'vitest';
import '../../src/index.js';
import { KERNEL } from '../../src/kernel/library.js';
import { KVM_LIB } from '../../src/kvm/library.js';
import { productModel } from '../../src/check/run.js';
import { Library } from '../../src/world/registry.js';
import { ModelError } from '../../src/world/errors.js';
import { parseCitation } from '../../src/world/citation.js';

const product = productModel();

describe('every modelled step cites what it models', () => {
  it('every product library declares a citation policy; the kernel and KVM cite only kernel code and hardware', () => {
    for (const lib of product.libraries) expect(lib.cites, lib.name).toBeDefined();
    expect(KERNEL.cites).toEqual({ kind: 'kernel' });
    expect(KVM_LIB.cites).toEqual({ kind: 'kernel' });
  });

  it('kernel and KVM steps are kernel code (path/file.c:function) or hardware, and there are many', () => {
    const kernelSteps = product.routines.filter((r) => r.library === KERNEL || r.library === KVM_LIB).flatMap((r) => r.citations);
    expect(kernelSteps.length).toBeGreaterThan(100);
    expect(kernelSteps.filter((c) => c.kind !== 'kernel' && c.kind !== 'hw')).toEqual([]);
    expect(kernelSteps.filter((c) => c.kind === 'hw').length).toBe(3); // the CPU's and the guest's own loads and stores (through the EPT, or the vCPU's TLB with kvm-tlb)
  });

  it('uses the kernel C name for every routine (snake_case, unique in the product)', () => {
    const names = product.routines.map((r) => r.name);
    expect(new Set(names).size).toBe(names.length);
    for (const n of names) expect(n).toMatch(/^[a-z_][a-z0-9_]*$/);
  });

  it('refuses, at definition, a step whose citation does not fit its library', () => {
    const k = new Library('fidelity-kernel', [], { kind: 'kernel' });
    const step = (at: string) => ({ name: 'f', params: [], steps: { go: { at, run: () => 0 } } });
    expect(() => k.routine(step('somewhere in mm'))).toThrow(ModelError);
    expect(() => k.routine(step('mirror: mutex_lock(update)'))).toThrow(/routine f, label go \(library fidelity-kernel\): "mirror: mutex_lock\(update\)" is not a citation/);
    const d = new Library('fidelity-driver', [], { kind: 'driver', sources: ['mirror'] });
    expect(() => d.routine({ ...step('mirror: mutex_lock(update)'), name: 'ok_driver' })).not.toThrow();
    expect(() => d.routine({ ...step('remote_mapping: put_page'), name: 'other_driver' })).toThrow(/expected .*`mirror: …`/);
    expect(parseCitation('mm/memory.c:do_wp_page wp_page_reuse', { kind: 'kernel' })).toEqual({ kind: 'kernel', file: 'mm/memory.c', fn: 'do_wp_page', detail: 'wp_page_reuse' });
  });
});
