/** KVM's routine library (the vCPU fault path, the MMU-notifier callbacks, guest accesses). */
import { Library } from '../world/registry.js';
import { KERNEL } from '../kernel/library.js';
import { KVM_FOOTPRINTS } from './footprints.js';

export const KVM_LIB = new Library('kvm', [KERNEL], { kind: 'kernel' });
KVM_LIB.declare(KVM_FOOTPRINTS);
