/** KVM's routine library (the vCPU fault path, the MMU-notifier callbacks, guest accesses). */
import { Library } from '../world/registry.js';
import { KERNEL } from '../kernel/library.js';
import { SRCU_LIB } from '../kernel/lifetime.js';
import { KVM_FOOTPRINTS } from './footprints.js';

// SRCU_LIB: a memslot update waits for kvm->srcu's grace period (memslot.ts).
export const KVM_LIB = new Library('kvm', [KERNEL, SRCU_LIB], { kind: 'kernel' });
KVM_LIB.declare(KVM_FOOTPRINTS);
