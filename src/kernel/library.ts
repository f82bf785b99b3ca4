/**
 * The kernel's routine library: every core-mm, notifier and HMM routine is defined into it. KVM,
 * mirror designs and drivers define theirs into libraries of their own that use this one.
 */
import { Library } from '../world/registry.js';
import { KERNEL_FOOTPRINTS } from './footprints.js';

export const KERNEL = new Library('kernel', [], { kind: 'kernel' });
KERNEL.declare(KERNEL_FOOTPRINTS);
